// Checks shared by the GEMM and GEMV tests: both kernels implement the same matmul contract
// (src/gpu/kernels/gemm.ts MatmulOptions), so they are held to the same reference and tolerance.
import { expect } from 'vitest';
import type { Gpu } from '../src/gpu/device.ts';
import { readF32, uploadF32 } from '../src/gpu/buffers.ts';
import type { KernelOp } from '../src/gpu/kernel.ts';
import type { MatmulDyn, MatmulOptions } from '../src/gpu/kernels/gemm.ts';
import { compare, randomF32, rng, runOp, withGpuErrors } from './gpu.ts';
import { matmulAbsMax, matmulNT } from './reference/linalg.ts';

export const EPS32 = 2 ** -23;

export type CreateMatmul = (gpu: Gpu, o: MatmulOptions) => KernelOp<MatmulDyn>;

/**
 * Each output is an f32 sum of K products (per-lane or per-tile partial sums, then a
 * combine). Its rounding errors add up roughly like a random walk, so the error grows
 * ~ √K·ε·Σ|x||w|; Σ|x||w| (the largest over all outputs) bounds every partial sum, and the
 * factor 2 covers the tail of the walk. For K = 260 and unit data this is ~3e-4, far below
 * the ~0.25 a dropped or misplaced product would cost.
 */
export function matmulTolerance(x: Float32Array, w: Float32Array, m: number, K: number, N: number): number {
  return 2 * Math.sqrt(K) * EPS32 * matmulAbsMax(x, w, m, K, N);
}

/** Runs one op on random data (garbage in y, so an op that adds instead of writing fails) and returns its label. */
export async function checkPlain(gpu: Gpu, create: CreateMatmul, m: number, K: number, N: number): Promise<string> {
  const random = rng(1000 * m + K + N);
  const x = randomF32(m * K, random);
  const w = randomF32(N * K, random);
  return withGpuErrors(gpu, async () => {
    const [xb, wb, yb] = [uploadF32(gpu, 'x', x), uploadF32(gpu, 'w', w), uploadF32(gpu, 'y', randomF32(m * N, random, 100))];
    const op = create(gpu, { x: xb, w: wb, y: yb, K, N });
    runOp(gpu, op, { m });
    const r = compare(await readF32(gpu, yb), matmulNT(x, w, m, K, N), matmulTolerance(x, w, m, K, N));
    expect(r.count, r.table).toBe(0);
    op.destroy();
    [xb, wb, yb].forEach((b) => b.destroy());
    return op.label;
  });
}

/** The accumulate variant adds m rows into y at the offsets and leaves every other row as it was; returns its label. */
export async function checkAccumulate(
  gpu: Gpu,
  create: CreateMatmul,
  { K, N, m, xRowOffset, yRowOffset }: { K: number; N: number; m: number; xRowOffset: number; yRowOffset: number },
): Promise<string> {
  const random = rng(K + 7);
  const x = randomF32((xRowOffset + m + 2) * K, random);
  const w = randomF32(N * K, random);
  const y0 = randomF32((yRowOffset + m + 2) * N, random);
  return withGpuErrors(gpu, async () => {
    const [xb, wb, yb] = [uploadF32(gpu, 'x', x), uploadF32(gpu, 'w', w), uploadF32(gpu, 'y', y0)];
    const op = create(gpu, { x: xb, w: wb, y: yb, K, N, accumulate: true });
    runOp(gpu, op, { m, xRowOffset, yRowOffset });
    const xs = x.subarray(xRowOffset * K, (xRowOffset + m) * K);
    const expected = Float64Array.from(y0);
    matmulNT(xs, w, m, K, N).forEach((v, j) => (expected[yRowOffset * N + j] += v));
    // y + dot adds one rounding of a value below 1 + Σ|x||w| to the dot product's error.
    const r = compare(await readF32(gpu, yb), expected, matmulTolerance(xs, w, m, K, N) + EPS32 * (1 + matmulAbsMax(xs, w, m, K, N)));
    expect(r.count, r.table).toBe(0);
    op.destroy();
    [xb, wb, yb].forEach((b) => b.destroy());
    return op.label;
  });
}
