// Float64 references for rotary position embedding and causal grouped-query attention.
// Written as plainly as possible (no tiling, no online softmax) so they can be trusted
// to check the tiled f32 kernels.

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
