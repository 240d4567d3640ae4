import { describe, expect, test } from 'vitest';
import { f16ToF32 } from '../../engine/formats/dtype.ts';
import { dequantizeRow, PACKED_TYPES, quantizeRow, type PackedType } from '../../engine/formats/quant.ts';
import { randomF32, rng, runOp, shapedFor, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { EPS32 } from '../../../test/matmul.ts';
import { matmulNT } from '../../../test/reference/linalg.ts';
import { q8_1BlockSumsRef, roundActivationsRef } from '../../../test/reference/llamaCppRounding.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import type { KernelOp } from '../kernel.ts';
import type { MatmulDyn } from './gemm.ts';
import { createPackedGemm } from './gemmPacked.ts';
import { createPackedGemv } from './gemvPacked.ts';
import { packedWeightBytes, uploadPackedWeight, type PackedMatmulOptions } from './packedWeights.ts';

type Create = (gpu: Gpu, o: PackedMatmulOptions) => KernelOp<MatmulDyn>;

const TYPES = Object.keys(PACKED_TYPES) as PackedType[];
const isFloat = (type: PackedType) => PACKED_TYPES[type].blockElements === 1;
// Three 32-element blocks per row; the 16-bit floats take K = 99 instead, so odd rows start in
// the middle of a u32 and every row ends inside a group of eight.
const kOf = (type: PackedType) => (isFloat(type) ? 99 : 96);
// Row 2 is scaled by 2^−12: its block scales fall below f16's normal range (Q8_0 d ≈ 2e−6,
// Q4_0 d ≈ 3e−5 < 6.1e−5), and a GPU that flushed subnormal halves would zero the whole row.
const TINY_ROW = 2;

/** Random [N, K] weights quantized row by row, with the f32 values they decode to. */
function makeWeights(type: PackedType, N: number, K: number, seed: number): { bytes: Uint8Array; w: Float32Array } {
  const values = randomF32(N * K, rng(seed));
  const rowBytes = packedWeightBytes(type, 1, K);
  const bytes = new Uint8Array(N * rowBytes);
  const w = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    // Rows differ in scale, and every third sits off zero, so blocks get distinct scales and minima.
    const scale = n === TINY_ROW ? 2 ** -12 : 0.5 + (n % 4) * 0.5;
    const shift = n % 3 === 1 ? 0.6 : 0;
    const row = values.subarray(n * K, (n + 1) * K).map((v) => (v + shift) * scale);
    const packed = quantizeRow(type, row);
    bytes.set(packed, n * rowBytes);
    w.set(dequantizeRow(type, packed, K), n * K);
  }
  return { bytes, w };
}

/**
 * A plausible decoding bug planted in the bytes: nibbles swapped (elements j and j + 16 of a
 * Q4/Q5 block), Q8_0's two halves swapped, or neighbouring 16-bit floats swapped.
 */
function plantBug(type: PackedType, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  if (isFloat(type)) {
    for (let i = 0; i + 3 < out.length; i += 4) out.set([bytes[i + 2], bytes[i + 3], bytes[i], bytes[i + 1]], i);
    return out;
  }
  const size = PACKED_TYPES[type].blockBytes;
  // Offset of the quants in a block: after d (and m, and the Q5 high-bit word).
  const qs = ({ Q8_0: 2, Q4_0: 2, Q4_1: 4, Q5_0: 6, Q5_1: 8 } as Record<PackedType, number>)[type];
  for (let o = 0; o < out.length; o += size) {
    for (let j = 0; j < 16; j++) {
      if (type === 'Q8_0') [out[o + qs + j], out[o + qs + j + 16]] = [bytes[o + qs + j + 16], bytes[o + qs + j]];
      else out[o + qs + j] = (bytes[o + qs + j] >> 4) | ((bytes[o + qs + j] & 15) << 4);
    }
  }
  return out;
}

interface Case {
  type: PackedType;
  m: number;
  K: number;
  N: number;
  accumulate?: boolean;
  xRowOffset?: number;
  yRowOffset?: number;
  planted?: boolean;
}

/**
 * Runs one op and compares all of y with a float64 reference built from dequantizeRow's f32
 * values, which are exactly the weights the kernel decodes (a level times an f16 scale, plus
 * an f16 minimum, is exact in f32 for these rows). So the only error left is the f32 sum of
 * K products, bounded per output by 2√K·ε·Σ_k|x_k||w_k| as in test/matmul.ts, plus, when
 * accumulating, one rounding of y + dot. Rows of y outside the call must be left bit-identical.
 * Returns the op's label and the number of mismatches with a readable table.
 */
