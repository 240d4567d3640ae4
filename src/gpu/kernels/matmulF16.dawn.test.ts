import { describe, expect, test } from 'vitest';
import { f16Gpu } from '../../../test/f16Gpu.ts';
import { withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { runF16Case, type CreateF16 } from '../../../test/matmulF16.ts';
import { uploadF32 } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import { createF16Gemm, createF16Gemv, createPackedMatmul, type HalfType } from './matmulF16.ts';
import { uploadPackedWeight, packedWeightBytes } from './packedWeights.ts';

// The f16 path needs shader-f16, which SwiftShader (the browser project and the other Node
// tests) lacks: these run on lavapipe (scripts/lavapipe.sh) and skip, saying why, without it.
const f16 = await f16Gpu();
if (typeof f16 === 'string') console.warn(`matmulF16.dawn.test.ts: shader-f16 tests skipped: ${f16}`);
/**
 * The lavapipe device, with kernels picking a GPU's shapes (Gpu.software false) or a CPU
 * implementation's, one GEMV lane per row (gemvThreadsPerRow), as lavapipe itself would.
 */
const gpu = (target: 'gpu' | 'cpu' = 'gpu'): Gpu => ({ ...(f16 as Gpu), software: target === 'cpu' });

const TYPES: HalfType[] = ['F16', 'BF16'];
// 13 groups of eight: the GEMM's last 32-wide K step is a partial one, zero-filled.
const K = 104;

const kernels: [name: 'gemv' | 'gemm', create: CreateF16][] = [
  ['gemv', createF16Gemv],
  ['gemm', createF16Gemm],
];

describe.skipIf(typeof f16 === 'string').each(kernels)('f16-arithmetic %s', (kernel, create) => {
  const key = (type: HalfType, acc = false, lanes = 4) =>
    `${kernel}_${type.toLowerCase()}_f16math_${kernel === 'gemv' ? `wg256_t${lanes}` : 't64x64_k32'}${acc ? '_acc' : ''}`;

  // N = 37 and 93 leave partial row groups (256 rows per GEMV workgroup at K = 104) and partial
  // 64-column tiles. m = 7 runs the GEMV's shape for a CPU implementation.
  test.each(TYPES.flatMap((type) => [1, 7, 37].map((m) => [type, m, m === 1 ? 37 : 93] as const)))(
    '%s m=%i N=%i matches the float64 reference',
    async (type, m, N) => {
      const r = await runF16Case(gpu(m === 7 ? 'cpu' : 'gpu'), create, { type, m, K, N });
      expect(r.count, r.table).toBe(0);
      expect(r.label).toBe(key(type, false, m === 7 ? 1 : 4));
    },
  );

  test.each(TYPES)('%s: accumulate adds into y at row offsets and leaves other rows alone', async (type) => {
    const r = await runF16Case(gpu(), create, { type, m: 3, K, N: 41, accumulate: true, xRowOffset: 5, yRowOffset: 2 });
    expect(r.count, r.table).toBe(0);
    expect(r.label).toBe(key(type, true));
  });

  // The reference and tolerance must be able to see an element-order bug, not just pass.
  test.each(TYPES)('%s: weights with neighbouring halves swapped fail the comparison', async (type) => {
    const r = await runF16Case(gpu(), create, { type, m: 2, K, N: 19, planted: true });
    expect(r.count).toBeGreaterThan(0);
  });

  test('K not a multiple of 8, or a block type, throws a RangeError', async () => {
    const g = gpu();
    await withGpuErrors(g, async () => {
      const [xb, yb] = [uploadF32(g, 'x', new Float32Array(2 * 64)), uploadF32(g, 'y', new Float32Array(2 * 4))];
      const wb = uploadPackedWeight(g, 'w', 'F16', new Uint8Array(packedWeightBytes('F16', 4, 64)), 4, 64);
      expect(() => create(g, { x: xb, w: wb, y: yb, K: 60, N: 4, type: 'F16' })).toThrow(RangeError);
      expect(() => create(g, { x: xb, w: wb, y: yb, K: 64, N: 4, type: 'Q8_0' })).toThrow(RangeError);
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });
});

describe.skipIf(typeof f16 === 'string')('f16-arithmetic gemv and gemm, beyond one tile', () => {
  test('gemm: m=70 spans two row tiles and N=130 three column tiles', async () => {
    const r = await runF16Case(gpu(), createF16Gemm, { type: 'F16', m: 70, K: 64, N: 130 });
    expect(r.count, r.table).toBe(0);
  });

  test('gemv: a long row gets 16 lanes, whose four-row partial sums the tree reduction folds', async () => {
    const r = await runF16Case(gpu(), createF16Gemv, { type: 'BF16', m: 2, K: 1280, N: 11 });
    expect(r.count, r.table).toBe(0);
    expect(r.label).toBe('gemv_bf16_f16math_wg256_t16');
  });

  test('gemv: a dispatch split over x and y computes every row once', async () => {
    // K = 64 gets 4 lanes per row, so 64 lane groups × 4 rows = 256 rows per workgroup: 3
    // tokens × 3 row groups of N = 600 = 9 workgroups; a limit of 4 per dimension dispatches
    // 4 × 3 = 12, and the 3 extra must idle.
    const r = await runF16Case(withDispatchLimit(gpu(), 4), createF16Gemv, { type: 'F16', m: 3, K: 64, N: 600 });
    expect(r.count, r.table).toBe(0);
  });

  test('createPackedMatmul picks the f16 kernels here, and the f32 ones where they cannot apply', async () => {
    const g = gpu();
    await withGpuErrors(g, async () => {
      const make = (type: 'F16' | 'BF16' | 'Q8_0', kernel: 'gemv' | 'gemm', K: number) => {
        const [xb, yb] = [uploadF32(g, 'x', new Float32Array(K)), uploadF32(g, 'y', new Float32Array(4))];
        const wb = uploadPackedWeight(g, 'w', type, new Uint8Array(packedWeightBytes(type, 4, K)), 4, K);
        const op = createPackedMatmul(g, kernel, { x: xb, w: wb, y: yb, K, N: 4, type });
        op.destroy();
        [xb, wb, yb].forEach((b) => b.destroy());
        return op.label;
      };
      expect(make('F16', 'gemv', 64)).toBe('gemv_f16_f16math_wg256_t4');
      expect(make('BF16', 'gemm', 64)).toBe('gemm_bf16_f16math_t64x64_k32');
      // K = 36 is not whole groups of eight, and Q8_0 is not a float type: the f32 kernels.
      expect(make('F16', 'gemv', 36)).toBe('gemv_f16_wg256_t4');
      expect(make('Q8_0', 'gemm', 64)).toBe('gemm_q8_0_t64x64_k32');
    });
  });
});
