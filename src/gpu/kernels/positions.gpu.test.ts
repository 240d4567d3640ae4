import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { add } from '../../../test/reference/linalg.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import { createPositionAdd } from './positions.ts';

/** WGSL's f32 addition is correctly rounded: one rounding, at most half an ULP. */
const RTOL = 2 ** -24;

describe('position add', () => {
  // 67 per row: rows straddle workgroups of 256, so a table row taken from the flat index
  // instead of pos0 + row would land on the wrong position somewhere.
  const D = 67;
  const maxPositions = 40;

  test('adds table rows pos0 .. pos0+m−1 to the first m rows, for a prompt then a decode step', async () => {
    const gpu = await testGpu();
    const random = rng(61);
    const table = randomF32(maxPositions * D, random);
    const prompt = randomF32(6 * D, random, 3);
    const step = randomF32(6 * D, random, 3);
    await withGpuErrors(gpu, async () => {
      const tb = uploadF32(gpu, 'table', table);
      const xb = uploadF32(gpu, 'x', prompt);
      const op = createPositionAdd(gpu, { x: xb, table: tb, D, maxPositions });
      expect(op.label).toBe('positions_f32_wg256');
      runOp(gpu, op, { m: 5, pos0: 0 });
      const expected = [...add(prompt.subarray(0, 5 * D), table.subarray(0, 5 * D)), ...prompt.subarray(5 * D)];
      const r = compare(await readF32(gpu, xb), expected, 0, RTOL);
      expect(r.count, r.table).toBe(0);
      // The decode step at the last position: row 0 of x takes table row 39.
      gpu.device.queue.writeBuffer(xb, 0, step.buffer, step.byteOffset, step.byteLength);
      runOp(gpu, op, { m: 1, pos0: maxPositions - 1 });
      const expectedStep = [...add(step.subarray(0, D), table.subarray((maxPositions - 1) * D)), ...step.subarray(D)];
      const s = compare(await readF32(gpu, xb), expectedStep, 0, RTOL);
      expect(s.count, s.table).toBe(0);
      expect(() => runOp(gpu, op, { m: 2, pos0: maxPositions - 1 })).toThrow(/learned positions/);
      op.destroy();
      [tb, xb].forEach((b) => b.destroy());
    });
  });

  test('a dispatch split over x and y adds every element once', async () => {
    const gpu = await testGpu();
    const random = rng(62);
    const m = 37;
    const table = randomF32(maxPositions * D, random);
    const x = randomF32(m * D, random);
    await withGpuErrors(gpu, async () => {
      const tb = uploadF32(gpu, 'table', table);
      const xb = uploadF32(gpu, 'x', x);
      // 37 × 67 = 2479 elements = 10 workgroups of 256, dispatched as 3 × 4, 2 idle.
      const op = createPositionAdd(withDispatchLimit(gpu, 3), { x: xb, table: tb, D, maxPositions });
      runOp(gpu, op, { m, pos0: 3 });
      const r = compare(await readF32(gpu, xb), add(x, table.subarray(3 * D, (3 + m) * D)), 0, RTOL);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [tb, xb].forEach((b) => b.destroy());
    });
  });
});
