import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { rmsnorm } from '../../../test/reference/linalg.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import { createRmsnorm } from './rmsnorm.ts';

const EPS32 = 2 ** -23;

/**
 * The sum of D squares carries a relative error that grows ~ √D·ε (all terms are
 * positive, so the relative error of the sum bounds that of every partial sum);
 * the inverse square root halves it and adds at most 2 ULP (WGSL's bound), and the
 * two products add one rounding each. Every output has the same relative error as
 * its row's scale, so a relative tolerance alone fits, with a factor 2 of margin.
 */
function rtol(D: number): number {
  return 2 * (Math.sqrt(D) / 2 + 4) * EPS32;
}

/**
 * The same device, reporting a tiny maxComputeWorkgroupsPerDimension so that a
 * small dispatch takes the 2-D split a long prompt would need; reaching the real
 * limit of 65535 would take SwiftShader minutes.
 */

describe('rmsnorm', () => {
  const eps = 1e-5;

  // D = 67 leaves most of the 256 invocations idle, D = 600 makes each take 2 or 3 elements.
  test.each([
    [1, 67, 0],
    [7, 67, 2],
    [5, 600, 1],
  ])('m=%i D=%i rowOffset=%i matches the float64 reference and leaves other rows alone', async (m, D, rowOffset) => {
    const gpu = await testGpu();
    const random = rng(m * D + rowOffset);
    const rows = rowOffset + m + 1;
    // Rows of very different size show that each row gets its own scale.
    const x = randomF32(rows * D, random);
    x.subarray(rowOffset * D, (rowOffset + 1) * D).forEach((v, d, row) => (row[d] = v * 1000));
    const weight = randomF32(D, random, 2);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadF32(gpu, 'weight', weight);
      const ob = uploadF32(gpu, 'out', new Float32Array(rows * D).fill(7));
      const op = createRmsnorm(gpu, { x: xb, weight: wb, out: ob, D, eps });
      expect(op.label).toBe('rmsnorm_f32_wg256');
      runOp(gpu, op, { m, rowOffset });
      const expected = new Float64Array(rows * D).fill(7);
      expected.set(rmsnorm(x.subarray(rowOffset * D, (rowOffset + m) * D), weight, m, D, eps), rowOffset * D);
      const r = compare(await readF32(gpu, ob), expected, 0, rtol(D));
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, wb, ob].forEach((b) => b.destroy());
    });
  });

  test('in place over rows of one head each, as the q/k norms run, leaving other rows alone', async () => {
    const gpu = await testGpu();
    // 3 tokens × 5 heads of headDim 40, from row 2 of a buffer of 19 rows.
    const D = 40;
    const m = 15;
    const rowOffset = 2;
    const rows = rowOffset + m + 2;
    const x = randomF32(rows * D, rng(6), 3);
    const weight = randomF32(D, rng(7), 2);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadF32(gpu, 'weight', weight);
      const op = createRmsnorm(gpu, { x: xb, weight: wb, out: xb, D, eps });
      expect(op.label).toBe('rmsnorm_f32_wg256_inplace');
      runOp(gpu, op, { m, rowOffset });
      const expected = Float64Array.from(x);
      expected.set(rmsnorm(x.subarray(rowOffset * D, (rowOffset + m) * D), weight, m, D, eps), rowOffset * D);
      const r = compare(await readF32(gpu, xb), expected, 0, rtol(D));
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, wb].forEach((b) => b.destroy());
    });
  });

  test('eps keeps an all-zero row finite', async () => {
    const gpu = await testGpu();
    const D = 67;
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', new Float32Array(D));
      const wb = uploadF32(gpu, 'weight', new Float32Array(D).fill(1));
      const ob = uploadF32(gpu, 'out', new Float32Array(D).fill(7));
      const op = createRmsnorm(gpu, { x: xb, weight: wb, out: ob, D, eps });
      runOp(gpu, op, { m: 1 });
      expect([...(await readF32(gpu, ob))]).toEqual(new Array(D).fill(0));
      op.destroy();
      [xb, wb, ob].forEach((b) => b.destroy());
    });
  });

  test('one op encoded in two submits, then split over x and y', async () => {
    const gpu = await testGpu();
    const D = 67;
    const rows = 9;
    const x = randomF32(rows * D, rng(4));
    const weight = randomF32(D, rng(5));
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadF32(gpu, 'weight', weight);
      const ob = uploadF32(gpu, 'out', new Float32Array(rows * D));
      const op = createRmsnorm(gpu, { x: xb, weight: wb, out: ob, D, eps });
      runOp(gpu, op, { m: 2 });
      runOp(gpu, op, { m: 1, rowOffset: 4 });
      // 4 rows under a limit of 3 workgroups per dimension: dispatched as 3 × 2, 2 idle.
      const split = createRmsnorm(withDispatchLimit(gpu, 3), { x: xb, weight: wb, out: ob, D, eps });
      runOp(gpu, split, { m: 4, rowOffset: 5 });
      const expected = rmsnorm(x, weight, rows, D, eps).fill(0, 2 * D, 4 * D);
      const r = compare(await readF32(gpu, ob), expected, 0, rtol(D));
      expect(r.count, r.table).toBe(0);
      op.destroy();
      split.destroy();
      [xb, wb, ob].forEach((b) => b.destroy());
    });
  });
});
