// Float64 references for rotary position embedding and causal grouped-query attention.
// Written as plainly as possible (no tiling, no online softmax) so they can be trusted
// to check the tiled f32 kernels.
import { f16ToF32, f32ToF16 } from '../../src/engine/formats/dtype.ts';

export type RopeMode = 'adjacent' | 'halves';

export interface RopeShape {
  m: number;
  nHeads: number;
  headDim: number;
  ropeDim: number;
  theta: number;
  mode: RopeMode;
  pos0: number;
  /** [ropeDim/2] divisors of the pair frequencies (llama.cpp's rope_freqs); 1 when absent. */
  freqFactors?: ArrayLike<number>;
}

/**
 * The rotation angle of pair j at position p. The angle is formed in f32 on purpose,
 * as llama2.c's run.c does (`1.0f / powf(theta, 2j / (float)ropeDim)`, then `pos * freq`):
 * at positions in the hundreds the f32 rounding of the angle is larger than the
 * kernel's own error, and the models were run this way. Only cos/sin are taken in f64.
 * A frequency factor divides the f32 inverse frequency, again rounded to f32.
 */
export function ropeAngle(p: number, j: number, ropeDim: number, theta: number, factor = 1): number {
  const exponent = Math.fround((2 * j) / ropeDim);
  const invFreq = Math.fround(Math.fround(1 / Math.fround(Math.pow(theta, exponent))) / factor);
  return Math.fround(p * invFreq);
}

/** x is [m, nHeads, headDim]; returns the rotated rows, same layout. */
export function ropeRef(x: ArrayLike<number>, s: RopeShape): Float64Array {
  const { m, nHeads, headDim, ropeDim, theta, mode, pos0, freqFactors } = s;
  const out = Float64Array.from(x);
  const half = ropeDim / 2;
  for (let i = 0; i < m; i++) {
    for (let h = 0; h < nHeads; h++) {
      const base = (i * nHeads + h) * headDim;
      for (let j = 0; j < half; j++) {
        const angle = ropeAngle(pos0 + i, j, ropeDim, theta, freqFactors?.[j]);
        const c = Math.cos(angle);
        const sn = Math.sin(angle);
        const ia = base + (mode === 'adjacent' ? 2 * j : j);
        const ib = base + (mode === 'adjacent' ? 2 * j + 1 : j + half);
        const a = x[ia];
        const b = x[ib];
        out[ia] = a * c - b * sn;
        out[ib] = a * sn + b * c;
      }
    }
  }
  return out;
}

export interface AttentionShape {
  m: number;
  pos0: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  scale: number;
  /** Scores (after scale) become softcap · tanh(score / softcap). */
  softcap?: number;
  /** Query position p sees only keys k with p − window < k ≤ p. */
  window?: number;
}

/**
 * q is [m, nHeads, headDim]; k and v are [rows, nKvHeads, headDim] holding positions
 * 0 .. pos0+m-1 (later rows are ignored). Query i sits at position pos0+i and sees
 * positions 0 ..= pos0+i, or with a window only the last `window` of them (rows before are
 * never read); query head h reads KV head floor(h / (nHeads / nKvHeads)).
 */
export function attentionRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, s: AttentionShape): Float64Array {
  const { m, pos0, nHeads, nKvHeads, headDim, scale, softcap, window = Infinity } = s;
  const group = nHeads / nKvHeads;
  const out = new Float64Array(m * nHeads * headDim);
  for (let i = 0; i < m; i++) {
    const last = pos0 + i;
    const first = Math.max(0, last - window + 1);
    const scores = new Float64Array(last + 1);
    for (let h = 0; h < nHeads; h++) {
      const kvHead = Math.floor(h / group);
      const qBase = (i * nHeads + h) * headDim;
      let max = -Infinity;
      for (let j = first; j <= last; j++) {
        const kBase = (j * nKvHeads + kvHead) * headDim;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += q[qBase + d] * k[kBase + d];
        scores[j] = softcap === undefined ? dot * scale : softcap * Math.tanh((dot * scale) / softcap);
        max = Math.max(max, scores[j]);
      }
      let sum = 0;
      for (let j = first; j <= last; j++) {
        scores[j] = Math.exp(scores[j] - max);
        sum += scores[j];
      }
      for (let j = first; j <= last; j++) {
        const vBase = (j * nKvHeads + kvHead) * headDim;
        const w = scores[j] / sum;
        for (let d = 0; d < headDim; d++) out[qBase + d] += w * v[vBase + d];
      }
    }
  }
  return out;
}

/**
 * The words of a packed-f16 KV cache holding x: element e in word e / 2, the even element in
 * the low 16 bits, each rounded to nearest f16, ties to even (dtype.ts's f32ToF16, which is
 * tested bit for bit against hand-worked patterns).
 */
export function packF16(x: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(x.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (f32ToF16(x[2 * i]) | (f32ToF16(x[2 * i + 1]) << 16)) >>> 0;
  return out;
}

/** The values a packed-f16 cache gives back for x: each rounded to f16 (as packF16) and widened exactly. */
export function roundF16(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => f16ToF32(f32ToF16(v)));
}

const f32Word = new Float32Array(1);
const f32Bits = new Uint32Array(f32Word.buffer);
/** The f32 next to v (v > 0) away from zero (step 1) or towards it (step −1). */
function f32Step(v: number, step: number): number {
  f32Word[0] = v;
  f32Bits[0] += step;
  return f32Word[0];
}

/**
 * Inputs that pin down f32 → f16 rounding, all finite and non-zero: every positive half
 * (subnormals included), the exact midpoint to the next one (a tie: to even sends half of them
 * up and half down by the last bit's parity; the last, 65520, goes to infinity) and the two f32
 * neighbours of each midpoint, which must round away from the tie. Then the same negated.
 */
export function f16RoundingSweep(): Float32Array {
  const values: number[] = [];
  for (let h = 1; h < 0x7c00; h++) {
    const a = f16ToF32(h);
    // Past the largest half, 65504, the next step of its binade would be 2^16.
    const mid = (a + (h === 0x7bff ? 2 ** 16 : f16ToF32(h + 1))) / 2;
    values.push(a, mid, f32Step(mid, -1), f32Step(mid, 1));
  }
  return Float32Array.from([...values, ...values.map((v) => -v)]);
}
