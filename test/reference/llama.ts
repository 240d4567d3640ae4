// A float64 Llama forward pass over a model's weights as their files decode (F32/F16 widened,
// quantized types through dequantizeRow / dequantizeRowK, the f32 values ggml's dequantize_row_*
// gives): the exact model a quantized file describes, with no rounding of activations, to check
// the engine's packed path against what the weights say rather than against another engine.
import type { ModelConfig } from '../../src/engine/config.ts';
import { elementCount } from '../../src/engine/formats/dtype.ts';
import { dequantizeRowK, isKType } from '../../src/engine/formats/kquant.ts';
import { dequantizeRow, isPackedType } from '../../src/engine/formats/quant.ts';
import { readTensorF32, type TensorInfo } from '../../src/engine/formats/source.ts';
import type { LlamaTensors } from '../../src/engine/model/weights.ts';
import { attentionRef, ropeRef, type RopeMode } from './attention.ts';
import { add, embedding, matmulNT, rmsnorm, swiglu } from './linalg.ts';

/** A tensor's values as the engine's kernels decode them. */
export async function decodeTensor(t: TensorInfo): Promise<Float32Array> {
  const count = elementCount(t.shape);
  if (isKType(t.dtype)) return dequantizeRowK(t.dtype, await t.source.read(t.offset, t.byteLength), count);
  if (isPackedType(t.dtype)) return dequantizeRow(t.dtype, await t.source.read(t.offset, t.byteLength), count);
  return readTensorF32(t);
}

/**
 * The logits after every prefix of `ids` (row i predicts the token after ids[i]), [ids.length,
 * vocab] row-major, teacher-forced from position 0.
 */
export async function llamaLogitsRef(c: ModelConfig, tensors: LlamaTensors, ids: number[], ropeMode: RopeMode): Promise<Float64Array> {
  const m = ids.length;
  const D = c.hiddenSize;
  const F = c.intermediateSize;
  const rope = { m, headDim: c.headDim, ropeDim: c.ropeDim, theta: c.ropeTheta, mode: ropeMode, pos0: 0 };
  const linear = async (x: ArrayLike<number>, t: TensorInfo) => matmulNT(x, await decodeTensor(t), m, t.shape[1], t.shape[0]);

  let x = embedding(ids, await decodeTensor(tensors.embedding), D, c.vocabSize);
  for (const l of tensors.layers) {
    const xn = rmsnorm(x, await decodeTensor(l.attnNorm), m, D, c.rmsNormEps);
    const q = ropeRef(await linear(xn, l.q), { ...rope, nHeads: c.heads });
    const k = ropeRef(await linear(xn, l.k), { ...rope, nHeads: c.kvHeads });
    const v = await linear(xn, l.v);
    const attention = attentionRef(q, k, v, { m, pos0: 0, nHeads: c.heads, nKvHeads: c.kvHeads, headDim: c.headDim, scale: 1 / Math.sqrt(c.headDim) });
    x = add(x, await linear(attention, l.o));
    const xf = rmsnorm(x, await decodeTensor(l.ffnNorm), m, D, c.rmsNormEps);
    x = add(x, matmulNT(swiglu(await linear(xf, l.gate), await linear(xf, l.up)), await decodeTensor(l.down), m, F, D));
  }
  return linear(rmsnorm(x, await decodeTensor(tensors.outputNorm), m, D, c.rmsNormEps), tensors.output ?? tensors.embedding);
}
