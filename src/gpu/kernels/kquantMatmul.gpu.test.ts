import { describe, expect, test } from 'vitest';
import { dequantizeRowK, K_TYPES, quantizeRowK, type KType } from '../../engine/formats/kquant.ts';
import { compare, randomF32, rng, runOp, shapedFor, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { EPS32 } from '../../../test/matmul.ts';
import { matmulAbsMax, matmulNT } from '../../../test/reference/linalg.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import type { KernelOp } from '../kernel.ts';
import type { MatmulDyn } from './gemm.ts';
import { createKQuantGemm, createKQuantGemv, uploadKQuantWeight, type KQuantMatmulOptions } from './kquantMatmul.ts';

type Create = (gpu: Gpu, o: KQuantMatmulOptions) => KernelOp<MatmulDyn>;

const types: KType[] = ['Q4_K', 'Q5_K', 'Q6_K'];

interface Weight {
  bytes: Uint8Array;
  /** The dequantized weights, as ggml decodes them: what the kernels must multiply by. */
  w: Float32Array;
  /**
   * Per weight, |w| + 2·|dmin·m|: the largest magnitude among the terms a kernel may form on the
   * way (d·sc·q and dmin·m for Q4_K/Q5_K; Q6_K has no offset), which scales its rounding errors.
   */
  magnitude: Float64Array;
}

/**
 * Random [N, K] weights quantized with quantizeRowK. Each run of 16 gets its own spread and shift,
 * so sub-blocks have different 6-bit scales and mins (all packing cases), not all near 63.
 */
function quantizedWeight(type: KType, N: number, K: number, random: () => number): Weight {
  const values = new Float32Array(N * K);
  for (let g = 0; g < values.length; g += 16) {
    const spread = 0.05 + random();
    const shift = random() - 0.5;
    for (let i = g; i < g + 16; i++) values[i] = (random() * 2 - 1) * spread + shift;
  }
  const bytes = quantizeRowK(type, values);
  const w = dequantizeRowK(type, bytes, N * K);
  const magnitude = Float64Array.from(w, Math.abs);
  if (type !== 'Q6_K') {
    // With every quant zeroed, each weight decodes to −dmin·m of its sub-block.
    const size = K_TYPES[type].blockBytes;
    const offsetsOnly = bytes.slice();
    for (let b = 0; b < offsetsOnly.length; b += size) offsetsOnly.fill(0, b + 16, b + size);
    dequantizeRowK(type, offsetsOnly, N * K).forEach((o, i) => (magnitude[i] += 2 * Math.abs(o)));
  }
  return { bytes, w, magnitude };
}

/**
 * Each output is an f32 sum of K products, rounded like a random walk: ~√K·ε·Σ|x|·|term|, where
 * a term is the larger of the weight and its parts (a kernel may apply d·sc and dmin·m to partial
 * sums, as the GEMV does). The factor 2 covers the tail of the walk. For K = 512 and unit data this
 * is ~3e-3, against outputs of ~7 and the ≥ 0.05 that one wrong nibble or scale costs.
 */
function tolerance(x: Float32Array, weight: Weight, m: number, K: number, N: number): number {
  return 2 * Math.sqrt(K) * EPS32 * matmulAbsMax(x, weight.magnitude, m, K, N);
}

/** m = 7 runs the GEMV's shape for a CPU implementation, one lane per row (gemvThreadsPerRow); the others a GPU's. */
async function checkPlain(create: Create, type: KType, m: number, K: number, N: number): Promise<string> {
  const gpu = await shapedFor(m === 7 ? 'cpu' : 'gpu');
  const random = rng(1000 * m + K + N + type.charCodeAt(1));
  const x = randomF32(m * K, random);
  const weight = quantizedWeight(type, N, K, random);
  return withGpuErrors(gpu, async () => {
    const xb = uploadF32(gpu, 'x', x);
    const wb = uploadKQuantWeight(gpu, 'w', type, weight.bytes, N, K);
    // Garbage in y, so an op that adds instead of writing fails.
    const yb = uploadF32(gpu, 'y', randomF32(m * N, random, 100));
    const op = create(gpu, { x: xb, w: wb, y: yb, K, N, type });
    runOp(gpu, op, { m });
    const r = compare(await readF32(gpu, yb), matmulNT(x, weight.w, m, K, N), tolerance(x, weight, m, K, N));
    expect(r.count, r.table).toBe(0);
    op.destroy();
    [xb, wb, yb].forEach((b) => b.destroy());
    return op.label;
  });
}

async function checkAccumulate(create: Create, type: KType): Promise<string> {
  const gpu = await shapedFor('gpu');
  const [K, N, m, xRowOffset, yRowOffset] = [256, 67, 3, 5, 2];
  const random = rng(77 + type.charCodeAt(1));
  const x = randomF32((xRowOffset + m + 2) * K, random);
  const weight = quantizedWeight(type, N, K, random);
  const y0 = randomF32((yRowOffset + m + 2) * N, random);
  return withGpuErrors(gpu, async () => {
    const xb = uploadF32(gpu, 'x', x);
    const wb = uploadKQuantWeight(gpu, 'w', type, weight.bytes, N, K);
    const yb = uploadF32(gpu, 'y', y0);
    const op = create(gpu, { x: xb, w: wb, y: yb, K, N, type, accumulate: true });
    runOp(gpu, op, { m, xRowOffset, yRowOffset });
    const xs = x.subarray(xRowOffset * K, (xRowOffset + m) * K);
    const expected = Float64Array.from(y0);
    matmulNT(xs, weight.w, m, K, N).forEach((v, j) => (expected[yRowOffset * N + j] += v));
    // y + dot adds one rounding of a value below 1 + Σ|x||w| to the dot product's error.
    const atol = tolerance(xs, weight, m, K, N) + EPS32 * (1 + matmulAbsMax(xs, weight.w, m, K, N));
    const r = compare(await readF32(gpu, yb), expected, atol);
    expect(r.count, r.table).toBe(0);
    op.destroy();
    [xb, wb, yb].forEach((b) => b.destroy());
    return op.label;
  });
}

// N = 67 leaves partial row groups (64 or 32 rows per GEMV workgroup) and a partial 64-wide GEMM
// tile; K = 512 gives each row two super-blocks, so odd Q6_K blocks (2 bytes into a word) occur
// inside rows as well as at the start of odd rows. m = 37 runs once per kernel and type only:
// SwiftShader is slow.
const shapes: [m: number, K: number, N: number][] = [
  [1, 256, 67],
  [7, 512, 67],
  [37, 256, 67],
];

describe('K-quant gemv', () => {
  test.each(types.flatMap((type) => shapes.map((s) => [type, ...s] as const)))(
    '%s m=%i K=%i N=%i matches the float64 reference on the dequantized weights',
    async (type, m, K, N) => {
      const lanes = m === 7 ? 1 : K === 256 ? 4 : 8;
      expect(await checkPlain(createKQuantGemv, type, m, K, N)).toBe(`gemv_${type.toLowerCase()}_f32_wg256_t${lanes}`);
    },
  );

  test.each(types)('%s: accumulate adds into y at row offsets and leaves other rows alone', async (type) => {
    expect(await checkAccumulate(createKQuantGemv, type)).toBe(`gemv_${type.toLowerCase()}_f32_wg256_t4_acc`);
  });

  test('a dispatch split over x and y computes every row once', async () => {
    const gpu = await shapedFor('gpu');
    const random = rng(5);
    // K = 256 gets 4 lanes per row, so 64 rows per workgroup: 3 tokens × 2 row groups = 6
    // workgroups; a limit of 4 per dimension dispatches 4 × 2 = 8, and the 2 extra must idle.
    const [type, m, K, N] = ['Q6_K', 3, 256, 67] as const;
    const x = randomF32(m * K, random);
    const weight = quantizedWeight(type, N, K, random);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const wb = uploadKQuantWeight(gpu, 'w', type, weight.bytes, N, K);
      const yb = uploadF32(gpu, 'y', new Float32Array(m * N + 1).fill(-1));
      const op = createKQuantGemv(withDispatchLimit(gpu, 4), { x: xb, w: wb, y: yb, K, N, type });
      runOp(gpu, op, { m });
      const expected = [...matmulNT(x, weight.w, m, K, N), -1];
      const r = compare(await readF32(gpu, yb), expected, tolerance(x, weight, m, K, N));
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });
});

describe('K-quant gemm', () => {
  test.each(types.flatMap((type) => shapes.map((s) => [type, ...s] as const)))(
    '%s m=%i K=%i N=%i matches the float64 reference on the dequantized weights',
    async (type, m, K, N) => {
      expect(await checkPlain(createKQuantGemm, type, m, K, N)).toBe(`gemm_${type.toLowerCase()}_f32_t64x64_k32`);
    },
  );

  test.each(types)('%s: accumulate adds into y at row offsets and leaves other rows alone', async (type) => {
    expect(await checkAccumulate(createKQuantGemm, type)).toBe(`gemm_${type.toLowerCase()}_f32_t64x64_k32_acc`);
  });
});

describe('K-quant guards', () => {
  test('reject K that is not whole super-blocks, short weights and rows beyond the buffers', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', new Float32Array(2 * 512));
      const yb = uploadF32(gpu, 'y', new Float32Array(2 * 4));
      const bytes = quantizeRowK('Q4_K', randomF32(4 * 256, rng(9)));
      const wb = uploadKQuantWeight(gpu, 'w', 'Q4_K', bytes, 4, 256);
      for (const create of [createKQuantGemv, createKQuantGemm]) {
        expect(() => create(gpu, { x: xb, w: wb, y: yb, K: 128, N: 8, type: 'Q4_K' })).toThrow(RangeError);
        expect(() => create(gpu, { x: xb, w: wb, y: yb, K: 512, N: 4, type: 'Q4_K' })).toThrow(RangeError);
        const op = create(gpu, { x: xb, w: wb, y: yb, K: 256, N: 4, type: 'Q4_K' });
        expect(() => runOp(gpu, op, { m: 2, yRowOffset: 1 })).toThrow(RangeError);
        op.destroy();
      }
      expect(() => uploadKQuantWeight(gpu, 'w', 'Q4_K', bytes, 4, 384)).toThrow(RangeError);
      expect(() => uploadKQuantWeight(gpu, 'w', 'Q5_K', bytes, 4, 256)).toThrow(RangeError);
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });
});
