// What llama.cpp's x86 CPU backend (ggml-cpu, AVX2 build) does to a matmul's f32 activations before
// the dot product, and its table GELU, written after ggml's C code one f32 operation at a time
// (Math.fround after every step). The decoded value of a quantized element is q · d, as the kernels
// under test return it. Checked against libggml-cpu-haswell.so from node-llama-cpp (llama.cpp
// v0.4.0 build): see GGML_GELU_TABLE_SHA256 and the q8 digests in roundActivations.gpu.test.ts.
import type { ActivationRounding } from '../../src/gpu/kernels/roundActivations.ts';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/engine/formats/dtype.ts';

const f = Math.fround;

/**
 * Round half to even, as `_mm256_round_ps(v, _MM_ROUND_NEAREST)` and ggml's `nearest_int` (v + 1.5·2²³),
 * giving the integer ggml stores: a plain +0, never −0 (q · d then has the sign of d, as in C).
 */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  // Math.round sends every tie up; a tie that landed on an odd integer belongs one below.
  return (r - v === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

/** GGML_FP32_TO_FP16 (F16C `_cvtss_sh(x, 0)`, nearest even) widened back to f32. */
export function roundF16(x: number): number {
  return f16ToF32(f32ToF16(x));
}

/** GGML_FP32_TO_BF16 (nearest even, NaN kept a quiet NaN) widened back to f32. */
export function roundBf16(x: number): number {
  return bf16ToF32(f32ToBf16(x));
}

/** quantize_row_q8_0 / quantize_row_q8_1 (AVX2 path) on one block of 32, decoded as q · fp16(d). */
function q8Block(x: Float32Array, out: Float32Array): void {
  let amax = 0;
  for (const v of x) amax = Math.max(amax, Math.abs(v));
  const d = roundF16(f(amax / 127));
  const id = amax !== 0 ? f(127 / amax) : 0;
  for (let j = 0; j < x.length; j++) out[j] = roundHalfEven(f(x[j] * id)) * d;
}

/** quantize_row_q8_K_ref on one block of 256, decoded as q · d with d = 1/iscale in f32. */
function q8KBlock(x: Float32Array, out: Float32Array): void {
  let max = 0;
  let amax = 0;
  // The first element of largest magnitude wins, with its sign: a later −amax does not replace +amax.
  for (const v of x) {
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  if (amax === 0) {
    out.fill(0);
    return;
  }
  const iscale = f(-127 / max);
  const d = f(1 / iscale);
  for (let j = 0; j < x.length; j++) out[j] = f(Math.min(127, roundHalfEven(f(iscale * x[j]))) * d);
}

/**
 * The sums quantize_row_q8_1 (AVX2 path) keeps beside each block of 32 of x ([rows, K]):
 * y.s = fp16(d · Σq) with d = amax/127 in f32 (not fp16(d)), widened back to f32.
 */
export function q8_1BlockSumsRef(x: Float32Array, K: number): Float32Array {
  if (K % 32 !== 0 || x.length % K !== 0) throw new RangeError(`q8_1: K=${K} is not a multiple of 32`);
  const sums = new Float32Array(x.length / 32);
  for (let b = 0; b < sums.length; b++) {
    const block = x.subarray(32 * b, 32 * b + 32);
    let amax = 0;
    for (const v of block) amax = Math.max(amax, Math.abs(v));
    const d = f(amax / 127);
    const id = amax !== 0 ? f(127 / amax) : 0;
    let sumq = 0;
    for (const v of block) sumq += roundHalfEven(f(v * id));
    sums[b] = roundF16(f(sumq * d));
  }
  return sums;
}

const BLOCK: Record<'q8_0' | 'q8_1' | 'q8_K', number> = { q8_0: 32, q8_1: 32, q8_K: 256 };

/** Every row of x ([rows, K]) rounded as llama.cpp rounds a matmul's activations in `mode`. */
export function roundActivationsRef(x: Float32Array, K: number, mode: ActivationRounding): Float32Array {
  if (mode === 'f16') return x.map(roundF16);
  if (mode === 'bf16') return x.map(roundBf16);
  const block = BLOCK[mode];
  if (K % block !== 0 || x.length % K !== 0) throw new RangeError(`${mode}: K=${K} is not a multiple of ${block}`);
  const out = new Float32Array(x.length);
  const quantize = mode === 'q8_K' ? q8KBlock : q8Block;
  for (let b = 0; b < x.length; b += block) quantize(x.subarray(b, b + block), out.subarray(b, b + block));
  return out;
}

const SQRT_2_OVER_PI = f(0.79788456080286535587989211986876);
const GELU_COEF_A = f(0.044715);

/**
 * ggml_gelu_f32 as the AVX2 build computes it: `0.5f*x*(1.0f + tanhf(SQRT_2_OVER_PI*x*(1.0f +
 * GELU_COEF_A*x*x)))` in f32, with the compiler's contraction of `1.0f + (GELU_COEF_A*x)*x` into a
 * fused multiply-add, emulated by rounding the f64 sum of 1 and the exact f64 product once to f32.
 * With fround(Math.tanh) for glibc's tanhf this reproduces the library's table on every finite f16
 * input; evaluated without the contraction, one entry differs. Below about −3, 1 + tanh cancels in
 * f32 and the table holds a few-bit approximation of GELU, which is why the GPU reads the table
 * instead of evaluating GELU.
 */
export function ggmlGeluF32(x: number): number {
  const inner = f(1 + f(GELU_COEF_A * x) * x);
  const t = f(Math.tanh(f(f(SQRT_2_OVER_PI * x) * inner)));
  return f(f(0.5 * x) * f(1 + t));
}

/** ggml_table_gelu_f16: for every f16 bit pattern h, the f16 bits of ggml_gelu_f32(f16 h). */
export function ggmlGeluTableRef(): Uint16Array {
  return Uint16Array.from({ length: 0x10000 }, (_, h) => f32ToF16(ggmlGeluF32(f16ToF32(h))));
}

/** ggml_vec_gelu_f32 / ggml_vec_geglu_f32 under GGML_GELU_FP16 for one gate value g (up = 1 for plain GELU). */
export function ggmlGeluGated(g: number, up: number, table: Uint16Array): number {
  if (g <= -10) return 0;
  if (g >= 10) return f(g * up);
  return f(f16ToF32(table[f32ToF16(g)]) * up);
}

/**
 * Rows ([7, K] f32, K a multiple of 256 or of 32) that reach the corners of every rounding mode:
 *   0  uniform in (−1, 1)
 *   1  all zeros (q8: d = 0 and id = 0; q8_K: the all-zero block)
 *   2  small values with one huge one, so every other element quantizes to 0 or ±1
 *   3  a negative element of largest magnitude (q8_K's signed max, iscale > 0), then +that same
 *      magnitude later in the row (it must not replace the first)
 *   4  half-integers with a block max of ±127, so x·id lands exactly on ties (q8_0/q8_1: id = 1;
 *      q8_K: iscale = ∓1), which round to even
 *   5  exact f16 and bf16 midpoints and their f32 neighbours (f16/bf16 ties)
 *   6  magnitudes spread over 10⁻⁴…10² with random signs
 */
export function roundingTestRows(K: number, random: () => number): Float32Array {
  const rows = 7;
  const x = new Float32Array(rows * K);
  const row = (r: number) => x.subarray(r * K, (r + 1) * K);
  row(0).set(Float32Array.from({ length: K }, () => random() * 2 - 1));
  row(2).set(Float32Array.from({ length: K }, () => (random() * 2 - 1) * 0.1));
  row(2)[K >> 1] = 30000;
  row(3).set(Float32Array.from({ length: K }, () => (random() * 2 - 1) * 1e-3));
  for (let b = 0; b < K; b += 32) {
    row(3)[b + 3] = -2e-3;
    row(3)[b + 20] = 2e-3;
  }
  row(4).set(Float32Array.from({ length: K }, (_, j) => (j % 32 === 0 ? (j % 64 ? -127 : 127) : Math.floor(random() * 254) - 126.5)));
  const f32Step = (v: number, step: number) => {
    const w = new Float32Array([v]);
    new Uint32Array(w.buffer)[0] += step;
    return w[0];
  };
  row(5).set(
    Float32Array.from({ length: K }, (_, j) => {
      const sign = random() < 0.5 ? -1 : 1;
      // An f16 with a random exponent in 2^−20…2^14 and mantissa, plus half its step: a tie.
      const e = Math.floor(random() * 35) - 20;
      const m = Math.floor(random() * 1024);
      const step = e < -14 ? 2 ** -24 : 2 ** (e - 10);
      const half = e < -14 ? m * 2 ** -24 : 2 ** e * (1 + m / 1024);
      const tie = half + step / 2;
      // A bf16 tie: 8 significant bits plus a half step.
      const bfTie = 2 ** e * (1 + Math.floor(random() * 128) / 128 + 1 / 256);
      const v = [tie, f32Step(tie, 1), f32Step(tie, -1), bfTie][j % 4];
      return sign * v;
    }),
  );
  row(6).set(Float32Array.from({ length: K }, () => (random() < 0.5 ? -1 : 1) * 10 ** (random() * 6 - 4)));
  return x;
}
