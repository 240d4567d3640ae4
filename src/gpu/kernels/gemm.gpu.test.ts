import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withGpuErrors } from '../../../test/gpu.ts';
import { matmulAbsMax, matmulNT } from '../../../test/reference/linalg.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import type { KernelOp } from '../kernel.ts';
import { createGemm } from './gemm.ts';

const EPS32 = 2 ** -23;

/**
 * Each output is an f32 sum of K products. Its rounding errors add up roughly like
 * a random walk, so the error grows ~ √K·ε·Σ|x||w|; Σ|x||w| (the largest over all
 * outputs) bounds every partial sum, and the factor 2 covers the tail of the walk.
 * For K = 260 and unit data this is ~3e-4, far below the ~0.25 a dropped or
 * misplaced product would cost.
 */
function tolerance(x: Float32Array, w: Float32Array, m: number, K: number, N: number): number {
  return 2 * Math.sqrt(K) * EPS32 * matmulAbsMax(x, w, m, K, N);
}

describe('gemm', () => {
  // Ragged sizes against the 64×64 tile and the 16-deep K step, plus one exact multiple.
  const shapes: [m: number, K: number, N: number][] = [
    [1, 67, 93],
    [7, 67, 93],
    [37, 67, 93],
    [37, 260, 173],
    [64, 32, 64],
  ];

  test.each(shapes)('m=%i K=%i N=%i matches the float64 reference', async (m, K, N) => {
    const gpu = await testGpu();
    const random = rng(1000 * m + K + N);
    const x = randomF32(m * K, random);
    const w = randomF32(N * K, random);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadF32(gpu, 'w', w);
      // Garbage in y proves the plain variant overwrites rather than adds.
      const yb = uploadF32(gpu, 'y', randomF32(m * N, random, 100));
      const op = createGemm(gpu, { x: xb, w: wb, y: yb, K, N });
      runOp(gpu, op, { m });
      const r = compare(await readF32(gpu, yb), matmulNT(x, w, m, K, N), tolerance(x, w, m, K, N));
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });

  test('accumulate adds into y at row offsets and leaves other rows alone', async () => {
    const gpu = await testGpu();
    const random = rng(7);
    const [K, N, m, xRowOffset, yRowOffset] = [67, 93, 7, 5, 3];
    const x = randomF32(40 * K, random);
    const w = randomF32(N * K, random);
    const y0 = randomF32(12 * N, random);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadF32(gpu, 'w', w);
      const yb = uploadF32(gpu, 'y', y0);
      const op = createGemm(gpu, { x: xb, w: wb, y: yb, K, N, accumulate: true });
      expect(op.label).toBe('gemm_f32_t64x64_k16_acc');
      runOp(gpu, op, { m, xRowOffset, yRowOffset });
      const xs = x.subarray(xRowOffset * K, (xRowOffset + m) * K);
      const expected = Float64Array.from(y0);
      matmulNT(xs, w, m, K, N).forEach((v, j) => (expected[yRowOffset * N + j] += v));
      // y + dot adds one rounding of a value below 1 + Σ|x||w| to the dot product's error.
      const r = compare(await readF32(gpu, yb), expected, tolerance(xs, w, m, K, N) + EPS32 * (1 + matmulAbsMax(xs, w, m, K, N)));
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });

  test('one op encoded in two submits with different m and offsets', async () => {
    const gpu = await testGpu();
    const random = rng(11);
    const [K, N] = [67, 93];
    const x = randomF32(40 * K, random);
    const w = randomF32(N * K, random);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadF32(gpu, 'w', w);
      const yb = uploadF32(gpu, 'y', new Float32Array(40 * N));
      const op = createGemm(gpu, { x: xb, w: wb, y: yb, K, N });
      runOp(gpu, op, { m: 37 });
      // Rows 3..4 of the second call overwrite rows 3..4 of the first: the params must have changed.
      runOp(gpu, op, { m: 2, xRowOffset: 38, yRowOffset: 3 });
      const all = matmulNT(x, w, 40, K, N);
      const expected = all.slice(0, 40 * N).fill(0, 37 * N);
      expected.set(all.subarray(38 * N, 40 * N), 3 * N);
      const r = compare(await readF32(gpu, yb), expected, tolerance(x, w, 40, K, N));
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });

  test('rejects rows beyond the buffers before dispatch', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', new Float32Array(2 * 8));
      const wb = uploadF32(gpu, 'w', new Float32Array(4 * 8));
      const yb = uploadF32(gpu, 'y', new Float32Array(2 * 4));
      const op = createGemm(gpu, { x: xb, w: wb, y: yb, K: 8, N: 4 });
      expect(() => runOp(gpu, op, { m: 2, yRowOffset: 1 })).toThrow(RangeError);
      expect(() => createGemm(gpu, { x: xb, w: wb, y: yb, K: 8, N: 5 })).toThrow(RangeError);
      op.destroy();
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });
});