async function runCase(gpu: Gpu, create: Create, c: Case): Promise<{ label: string; count: number; table: string }> {
  const { type, m, K, N, xRowOffset = 0, yRowOffset = 0 } = c;
  const random = rng(1000 * m + K + N + xRowOffset);
  const { bytes, w } = makeWeights(type, N, K, K + N);
  const x = randomF32((xRowOffset + m + 2) * K, random);
  // Garbage in y, so an op that adds instead of writing, or writes the wrong rows, fails.
  const y0 = randomF32((yRowOffset + m + 2) * N, random, c.accumulate ? 1 : 100);
  const xs = x.subarray(xRowOffset * K, (xRowOffset + m) * K);
  const dot = matmulNT(xs, w, m, K, N);
  const abs = matmulNT(xs.map(Math.abs), w.map(Math.abs), m, K, N);
  const expected = Float64Array.from(y0);
  const bound = new Float64Array(y0.length);
  for (let j = 0; j < m * N; j++) {
    const at = yRowOffset * N + j;
    expected[at] = (c.accumulate ? y0[at] : 0) + dot[j];
    bound[at] = 2 * Math.sqrt(K) * EPS32 * abs[j] + (c.accumulate ? EPS32 * (Math.abs(y0[at]) + abs[j]) : 0);
  }
  return withGpuErrors(gpu, async () => {
    const wb = uploadPackedWeight(gpu, 'w', type, c.planted ? plantBug(type, bytes) : bytes, N, K);
    const [xb, yb] = [uploadF32(gpu, 'x', x), uploadF32(gpu, 'y', y0)];
    const op = create(gpu, { x: xb, w: wb, y: yb, K, N, type, accumulate: c.accumulate });
    runOp(gpu, op, { m, xRowOffset, yRowOffset });
    const actual = await readF32(gpu, yb);
    op.destroy();
    [xb, wb, yb].forEach((b) => b.destroy());
    const bad: string[] = [];
    actual.forEach((a, i) => {
      if (!(Math.abs(a - expected[i]) <= bound[i])) bad.push(`  [row ${Math.floor(i / N)}, col ${i % N}] actual ${a} expected ${expected[i]} bound ${bound[i].toExponential(2)}`);
    });
    return { label: op.label, count: bad.length, table: `${bad.length}/${actual.length} mismatches\n${bad.slice(0, 8).join('\n')}` };
  });
}

const kernels: [name: string, create: Create][] = [
  ['gemv', createPackedGemv],
  ['gemm', createPackedGemm],
];

/** The GEMV takes one lane per row on a CPU implementation and four here on a GPU: m = 7 runs the first (gemvThreadsPerRow). */
const shapeFor = (m: number) => (m === 7 ? 'cpu' : 'gpu');

describe.each(kernels)('packed %s', (kernel, create) => {
  const key = (type: PackedType, acc = false, lanes = 4) =>
    `${kernel}_${type.toLowerCase()}_${kernel === 'gemv' ? `wg256_t${lanes}` : 't64x64_k32'}${acc ? '_acc' : ''}`;

  // N = 37 and 93 leave partial row groups (64 rows for K ≈ 96) and partial 64-column tiles.
  test.each(TYPES.flatMap((type) => [1, 7, 37].map((m) => [type, m, m === 1 ? 37 : 93] as const)))(
    '%s m=%i N=%i matches the float64 reference',
    async (type, m, N) => {
      const r = await runCase(await shapedFor(shapeFor(m)), create, { type, m, K: kOf(type), N });
      expect(r.count, r.table).toBe(0);
      expect(r.label).toBe(key(type, false, shapeFor(m) === 'cpu' ? 1 : 4));
    },
  );

  // The accumulate epilogue does not depend on the type; every type runs it through the cheap
  // GEMV, and the GEMM (~2 s per pipeline on SwiftShader) through one float and one block type.
  const accumulateTypes: PackedType[] = kernel === 'gemv' ? TYPES : ['BF16', 'Q5_0'];
  test.each(accumulateTypes)('%s: accumulate adds into y at row offsets and leaves other rows alone', async (type) => {
    const r = await runCase(await shapedFor('gpu'), create, { type, m: 3, K: kOf(type), N: 41, accumulate: true, xRowOffset: 5, yRowOffset: 2 });
    expect(r.count, r.table).toBe(0);
    expect(r.label).toBe(key(type, true));
  });

  // The reference and tolerance above must be able to see a decoding bug, not just pass.
  test.each(TYPES)('%s: weights with a planted element-order bug fail the comparison', async (type) => {
    const r = await runCase(await testGpu(), create, { type, m: 2, K: kOf(type), N: 19, planted: true });
    expect(r.count).toBeGreaterThan(0);
  });

  test('K not whole blocks, or too few weight bytes, throw a RangeError', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const [xb, yb] = [uploadF32(gpu, 'x', new Float32Array(2 * 64)), uploadF32(gpu, 'y', new Float32Array(2 * 4))];
      const wb = uploadPackedWeight(gpu, 'w', 'Q4_0', new Uint8Array(packedWeightBytes('Q4_0', 4, 64)), 4, 64);
      expect(() => create(gpu, { x: xb, w: wb, y: yb, K: 48, N: 4, type: 'Q4_0' })).toThrow(RangeError);
      expect(() => create(gpu, { x: xb, w: wb, y: yb, K: 64, N: 4, type: 'Q8_0' })).toThrow(RangeError);
      expect(() => uploadPackedWeight(gpu, 'w', 'Q4_0', new Uint8Array(35), 2, 32)).toThrow(RangeError);
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });
});

