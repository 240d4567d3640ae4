// A random-weight Llama GGUF laid out as llama.cpp's converter writes one: the real tensor names,
// shapes and metadata, at a size a software GPU runs in seconds. Both our engine and llama.cpp
// load it, so whole-model comparisons need no downloaded checkpoint. No Node APIs: GPU tests
// build models with it in the browser too (scripts/randomGguf.ts writes one to disk).
import type { GgufValue } from '../src/engine/formats/gguf.ts';
import { writeGguf, type GgufTensorInput, type GgufTypedValue } from '../src/engine/formats/ggufWriter.ts';
import { isKType, quantizeRowK, type KType } from '../src/engine/formats/kquant.ts';
import { quantizeRow, type PackedType } from '../src/engine/formats/quant.ts';
import { Rng } from '../src/engine/sampling.ts';

/** The type of every matrix; 1-D norm weights stay F32 whatever is asked, as in llama.cpp. */
export type RandomLlamaType = 'F32' | 'F16' | Exclude<PackedType, 'F16' | 'BF16'> | KType;

export interface RandomLlamaOptions {
  seed: number;
  type: RandomLlamaType;
  /** Multiples of 256, so every weight row is whole K-quant super-blocks once quantized. */
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  contextLength: number;
  ropeTheta: number;
  rmsNormEps: number;
  /** No output.weight: the LM head reuses token_embd.weight. */
  tied: boolean;
}

export const RANDOM_LLAMA_DEFAULTS: RandomLlamaOptions = {
  seed: 1,
  type: 'F32',
  hiddenSize: 256,
  intermediateSize: 768,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  contextLength: 2048,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  tied: false,
};

/**
 * llama.cpp's llama_ftype of each weight type (general.file_type). A file whose matrices are all
 * one K type gets the number llama.cpp's loader infers for it: Q4_K_M, Q5_K_M, Q6_K.
 */
export const FILE_TYPE: Record<RandomLlamaType, number> = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q4_K: 15, Q5_K: 17, Q6_K: 18 };

/*
 * Scales, as standard deviations. A linear layer's weights have 1/√fan_in, so each projection
 * keeps the residual stream near RMS 1 and no layer drowns the others. Two choices make the
 * model a useful test rather than noise:
 * - Q and K have QK_SCALE/√hidden: attention scores then spread with standard deviation
 *   QK_SCALE² ≈ 2.3, so each head attends to a few earlier tokens and the prediction depends on
 *   the context (with 1/√hidden, attention is near uniform and position hardly matters).
 * - The logits spread with standard deviation LOGIT_SCALE (through output_norm's gain when the
 *   head is tied to the unit-variance embedding): over 512 tokens the largest logit then stands
 *   a few units above the next, so the most likely token typically holds half the mass and the
 *   top-1 comparison asks for a decision a rounding error cannot flip (with logits of unit
 *   spread, 512 near-equal probabilities make the argmax a coin toss).
 * - A tied head scores the embedding against the final state, which still holds the input
 *   token's own embedding: at unit scale that term alone (≈ √hidden · its share of the state)
 *   would make every prediction "repeat the input". Its embedding is TIED_EMBED_SCALE instead,
 *   small beside the layers' output, and output_norm's gain restores LOGIT_SCALE.
 * Norm weights are 1 ± 0.25 so that a kernel reading the wrong norm weight shows.
 */
const QK_SCALE = 1.5;
const LOGIT_SCALE = 6;
const TIED_EMBED_SCALE = 0.05;
const NORM_JITTER = 0.25;

/** Uniform on [−a, a] has standard deviation a/√3. */
function uniform(rng: Rng, n: number, std: number, mean = 0): Float32Array {
  const a = std * Math.sqrt(3);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + (rng.next() * 2 - 1) * a;
  return out;
}

/** The `tokenizer.ggml.*` entries llama.cpp's converter writes for a SentencePiece Llama, typed for the writer. */
export function tokenizerMetadata(metadata: Record<string, GgufValue>): Record<string, GgufTypedValue> {
  const get = (key: string) => {
    const v = metadata[key];
    if (v === undefined) throw new Error(`the tokenizer source has no ${key}`);
    return v;
  };
  return {
    'tokenizer.ggml.model': { type: 'string', value: get('tokenizer.ggml.model') as string },
    'tokenizer.ggml.pre': { type: 'string', value: 'default' },
    'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: get('tokenizer.ggml.tokens') as string[] },
    'tokenizer.ggml.scores': { type: 'array', itemType: 'f32', value: get('tokenizer.ggml.scores') as number[] },
    'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', value: get('tokenizer.ggml.token_type') as number[] },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: get('tokenizer.ggml.bos_token_id') as number },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: get('tokenizer.ggml.eos_token_id') as number },
    'tokenizer.ggml.unknown_token_id': { type: 'u32', value: get('tokenizer.ggml.unknown_token_id') as number },
    'tokenizer.ggml.add_bos_token': { type: 'bool', value: true },
    'tokenizer.ggml.add_eos_token': { type: 'bool', value: false },
  };
}

