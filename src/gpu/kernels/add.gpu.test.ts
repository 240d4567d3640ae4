import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { add } from '../../../test/reference/linalg.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import { createAdd } from './add.ts';

/** WGSL's f32 addition is correctly rounded: one rounding, at most half an ULP. */
const RTOL = 2 ** -24;

/**
 * The same device, reporting a tiny maxComputeWorkgroupsPerDimension so that a
 * small dispatch takes the 2-D split a long prompt would need; reaching the real
 * limit of 65535 would take SwiftShader minutes.
 */

describe('add', () => {
  const D = 67;

  test('adds m rows in place, in two submits with different m, and leaves the rest alone', async () => {
    const gpu = await testGpu();
    const random = rng(21);
    const rows = 10;
    const x = randomF32(rows * D, random);
    const y = randomF32(rows * D, random);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const yb = uploadF32(gpu, 'y', y);
      const op = createAdd(gpu, { x: xb, y: yb, D });
      expect(op.label).toBe('add_f32_wg256');
      runOp(gpu, op, { m: 7 });
      // m = 1 adds row 0 a second time: the count must have been rewritten.
      runOp(gpu, op, { m: 1 });
      const expected = add(x, y);
      expected.set(x.subarray(7 * D), 7 * D);
      // Row 0 went through two additions; the first one's f32 result is known exactly.
      for (let d = 0; d < D; d++) expected[d] = Math.fround(x[d] + y[d]) + y[d];
      const r = compare(await readF32(gpu, xb), expected, 0, RTOL);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, yb].forEach((b) => b.destroy());
    });
  });

  test('a dispatch split over x and y adds every element once', async () => {
    const gpu = await testGpu();
    const random = rng(22);
    // 37 × 67 = 2479 elements = 10 workgroups of 256, dispatched as 3 × 4.
    const m = 37;
    const x = randomF32(m * D + 1, random);
    const y = randomF32(m * D + 1, random);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const yb = uploadF32(gpu, 'y', y);
      const op = createAdd(withDispatchLimit(gpu, 3), { x: xb, y: yb, D });
      runOp(gpu, op, { m });
      const expected = add(x, y);
      expected[m * D] = x[m * D];
      const r = compare(await readF32(gpu, xb), expected, 0, RTOL);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, yb].forEach((b) => b.destroy());
    });
  });
});
