// A float64 forward pass of every decoder architecture the engine runs, over a model's weights as
// their files decode (F32/F16 widened, quantized types through dequantizeRow / dequantizeRowK, the
// f32 values ggml's dequantize_row_* gives): the exact model a file describes, with no rounding of
// activations, to check the engine against what the weights say rather than against another engine.
// It follows each architecture's reference code (HF transformers), not the engine's kernel order.
import type { ModelConfig } from '../../src/engine/config.ts';
import type { TensorInfo } from '../../src/engine/formats/source.ts';
import { decodeTensor } from '../../src/engine/model/decoderTensors.ts';
import type { LlamaTensors } from '../../src/engine/model/weights.ts';
import { attentionRef, roundF16, ropeRef, type RopeMode } from './attention.ts';
import { add, biasAdd, embedding, gelu, layernorm, matmulNT, rmsnorm, softcap, swiglu } from './linalg.ts';

export { decodeTensor };

/**
 * Llama 3's rope_scaling as HF's `_compute_llama3_parameters` writes it, on the inverse
 * frequencies themselves, returned as the divisor of each pair's frequency.
 */
function llama3Divisors(c: ModelConfig): number[] {
  const { factor, lowFreqFactor, highFreqFactor, originalContextLength } = c.ropeScaling!;
  return Array.from({ length: c.ropeDim / 2 }, (_, j) => {
    const invFreq = Math.fround(1 / Math.fround(Math.pow(c.ropeTheta, Math.fround((2 * j) / c.ropeDim))));
    const wavelength = (2 * Math.PI) / invFreq;
    let scaled = invFreq;
    if (wavelength > originalContextLength / lowFreqFactor) scaled = invFreq / factor;
    else if (wavelength >= originalContextLength / highFreqFactor) {
      const smooth = (originalContextLength / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      scaled = (1 - smooth) * (invFreq / factor) + smooth * invFreq;
    }
    return invFreq / scaled;
  });
}

/**
 * The logits after every prefix of `ids` (row i predicts the token after ids[i]), [ids.length,
 * vocab] row-major, teacher-forced from position 0. With `kvF16`, the keys (after RoPE) and
 * values are rounded to f16 as an f16 KV cache stores them, the one rounding the engine's
 * default cache adds.
 */
export async function llamaLogitsRef(
  c: ModelConfig,
  tensors: LlamaTensors,
  ids: number[],
  ropeMode: RopeMode,
  options: { kvF16?: boolean } = {},
): Promise<Float64Array> {
  const m = ids.length;
  const D = c.hiddenSize;
  const eps = c.rmsNormEps;
  const linear = async (x: ArrayLike<number>, t: TensorInfo, bias?: TensorInfo) => {
    const y = matmulNT(x, await decodeTensor(t), m, t.shape[1], t.shape[0]);
    return bias ? biasAdd(y, await decodeTensor(bias), t.shape[0]) : y;
  };
  // HF Gemma scales by (1 + w); llama.cpp's converter stores w + 1 instead.
  const rmsWeight = async (t: TensorInfo) => (await decodeTensor(t)).map((w) => w + c.normWeightOffset);
  const rms = async (x: ArrayLike<number>, weight: TensorInfo, rows = m, width = D) => rmsnorm(x, await rmsWeight(weight), rows, width, eps);
  // The block norms; head norms and post-norms are RMSNorm in every architecture that has them.
  const norm = async (x: ArrayLike<number>, weight: TensorInfo, bias: TensorInfo | undefined) =>
    c.norm === 'layer' ? layernorm(x, await decodeTensor(weight), await decodeTensor(bias!), m, D, eps) : rms(x, weight);
  const llama3 = tensors.ropeFreqs ? [...(await decodeTensor(tensors.ropeFreqs))] : c.ropeScaling ? llama3Divisors(c) : undefined;
  // Linear scaling divides positions, that is every frequency, on top of any Llama 3 divisor.
  const linearFactor = c.ropeLinearFactor ?? 1;
  const globalFactors = llama3 || linearFactor !== 1 ? Array.from({ length: c.ropeDim / 2 }, (_, j) => (llama3?.[j] ?? 1) * linearFactor) : undefined;

  let x: Float64Array = embedding(ids, await decodeTensor(tensors.embedding), D, c.vocabSize).map((v) => v * c.embeddingScale);
  if (c.positions === 'learned') {
    const table = await decodeTensor(tensors.positionEmbedding!);
    x = add(x, table.subarray(0, m * D));
  }
  for (const [i, l] of tensors.layers.entries()) {
    const sliding = c.slidingLayers?.[i] === true;
    const xn = await norm(x, l.attnNorm, l.attnNormBias);
    let q = await linear(xn, l.q, l.qBias);
    let k = await linear(xn, l.k, l.kBias);
    const v = await linear(xn, l.v, l.vBias);
    if (c.qkNorm) {
      q = await rms(q, l.qNorm!, m * c.heads, c.headDim);
      k = await rms(k, l.kNorm!, m * c.kvHeads, c.headDim);
    }
    if (c.positions === 'rope') {
      // Gemma 3's sliding layers rotate with their own base and no frequency scaling.
      const local = sliding && c.ropeThetaLocal !== undefined;
      const freqFactors = local ? undefined : globalFactors;
      const theta = local ? c.ropeThetaLocal! : c.ropeTheta;
      const rope = { m, headDim: c.headDim, ropeDim: c.ropeDim, theta, mode: ropeMode, pos0: 0, ...(freqFactors ? { freqFactors } : {}) };
      q = ropeRef(q, { ...rope, nHeads: c.heads });
      k = ropeRef(k, { ...rope, nHeads: c.kvHeads });
    }
    const cached = (t: ArrayLike<number>) => (options.kvF16 ? roundF16(t) : t);
    const attention = attentionRef(q, cached(k), cached(v), {
      m,
      pos0: 0,
      nHeads: c.heads,
      nKvHeads: c.kvHeads,
      headDim: c.headDim,
      scale: c.attentionScale,
      ...(c.attnSoftcap !== undefined ? { softcap: c.attnSoftcap } : {}),
      ...(sliding && c.slidingWindow !== undefined ? { window: c.slidingWindow } : {}),
    });
    let attnOut = await linear(attention, l.o, l.oBias);
    if (c.postNorms) attnOut = await rms(attnOut, l.postAttnNorm!);
    x = add(x, attnOut);

    const xf = await norm(x, l.ffnNorm, l.ffnNormBias);
    const up = await linear(xf, l.up, l.upBias);
    const hidden = c.gatedFfn ? swiglu(await linear(xf, l.gate!), up, c.activation) : up.map(gelu);
    let ffnOut = await linear(hidden, l.down, l.downBias);
    if (c.postNorms) ffnOut = await rms(ffnOut, l.postFfnNorm!);
    x = add(x, ffnOut);
  }
  const logits = await linear(await norm(x, tensors.outputNorm, tensors.outputNormBias), tensors.output ?? tensors.embedding);
  return c.finalSoftcap === undefined ? logits : softcap(logits, c.finalSoftcap);
}
