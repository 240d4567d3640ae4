import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { layernorm } from '../../../test/reference/linalg.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import { createLayernorm } from './layernorm.ts';

const EPS32 = 2 ** -23;
const WG = 256;

/**
 * The error budget of one row, absolute. The f32 mean carries at most ⌈D/WG⌉ + log2(WG) + 1
 * roundings of Σ|x| (the strided loop, the tree, the division), and that shift δμ of every
 * centred value reaches the output as |w|·δμ/σ; it only changes the variance to second order
 * (Σ(x − μ) = 0). The rest is relative to the output's scale A = max|w|·max|x − μ|/σ + max|b|: the
 * variance and its inverse square root ~√D/2 + 4 ULP as in rmsnorm, the products and the bias
 * add 3 more. Twice that, for margin. A row offset far from zero makes δμ the larger term.
 */
function rowAtol(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, D: number, eps: number): number {
  const row = Array.from(x);
  const mean = row.reduce((a, v) => a + v, 0) / D;
  const sigma = Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / D + eps);
  const absMean = row.reduce((a, v) => a + Math.abs(v), 0) / D;
  const maxW = Math.max(...Array.from(weight, Math.abs));
  const scaleOut = (maxW * Math.max(...row.map((v) => Math.abs(v - mean)))) / sigma + Math.max(...Array.from(bias, Math.abs));
  const dMu = (Math.ceil(D / WG) + Math.log2(WG) + 1) * EPS32 * absMean;
  return 2 * ((maxW * dMu) / sigma + (Math.sqrt(D) / 2 + 7) * EPS32 * scaleOut);
}

/** Compares row by row, each with its own budget; `expected` holds `rows` rows of D. */
function checkRows(got: Float32Array, expected: Float64Array, x: Float32Array, weight: Float32Array, bias: Float32Array, D: number, eps: number, rows: number[]): void {
  for (const i of rows) {
    const atol = rowAtol(x.subarray(i * D, (i + 1) * D), weight, bias, D, eps);
    const r = compare(got.subarray(i * D, (i + 1) * D), expected.subarray(i * D, (i + 1) * D), atol);
    expect(r.count, `row ${i}: ${r.table}`).toBe(0);
  }
}

describe('layernorm', () => {
  const eps = 1e-5;

  // D = 67 leaves most of the 256 invocations idle, D = 600 makes each take 2 or 3 elements.
  test.each([
    [3, 67, 1],
    [4, 600, 2],
  ])('m=%i D=%i rowOffset=%i matches the float64 reference, rows with large offsets included', async (m, D, rowOffset) => {
    const gpu = await testGpu();
    const random = rng(m * D + rowOffset + 77);
    const rows = rowOffset + m + 1;
    const x = randomF32(rows * D, random);
    // The first row sits on an offset of 1000 with a spread of ±1: computing the variance as
    // E[x²] − μ² would lose about 20 bits there (and may go negative), far outside the budget.
    // The second is large in both mean and spread.
    x.subarray(rowOffset * D, (rowOffset + 1) * D).forEach((v, d, row) => (row[d] = 1000 + v));
    x.subarray((rowOffset + 1) * D, (rowOffset + 2) * D).forEach((v, d, row) => (row[d] = -5 + 100 * v));
    const weight = randomF32(D, random, 2);
    const bias = randomF32(D, random);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadF32(gpu, 'weight', weight);
      const bb = uploadF32(gpu, 'bias', bias);
      const ob = uploadF32(gpu, 'out', new Float32Array(rows * D).fill(7));
      const op = createLayernorm(gpu, { x: xb, weight: wb, bias: bb, out: ob, D, eps });
      expect(op.label).toBe('layernorm_f32_wg256');
      runOp(gpu, op, { m, rowOffset });
      const got = await readF32(gpu, ob);
      const expected = new Float64Array(rows * D);
      expected.set(layernorm(x.subarray(rowOffset * D, (rowOffset + m) * D), weight, bias, m, D, eps), rowOffset * D);
      checkRows(got, expected, x, weight, bias, D, eps, Array.from({ length: m }, (_, i) => rowOffset + i));
      // Rows outside rowOffset .. rowOffset+m−1 are left alone.
      const others = [...got.subarray(0, rowOffset * D), ...got.subarray((rowOffset + m) * D)];
      expect(others.every((v) => v === 7)).toBe(true);
      op.destroy();
      [xb, wb, bb, ob].forEach((b) => b.destroy());
    });
  });

  test('a constant row gives the bias, and a dispatch split over x and y normalises every row once', async () => {
    const gpu = await testGpu();
    const D = 67;
    const rows = 5;
    const x = randomF32(rows * D, rng(78), 3);
    x.fill(2.5, 0, D);
    const weight = randomF32(D, rng(79), 2);
    const bias = randomF32(D, rng(80));
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadF32(gpu, 'weight', weight);
      const bb = uploadF32(gpu, 'bias', bias);
      const ob = uploadF32(gpu, 'out', new Float32Array(rows * D));
      // 5 rows under a limit of 2 workgroups per dimension: dispatched as 2 × 3, one idle.
      const op = createLayernorm(withDispatchLimit(gpu, 2), { x: xb, weight: wb, bias: bb, out: ob, D, eps });
      runOp(gpu, op, { m: rows });
      const got = await readF32(gpu, ob);
      // Row 0 has no variance: eps alone keeps it finite, and it comes out as the bias up to the
      // mean's rounding magnified by 1/√eps, which the row's budget (σ = √eps) allows for.
      checkRows(got, layernorm(x, weight, bias, rows, D, eps), x, weight, bias, D, eps, [0, 1, 2, 3, 4]);
      op.destroy();
      [xb, wb, bb, ob].forEach((b) => b.destroy());
    });
  });
});
