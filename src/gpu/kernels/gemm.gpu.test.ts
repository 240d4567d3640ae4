import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withGpuErrors } from '../../../test/gpu.ts';
import { matmulNT } from '../../../test/reference/linalg.ts';
import { checkAccumulate, checkPlain, matmulTolerance } from '../../../test/matmul.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import { createGemm } from './gemm.ts';

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
    expect(await checkPlain(await testGpu(), createGemm, m, K, N)).toBe('gemm_f32_t64x64_k16');
  });

  test('accumulate adds into y at row offsets and leaves other rows alone', async () => {
    expect(await checkAccumulate(await testGpu(), createGemm, { K: 67, N: 93, m: 7, xRowOffset: 5, yRowOffset: 3 })).toBe('gemm_f32_t64x64_k16_acc');
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
      const r = compare(await readF32(gpu, yb), expected, matmulTolerance(x, w, 40, K, N));
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
