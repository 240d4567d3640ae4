import { CorruptFileError, UnsupportedArchitectureError } from '../../protocol/errors.ts';
import type { ModelConfig } from '../config.ts';
import { elementCount } from '../formats/dtype.ts';
import { dequantizeRowK, isKType } from '../formats/kquant.ts';
import { dequantizeRow, isPackedType } from '../formats/quant.ts';
import { readTensorF32, type TensorInfo } from '../formats/source.ts';
import type { LlamaTensors } from './weights.ts';

// What the decoder (llama.ts) derives from a checkpoint's tensors before anything goes to the GPU.

/**
 * A tensor's values as f32, whatever its type: F32/F16/BF16 widened, quantized types through
 * the same dequantization the kernels do. For the small tensors the engine keeps in f32
 * whatever the file stores (the position table, RoPE frequency factors).
 */
export async function decodeTensor(t: TensorInfo): Promise<Float32Array> {
  const count = elementCount(t.shape);
  if (isKType(t.dtype)) return dequantizeRowK(t.dtype, await t.source.read(t.offset, t.byteLength), count);
  if (isPackedType(t.dtype)) return dequantizeRow(t.dtype, await t.source.read(t.offset, t.byteLength), count);
  return readTensorF32(t);
}

/**
 * Llama 3's RoPE stretch as per-pair divisors of the rotation frequency, computed as llama.cpp's
 * converter writes `rope_freqs.weight` (so a safetensors checkpoint and its GGUF rotate alike):
 * wavelengths shorter than originalContext / highFreqFactor keep their frequency, those longer
 * than originalContext / lowFreqFactor are slowed by `factor`, and the band between blends the two.
 */
export function llama3RopeFactors(c: Pick<ModelConfig, 'ropeDim' | 'ropeTheta' | 'ropeScaling'>): Float32Array {
  const s = c.ropeScaling!;
  const lowFreqWavelength = s.originalContextLength / s.lowFreqFactor;
  const highFreqWavelength = s.originalContextLength / s.highFreqFactor;
  const factors = new Float32Array(c.ropeDim / 2);
  for (let j = 0; j < factors.length; j++) {
    // The converter forms the base frequencies in f32 as here; it carries on in f32 (torch) where
    // this goes on in float64, which moves a blended factor by a few f32 ulps at most.
    const frequency = Math.fround(1 / Math.fround(Math.pow(c.ropeTheta, Math.fround((2 * j) / c.ropeDim))));
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength < highFreqWavelength) factors[j] = 1;
    else if (wavelength > lowFreqWavelength) factors[j] = s.factor;
    else {
      const smooth = (s.originalContextLength / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      factors[j] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return factors;
}

/** Checks every tensor the config calls for is there with the shape it implies; CorruptFileError names the first that is not. */
export function checkShapes(c: ModelConfig, t: LlamaTensors, contextLength: number): void {
  const D = c.hiddenSize;
  const F = c.intermediateSize;
  const qDim = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  const expect = (info: TensorInfo | undefined, shape: number[], what: string) => {
    if (!info) throw new CorruptFileError(`The checkpoint has no ${what}, which its ${c.architecture} config needs.`);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))
      throw new CorruptFileError(`Tensor ${info.name} has shape [${info.shape}], but the config implies [${shape}].`);
  };
  const optional = (info: TensorInfo | undefined, shape: number[]) => info && expect(info, shape, '');
  const layerNorm = c.norm === 'layer';
  // The ungated feed-forward kernel is GELU's (gpt2); nothing else ships one.
  if (!c.gatedFfn && c.activation !== 'gelu_tanh') throw new UnsupportedArchitectureError(`An ungated ${c.activation} feed-forward is not supported.`);
  expect(t.embedding, [c.vocabSize, D], 'token embedding');
  expect(t.outputNorm, [D], 'output norm');
  if (layerNorm) expect(t.outputNormBias, [D], 'output norm bias');
  optional(t.output, [c.vocabSize, D]);
  if (c.positions === 'learned') {
    const table = t.positionEmbedding;
    if (!table) throw new CorruptFileError(`The checkpoint has no position embedding, which its ${c.architecture} config needs.`);
    expect(table, [table.shape[0], D], 'position embedding');
    if (table.shape[0] < contextLength) throw new RangeError(`A context of ${contextLength} positions exceeds the ${table.shape[0]} the model learned.`);
  }
  optional(t.ropeFreqs, [c.ropeDim / 2]);
  for (const l of t.layers) {
    expect(l.attnNorm, [D], 'attention norm');
    if (layerNorm) expect(l.attnNormBias, [D], 'attention norm bias');
    expect(l.q, [qDim, D], 'query projection');
    expect(l.k, [kvDim, D], 'key projection');
    expect(l.v, [kvDim, D], 'value projection');
    optional(l.qBias, [qDim]);
    optional(l.kBias, [kvDim]);
    optional(l.vBias, [kvDim]);
    if (c.qkNorm) {
      expect(l.qNorm, [c.headDim], 'query head norm');
      expect(l.kNorm, [c.headDim], 'key head norm');
    }
    expect(l.o, [D, qDim], 'attention output projection');
    optional(l.oBias, [D]);
    expect(l.ffnNorm, [D], 'feed-forward norm');
    if (layerNorm) expect(l.ffnNormBias, [D], 'feed-forward norm bias');
    if (c.gatedFfn) expect(l.gate, [F, D], 'feed-forward gate');
    expect(l.up, [F, D], 'feed-forward up projection');
    optional(l.upBias, [F]);
    expect(l.down, [D, F], 'feed-forward down projection');
    optional(l.downBias, [D]);
    if (c.postNorms) {
      expect(l.postAttnNorm, [D], 'post-attention norm');
      expect(l.postFfnNorm, [D], 'post-feed-forward norm');
    }
  }
}