/** A random Llama GGUF with the given vocabulary; options default to RANDOM_LLAMA_DEFAULTS. */
export function randomLlamaGguf(tokenizer: Record<string, GgufTypedValue>, options: Partial<RandomLlamaOptions> = {}): Uint8Array {
  const o = { ...RANDOM_LLAMA_DEFAULTS, ...options };
  const tokens = tokenizer['tokenizer.ggml.tokens'];
  if (tokens?.type !== 'array') throw new Error('the tokenizer metadata has no tokenizer.ggml.tokens array');
  const vocab = tokens.value.length;
  const D = o.hiddenSize;
  const F = o.intermediateSize;
  const headDim = D / o.heads;
  if (!Number.isInteger(headDim) || o.heads % o.kvHeads !== 0) throw new RangeError(`${o.heads} heads and ${o.kvHeads} KV heads do not divide hidden size ${D}`);
  for (const [name, n] of [['hidden size', D], ['intermediate size', F]] as const)
    if (n % 256 !== 0) throw new RangeError(`the ${name} ${n} is not a multiple of 256`);
  const qDim = o.heads * headDim;
  const kvDim = o.kvHeads * headDim;

  const rng = new Rng(o.seed);
  const tensors: GgufTensorInput[] = [];
  const add = (name: string, shape: number[], data: Float32Array) => {
    const type = shape.length === 1 ? 'F32' : o.type;
    if (type === 'F32' || type === 'F16') tensors.push({ name, dtype: type, shape, data });
    // Rows are whole blocks (hidden and intermediate sizes are multiples of 256), so quantizing
    // the tensor's values end to end is quantizing it row by row.
    else tensors.push({ name, dtype: type, shape, bytes: isKType(type) ? quantizeRowK(type, data) : quantizeRow(type, data) });
  };
  const norm = (name: string) => add(name, [D], uniform(rng, D, NORM_JITTER / Math.sqrt(3), 1));
  const linear = (name: string, out: number, fanIn: number, gain = 1) => add(name, [out, fanIn], uniform(rng, out * fanIn, gain / Math.sqrt(fanIn)));

  const embedScale = o.tied ? TIED_EMBED_SCALE : 1;
  add('token_embd.weight', [vocab, D], uniform(rng, vocab * D, embedScale));
  for (let i = 0; i < o.layers; i++) {
    norm(`blk.${i}.attn_norm.weight`);
    linear(`blk.${i}.attn_q.weight`, qDim, D, QK_SCALE);
    linear(`blk.${i}.attn_k.weight`, kvDim, D, QK_SCALE);
    linear(`blk.${i}.attn_v.weight`, kvDim, D);
    linear(`blk.${i}.attn_output.weight`, D, qDim);
    norm(`blk.${i}.ffn_norm.weight`);
    linear(`blk.${i}.ffn_gate.weight`, F, D);
    linear(`blk.${i}.ffn_up.weight`, F, D);
    linear(`blk.${i}.ffn_down.weight`, D, F);
  }
  // The head's rows have norm LOGIT_SCALE either way: through its own weights, or through the
  // output norm's gain when it is the embedding (rows of norm embedScale·√D).
  const gain = o.tied ? LOGIT_SCALE / (embedScale * Math.sqrt(D)) : 1;
  add('output_norm.weight', [D], uniform(rng, D, (gain * NORM_JITTER) / Math.sqrt(3), gain));
  if (!o.tied) linear('output.weight', vocab, D, LOGIT_SCALE);

  const u32 = (value: number) => ({ type: 'u32', value }) as const;
  const f32 = (value: number) => ({ type: 'f32', value }) as const;
  return writeGguf({
    metadata: {
      'general.architecture': { type: 'string', value: 'llama' },
      'general.type': { type: 'string', value: 'model' },
      'general.name': { type: 'string', value: `random llama ${D}x${o.layers} seed ${o.seed}` },
      'llama.block_count': u32(o.layers),
      'llama.context_length': u32(o.contextLength),
      'llama.embedding_length': u32(D),
      'llama.feed_forward_length': u32(F),
      'llama.attention.head_count': u32(o.heads),
      'llama.attention.head_count_kv': u32(o.kvHeads),
      'llama.rope.freq_base': f32(o.ropeTheta),
      'llama.attention.layer_norm_rms_epsilon': f32(o.rmsNormEps),
      'llama.attention.key_length': u32(headDim),
      'llama.attention.value_length': u32(headDim),
      'llama.vocab_size': u32(vocab),
      'llama.rope.dimension_count': u32(headDim),
      'general.file_type': u32(FILE_TYPE[o.type]),
      'general.quantization_version': u32(2),
      ...tokenizer,
    },
    tensors,
  });
}