describe('packed gemv and gemm, beyond one tile', () => {
  test('gemm: m=70 spans two row tiles and N=130 three column tiles', async () => {
    const r = await runCase(await testGpu(), createPackedGemm, { type: 'Q4_1', m: 70, K: 64, N: 130 });
    expect(r.count, r.table).toBe(0);
  });

  test('gemv: a long row gets 16 lanes, whose partial sums the tree reduction folds', async () => {
    const r = await runCase(await shapedFor('gpu'), createPackedGemv, { type: 'Q5_1', m: 2, K: 1280, N: 11 });
    expect(r.count, r.table).toBe(0);
    expect(r.label).toBe('gemv_q5_1_wg256_t16');
  });

  test('gemv: a dispatch split over x and y computes every row once', async () => {
    // K = 64 gets 4 lanes per row, so 64 rows per workgroup: 3 tokens × 2 row groups = 6
    // workgroups; a limit of 4 per dimension dispatches 4 × 2 = 8, and the 2 extra must idle.
    const gpu = await shapedFor('gpu');
    const r = await runCase(withDispatchLimit(gpu, 4), createPackedGemv, { type: 'Q8_0', m: 3, K: 64, N: 93 });
    expect(r.count, r.table).toBe(0);
  });
});

interface BlockSumCase {
  type: 'Q4_1' | 'Q5_1';
  m: number;
  K: number;
  N: number;
  xRowOffset: number;
  yRowOffset: number;
  /** Run the kernel without blockSums, against the same reference: it must fail. */
  unfixed?: boolean;
}

/**
 * The dot product llama.cpp's vec_dot_q4_1_q8_1 / q5_1_q8_1 computes, d_w·Σ q_w·x + m_w·s per
 * block with s = f16(d_x·Σq_x) its Q8_1 block sum, against the kernels given x rounded to q8_1
 * and the residuals r = s − Σx that round_block_sums writes. Since the decoded weight q_w·d_w + m_w
 * is exact in f32, the float64 reference is Σ_k w_k·x_k + Σ_b m_b·r_b. The kernel sums K + K/32
 * f32 products, so the bound is runCase's with those terms: 2√(K + K/32)·ε·(Σ|w||x| + Σ|m||r|).
 */
