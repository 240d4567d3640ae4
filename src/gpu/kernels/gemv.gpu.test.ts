import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, shapedFor, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { matmulNT } from '../../../test/reference/linalg.ts';
import { checkAccumulate, checkPlain, matmulTolerance } from '../../../test/matmul.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import { createGemv } from './gemv.ts';

describe('gemv', () => {
  // K % 4 picks the variant: 67 the scalar loads, 64 and 260 the vec4 loads; N = 93
  // leaves a partial group of 4 rows, and K = 260 wraps the 64 lanes' stride. m = 37
  // runs once only: 37 × 24 workgroups of 256 invocations already cost SwiftShader ~0.5 s.
  const shapes: [m: number, K: number, N: number, variant: string][] = [
    // On a GPU the lanes per row grow with K (4 to 64), so these cover each reduction width.
    [1, 67, 93, 'gemv_f32_scalar_wg256_t8'],
    [7, 67, 93, 'gemv_f32_scalar_wg256_t8'],
    [37, 67, 93, 'gemv_f32_scalar_wg256_t8'],
    [1, 64, 93, 'gemv_f32_vec4_wg256_t4'],
    [7, 260, 173, 'gemv_f32_vec4_wg256_t8'],
    [1, 301, 37, 'gemv_f32_scalar_wg256_t32'],
    [2, 1101, 11, 'gemv_f32_scalar_wg256_t64'],
    [1, 4100, 5, 'gemv_f32_vec4_wg256_t64'],
    // On a CPU implementation one lane reads each row, whatever K.
    [7, 67, 93, 'gemv_f32_scalar_wg256_t1'],
    [1, 260, 173, 'gemv_f32_vec4_wg256_t1'],
    [2, 1101, 11, 'gemv_f32_scalar_wg256_t1'],
  ];

  test.each(shapes)('m=%i K=%i N=%i (%s) matches the float64 reference', async (m, K, N, variant) => {
    expect(await checkPlain(await shapedFor(variant.endsWith('_t1') ? 'cpu' : 'gpu'), createGemv, m, K, N)).toBe(variant);
  });

  test.each([67, 260])('K=%i: accumulate adds into y at row offsets and leaves other rows alone', async (K) => {
    const label = await checkAccumulate(await testGpu(), createGemv, { K, N: 93, m: 2, xRowOffset: 5, yRowOffset: 3 });
    expect(label.endsWith('_acc')).toBe(true);
  });

  test('one op encoded in two submits with different m and offsets', async () => {
    const gpu = await testGpu();
    const random = rng(11);
    const [K, N] = [64, 93];
    const x = randomF32(8 * K, random);
    const w = randomF32(N * K, random);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadF32(gpu, 'w', w);
      const yb = uploadF32(gpu, 'y', new Float32Array(8 * N));
      const op = createGemv(gpu, { x: xb, w: wb, y: yb, K, N });
      runOp(gpu, op, { m: 3 });
      // Row 2 of the second call overwrites row 2 of the first: the params must have changed.
      runOp(gpu, op, { m: 1, xRowOffset: 7, yRowOffset: 2 });
      const all = matmulNT(x, w, 8, K, N);
      const expected = all.slice().fill(0, 3 * N);
      expected.set(all.subarray(7 * N, 8 * N), 2 * N);
      const r = compare(await readF32(gpu, yb), expected, matmulTolerance(x, w, 8, K, N));
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });

  test('a dispatch split over x and y computes every row once', async () => {
    const gpu = await shapedFor('gpu');
    const random = rng(3);
    // K = 64 gets 4 lanes per row, so 64 rows per workgroup: 3 tokens × 2 row groups = 6
    // workgroups; a limit of 4 per dimension dispatches 4 × 2 = 8, so the shader must
    // unflatten the index and idle the 2 extra.
    const [m, K, N] = [3, 64, 93];
    const x = randomF32(m * K, random);
    const w = randomF32(N * K, random);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadF32(gpu, 'w', w);
      const yb = uploadF32(gpu, 'y', new Float32Array(m * N + 1).fill(-1));
      const op = createGemv(withDispatchLimit(gpu, 4), { x: xb, w: wb, y: yb, K, N });
      runOp(gpu, op, { m });
      const expected = [...matmulNT(x, w, m, K, N), -1];
      const r = compare(await readF32(gpu, yb), expected, matmulTolerance(x, w, m, K, N));
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });
});
