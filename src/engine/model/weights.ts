import { MissingFileError } from '../../protocol/errors.ts';
import { createStorage } from '../../gpu/buffers.ts';
import type { Gpu } from '../../gpu/device.ts';
import { elementCount } from '../formats/dtype.ts';
import { readTensorF32Pieces, type ByteSource, type TensorInfo } from '../formats/source.ts';

/** The tensors of one Llama-family checkpoint, under names that do not depend on the file format. */
export interface LlamaTensors {
  embedding: TensorInfo;
  /** Absent when the model ties its output projection to the embedding. */
  output?: TensorInfo;
  outputNorm: TensorInfo;
  layers: LlamaLayerTensors[];
}

export interface LlamaLayerTensors {
  attnNorm: TensorInfo;
  q: TensorInfo;
  k: TensorInfo;
  v: TensorInfo;
  o: TensorInfo;
  ffnNorm: TensorInfo;
  gate: TensorInfo;
  up: TensorInfo;
  down: TensorInfo;
}

type Naming = {
  embedding: string;
  output: string;
  outputNorm: string;
  layer: (i: number, part: keyof LlamaLayerTensors) => string;
};

// GGUF names come from llama.cpp's converter; HF names from transformers' LlamaForCausalLM.
const GGUF: Naming = {
  embedding: 'token_embd.weight',
  output: 'output.weight',
  outputNorm: 'output_norm.weight',
  layer: (i, part) =>
    `blk.${i}.${{ attnNorm: 'attn_norm', q: 'attn_q', k: 'attn_k', v: 'attn_v', o: 'attn_output', ffnNorm: 'ffn_norm', gate: 'ffn_gate', up: 'ffn_up', down: 'ffn_down' }[part]}.weight`,
};

const HF: Naming = {
  embedding: 'model.embed_tokens.weight',
  output: 'lm_head.weight',
  outputNorm: 'model.norm.weight',
  layer: (i, part) =>
    `model.layers.${i}.${{ attnNorm: 'input_layernorm', q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj', ffnNorm: 'post_attention_layernorm', gate: 'mlp.gate_proj', up: 'mlp.up_proj', down: 'mlp.down_proj' }[part]}.weight`,
};

const LAYER_PARTS: (keyof LlamaLayerTensors)[] = ['attnNorm', 'q', 'k', 'v', 'o', 'ffnNorm', 'gate', 'up', 'down'];

/** Finds every tensor the Llama forward pass needs, and says which one is missing if any. */
export function llamaTensors(format: 'gguf' | 'safetensors', tensors: TensorInfo[], layers: number): LlamaTensors {
  const naming = format === 'gguf' ? GGUF : HF;
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const need = (name: string): TensorInfo => {
    const t = byName.get(name);
    if (!t) throw new MissingFileError(`The checkpoint has no tensor "${name}".`, 'The weights file is incomplete or belongs to another architecture.');
    return t;
  };
  return {
    embedding: need(naming.embedding),
    output: byName.get(naming.output),
    outputNorm: need(naming.outputNorm),
    layers: Array.from({ length: layers }, (_, i) => {
      const layer = {} as LlamaLayerTensors;
      for (const part of LAYER_PARTS) layer[part] = need(naming.layer(i, part));
      return layer;
    }),
  };
}

/**
 * f32 elements per upload piece (4 MiB): small beside a 64 MiB store chunk, large enough
 * that a 7B model takes a few thousand writeBuffer calls.
 */
const UPLOAD_PIECE_ELEMENTS = 2 ** 20;

/**
 * Copies a tensor into a new storage buffer a piece at a time, widening each piece to f32,
 * so a tensor of hundreds of MiB never exists whole in JS memory; with a stored source the
 * most a load holds is the chunk being read plus one piece.
 */
/**
 * Bytes a weight tensor takes on the GPU as the engine stores it today: every weight widened
 * to f32. Model pages size their device fit with this, so it changes with the upload below.
 */
export function gpuWeightBytes(t: TensorInfo): number {
  return elementCount(t.shape) * 4;
}

export async function uploadTensor(gpu: Gpu, t: TensorInfo): Promise<GPUBuffer> {
  const buffer = createStorage(gpu, t.name, gpuWeightBytes(t));
  try {
    await readTensorF32Pieces(t, UPLOAD_PIECE_ELEMENTS, (piece, first) =>
      gpu.device.queue.writeBuffer(buffer, first * 4, piece.buffer, piece.byteOffset, piece.byteLength),
    );
  } catch (err) {
    buffer.destroy();
    throw err;
  }
  return buffer;
}

/**
 * The tensors ordered as their bytes lie: file by file, by offset. Checkpoints store them
 * in their own order (HF sorts names), and reading in the forward pass's order instead
 * would fetch the same stored chunk again for every jump back.
 */
export function inFileOrder(tensors: TensorInfo[]): TensorInfo[] {
  const files = new Map<ByteSource, number>();
  for (const t of tensors) if (!files.has(t.source)) files.set(t.source, files.size);
  return [...tensors].sort((a, b) => files.get(a.source)! - files.get(b.source)! || a.offset - b.offset);
}
