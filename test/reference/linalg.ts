// Float64 references for the Llama forward-pass kernels. Inputs are the same f32
// values the GPU sees; every sum and product here is done in float64, so the only
// error a comparison measures is the kernel's own.

/** y[i, n] = Σ_k x[i, k] · w[n, k] for i < m: x is [m, K], w is [N, K] (out × in, as PyTorch Linear). */
export function matmulNT(x: ArrayLike<number>, w: ArrayLike<number>, m: number, K: number, N: number): Float64Array {
  const y = new Float64Array(m * N);
  for (let i = 0; i < m; i++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += x[i * K + k] * w[n * K + k];
      y[i * N + n] = sum;
    }
  }
  return y;
}

/**
 * The largest Σ_k |x[i, k]| · |w[n, k]| over all outputs: the scale that bounds the
 * rounding error of an f32 dot product (error ≲ c·√K·ε·Σ|x||w| for random signs).
 */
export function matmulAbsMax(x: ArrayLike<number>, w: ArrayLike<number>, m: number, K: number, N: number): number {
  const abs = (a: ArrayLike<number>) => Float64Array.from(a as ArrayLike<number>, Math.abs);
  return matmulNT(abs(x), abs(w), m, K, N).reduce((a, b) => Math.max(a, b), 0);
}

/** out[i, :] = table[ids[i], :], or zeros when ids[i] ≥ V. */
export function embedding(ids: ArrayLike<number>, table: ArrayLike<number>, D: number, V: number): Float64Array {
  const out = new Float64Array(ids.length * D);
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] >= V) continue;
    for (let d = 0; d < D; d++) out[i * D + d] = table[ids[i] * D + d];
  }
  return out;
}

/** out[i, :] = x[i, :] / √(mean(x[i, :]²) + eps) · weight, for the m rows of x. */
export function rmsnorm(x: ArrayLike<number>, weight: ArrayLike<number>, m: number, D: number, eps: number): Float64Array {
  const out = new Float64Array(m * D);
  for (let i = 0; i < m; i++) {
    let sumSq = 0;
    for (let d = 0; d < D; d++) sumSq += x[i * D + d] ** 2;
    const scale = 1 / Math.sqrt(sumSq / D + eps);
    for (let d = 0; d < D; d++) out[i * D + d] = x[i * D + d] * scale * weight[d];
  }
  return out;
}

/** out[i, :] = (x[i, :] − mean) / √(variance + eps) · weight + bias, the biased variance of each of the m rows (gpt2). */
export function layernorm(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  m: number,
  D: number,
  eps: number,
): Float64Array {
  const out = new Float64Array(m * D);
  for (let i = 0; i < m; i++) {
    let sum = 0;
    for (let d = 0; d < D; d++) sum += x[i * D + d];
    const mean = sum / D;
    let sumSq = 0;
    for (let d = 0; d < D; d++) sumSq += (x[i * D + d] - mean) ** 2;
    const scale = 1 / Math.sqrt(sumSq / D + eps);
    for (let d = 0; d < D; d++) out[i * D + d] = (x[i * D + d] - mean) * scale * weight[d] + bias[d];
  }
  return out;
}

export function add(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return Float64Array.from(x as ArrayLike<number>, (v, j) => v + y[j]);
}

/** y[i, j] + bias[j] for every row i of y ([rows, N]). */
export function biasAdd(y: ArrayLike<number>, bias: ArrayLike<number>, N: number): Float64Array {
  return Float64Array.from(y as ArrayLike<number>, (v, i) => v + bias[i % N]);
}

export function silu(g: number): number {
  return g / (1 + Math.exp(-g));
}

/** out[j] = act(gate[j]) · up[j]: the gated feed-forward of Llama (silu, SwiGLU) or Gemma (gelu_tanh, GeGLU). */
export function swiglu(gate: ArrayLike<number>, up: ArrayLike<number>, activation: 'silu' | 'gelu_tanh' = 'silu'): Float64Array {
  const act = activation === 'silu' ? silu : gelu;
  return Float64Array.from(gate as ArrayLike<number>, (g, j) => act(g) * up[j]);
}

/**
 * GELU, tanh approximation (gelu_pytorch_tanh, ggml_gelu): ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
 * Evaluated as x / (1 + e^(−2u)), which is the same function (½(1 + tanh u) = 1/(1 + e^(−2u)))
 * without the cancellation of 1 + tanh(u) that would ruin even float64 for x below about −6.
 */
export function gelu(x: number): number {
  const u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3);
  return x / (1 + Math.exp(-2 * u));
}

/** cap · tanh(x / cap) element-wise: Gemma 2's soft-capping of attention scores and final logits. */
export function softcap(x: ArrayLike<number>, cap: number): Float64Array {
  return Float64Array.from(x as ArrayLike<number>, (v) => cap * Math.tanh(v / cap));
}

/** Index of the largest of logits[offset, offset + N); the first one on ties, as llama2.c. */
export function argmax(logits: ArrayLike<number>, offset = 0, N = logits.length - offset): number {
  let best = 0;
  for (let i = 1; i < N; i++) if (logits[offset + i] > logits[offset + best]) best = i;
  return best;
}
