import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { biasAdd } from '../../../test/reference/linalg.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import { createBiasAdd } from './bias.ts';

/** WGSL's f32 addition is correctly rounded: one rounding, at most half an ULP. */
const RTOL = 2 ** -24;

describe('bias add', () => {
  // 67 is prime, so no row starts on a workgroup boundary of 256: a bias indexed by the
  // flat element instead of its column would be caught.
  const N = 67;

  test('adds the bias to rows rowOffset .. rowOffset+m−1 only, with a new m and rowOffset per submit', async () => {
    const gpu = await testGpu();
    const random = rng(41);
    const rows = 11;
    const y = randomF32(rows * N, random);
    const bias = randomF32(N, random, 4);
    await withGpuErrors(gpu, async () => {
      const yb = uploadF32(gpu, 'y', y);
      const bb = uploadF32(gpu, 'bias', bias);
      const op = createBiasAdd(gpu, { y: yb, bias: bb, N });
      expect(op.label).toBe('bias_f32_wg256');
      runOp(gpu, op, { m: 5, rowOffset: 3 });
      runOp(gpu, op, { m: 1 });
      const expected = Float64Array.from(y);
      expected.set(biasAdd(y.subarray(3 * N, 8 * N), bias, N), 3 * N);
      expected.set(biasAdd(y.subarray(0, N), bias, N), 0);
      const r = compare(await readF32(gpu, yb), expected, 0, RTOL);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [yb, bb].forEach((b) => b.destroy());
    });
  });

  test('a dispatch split over x and y adds to every element once', async () => {
    const gpu = await testGpu();
    const random = rng(42);
    // 37 × 67 = 2479 elements = 10 workgroups of 256, dispatched as 3 × 4, 2 idle.
    const m = 37;
    const y = randomF32((m + 1) * N, random);
    const bias = randomF32(N, random);
    await withGpuErrors(gpu, async () => {
      const yb = uploadF32(gpu, 'y', y);
      const bb = uploadF32(gpu, 'bias', bias);
      const op = createBiasAdd(withDispatchLimit(gpu, 3), { y: yb, bias: bb, N });
      runOp(gpu, op, { m, rowOffset: 1 });
      const expected = Float64Array.from(y);
      expected.set(biasAdd(y.subarray(N), bias, N), N);
      const r = compare(await readF32(gpu, yb), expected, 0, RTOL);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [yb, bb].forEach((b) => b.destroy());
    });
  });

  test('refuses rows past the end of y', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const yb = uploadF32(gpu, 'y', new Float32Array(2 * N));
      const bb = uploadF32(gpu, 'bias', new Float32Array(N));
      const op = createBiasAdd(gpu, { y: yb, bias: bb, N });
      expect(() => runOp(gpu, op, { m: 2, rowOffset: 1 })).toThrow(/exceed y/);
      op.destroy();
      [yb, bb].forEach((b) => b.destroy());
    });
  });
});
