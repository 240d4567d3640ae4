import { MissingFileError } from '../../protocol/errors.ts';
import type { TensorInfo } from '../formats/source.ts';

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