async function runBlockSumCase(gpu: Gpu, create: Create, c: BlockSumCase): Promise<{ label: string; count: number; table: string }> {
  const { type, m, K, N, xRowOffset, yRowOffset } = c;
  const blocks = K / 32;
  const { bytes, w } = makeWeights(type, N, K, 7 * K + N);
  const rows = xRowOffset + m + 1;
  const raw = randomF32(rows * K, rng(K + m));
  const x = roundActivationsRef(raw, K, 'q8_1');
  const stored = q8_1BlockSumsRef(raw, K);
  const residuals = stored.map((s, b) => s - x.subarray(32 * b, 32 * b + 32).reduce((a, v) => a + v, 0));
  // The block minimum is the f16 after d in each 20- or 24-byte block.
  const blockBytes = PACKED_TYPES[type].blockBytes;
  const mins = Float64Array.from({ length: N * blocks }, (_, i) => f16ToF32(bytes[i * blockBytes + 2] | (bytes[i * blockBytes + 3] << 8)));
  const y0 = randomF32((yRowOffset + m + 1) * N, rng(N), 100);
  const expected = Float64Array.from(y0);
  const bound = new Float64Array(y0.length);
  for (let i = 0; i < m; i++) {
    for (let n = 0; n < N; n++) {
      let [dot, abs] = [0, 0];
      for (let k = 0; k < K; k++) {
        const [xv, wv] = [x[(xRowOffset + i) * K + k], w[n * K + k]];
        dot += xv * wv;
        abs += Math.abs(xv * wv);
      }
      for (let b = 0; b < blocks; b++) {
        const [r, mb] = [residuals[(xRowOffset + i) * blocks + b], mins[n * blocks + b]];
        dot += mb * r;
        abs += Math.abs(mb * r);
      }
      expected[(yRowOffset + i) * N + n] = dot;
      bound[(yRowOffset + i) * N + n] = 2 * Math.sqrt(K + blocks) * EPS32 * abs;
    }
  }
  return withGpuErrors(gpu, async () => {
    const wb = uploadPackedWeight(gpu, 'w', type, bytes, N, K);
    const [xb, yb, sb] = [uploadF32(gpu, 'x', x), uploadF32(gpu, 'y', y0), uploadF32(gpu, 'sums', residuals)];
    const op = create(gpu, { x: xb, w: wb, y: yb, K, N, type, ...(c.unfixed ? {} : { blockSums: sb }) });
    runOp(gpu, op, { m, xRowOffset, yRowOffset });
    const actual = await readF32(gpu, yb);
    op.destroy();
    [xb, wb, yb, sb].forEach((b) => b.destroy());
    const bad: string[] = [];
    actual.forEach((a, i) => {
      if (!(Math.abs(a - expected[i]) <= bound[i])) bad.push(`  [row ${Math.floor(i / N)}, col ${i % N}] actual ${a} expected ${expected[i]} bound ${bound[i].toExponential(2)}`);
    });
    return { label: op.label, count: bad.length, table: `${bad.length}/${actual.length} mismatches\n${bad.slice(0, 8).join('\n')}` };
  });
}

describe.each(kernels)("packed %s with llama.cpp's Q8_1 block sums", (kernel, create) => {
  const suffix = kernel === 'gemv' ? 'wg256_t4' : 't64x64_k32';
  // K = 96 is three blocks, not a multiple of the 64-element GEMV stride of four lanes; N = 37 and
  // 93 leave partial row groups and column tiles; the row offsets move x, its residuals and y.
  test.each([
    ['Q4_1', 1, 37],
    ['Q4_1', 7, 93],
    ['Q5_1', 1, 37],
    ['Q5_1', 7, 93],
  ] as const)('%s m=%i N=%i matches llama.cpp\'s formula in float64', async (type, m, N) => {
    const r = await runBlockSumCase(await shapedFor(shapeFor(m)), create, { type, m, K: 96, N, xRowOffset: 2, yRowOffset: 1 });
    expect(r.count, r.table).toBe(0);
    expect(r.label).toBe(`${kernel}_${type.toLowerCase()}_${shapeFor(m) === 'cpu' ? suffix.replace('_t4', '_t1') : suffix}_sums`);
  });

  // Without the residuals the kernel computes m·Σx: the reference must tell that apart.
  test.each(['Q4_1', 'Q5_1'] as const)('%s: the kernel without block sums fails the comparison', async (type) => {
    const r = await runBlockSumCase(await testGpu(), create, { type, m: 7, K: 96, N: 93, xRowOffset: 2, yRowOffset: 1, unfixed: true });
    expect(r.count).toBeGreaterThan(0);
  });

  test('block sums are refused for other types and checked against the rows run', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const [xb, yb, sb] = [uploadF32(gpu, 'x', new Float32Array(2 * 64)), uploadF32(gpu, 'y', new Float32Array(2 * 4)), uploadF32(gpu, 'sums', new Float32Array(3))];
      const q4_0 = uploadPackedWeight(gpu, 'w', 'Q4_0', new Uint8Array(packedWeightBytes('Q4_0', 4, 64)), 4, 64);
      const q4_1 = uploadPackedWeight(gpu, 'w', 'Q4_1', new Uint8Array(packedWeightBytes('Q4_1', 4, 64)), 4, 64);
      expect(() => create(gpu, { x: xb, w: q4_0, y: yb, K: 64, N: 4, type: 'Q4_0', blockSums: sb })).toThrow(RangeError);
      // Two rows of two blocks need four residuals; sb holds three.
      const op = create(gpu, { x: xb, w: q4_1, y: yb, K: 64, N: 4, type: 'Q4_1', blockSums: sb });
      expect(() => runOp(gpu, op, { m: 2 })).toThrow(RangeError);
      op.destroy();
      [xb, yb, sb, q4_0, q4_1].forEach((b) => b.destroy());
    });
  });
});
