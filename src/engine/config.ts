import { CorruptFileError, UnsupportedArchitectureError } from '../protocol/errors.ts';
import type { GgufFile, GgufValue } from './formats/gguf.ts';

/** Llama 3's frequency-dependent RoPE stretch (HF rope_scaling with rope_type 'llama3'). */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContextLength: number;
}

/** The shape of a Llama-family decoder, whichever file format it came from. */
export interface ModelConfig {
  /** Llama, Mistral, SmolLM and TinyStories all run as 'llama'. */
  architecture: 'llama';
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** Leading dimensions of each head that RoPE rotates; equal to headDim for Llama. */
  ropeDim: number;
  /** The output projection reuses the token embedding (no separate output / lm_head weight). */
  tieEmbeddings: boolean;
  /** Present only for checkpoints whose config.json asks for Llama 3 RoPE scaling. */
  ropeScaling?: Llama3RopeScaling;
  bosTokenId?: number;
  eosTokenIds: number[];
}

const hfModelTypes = new Set(['llama', 'mistral']);
const hfArchitectures = new Set(['LlamaForCausalLM', 'MistralForCausalLM']);
const ggufArchitectures = new Set(['llama', 'mistral']);
const SUPPORTED = 'Llama and Mistral';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/** Checks the relations every consumer relies on, so a bad file fails here and not in a kernel. */
function validated(file: string, c: ModelConfig): ModelConfig {
  const fail = (what: string) => new CorruptFileError(`${file}: ${what}`);
  if (c.heads % c.kvHeads !== 0) throw fail(`${c.heads} attention heads are not a multiple of ${c.kvHeads} key/value heads`);
  if (c.ropeDim > c.headDim || c.ropeDim % 2 !== 0) throw fail(`RoPE dimension ${c.ropeDim} does not fit head dimension ${c.headDim}`);
  if (!(c.rmsNormEps > 0) || !(c.ropeTheta > 0)) throw fail('rms_norm_eps and rope_theta must be positive');
  return c;
}

/** Normalises a Hugging Face config.json of a Llama or Mistral checkpoint. */
export function configFromHf(json: unknown): ModelConfig {
  const file = 'config.json';
  if (!isObject(json)) throw new CorruptFileError(`${file}: not a JSON object`);
  const modelType = json.model_type;
  const architectures = Array.isArray(json.architectures) ? json.architectures.filter((a) => typeof a === 'string') : [];
  const known =
    (typeof modelType === 'string' && hfModelTypes.has(modelType)) || architectures.some((a) => hfArchitectures.has(a));
  if (!known) {
    const named = [typeof modelType === 'string' ? `model_type '${modelType}'` : '', ...architectures].filter(Boolean);
    throw new UnsupportedArchitectureError(
      `${file}: ${named.join(', ') || 'an unnamed architecture'} is not supported; Pocket Hub runs ${SUPPORTED} models`,
    );
  }

  const int = (key: string): number => {
    const v = json[key];
    if (!isPositiveInt(v)) throw new CorruptFileError(`${file}: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const optional = <T>(key: string, fallback: T, check: (v: unknown) => v is T): T => {
    const v = json[key];
    if (v === undefined || v === null) return fallback;
    if (!check(v)) throw new CorruptFileError(`${file}: ${key} has an invalid value ${JSON.stringify(v)}`);
    return v;
  };
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
  const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

  // The runtime has no bias terms and only SiLU; refusing here beats silently wrong output.
  for (const key of ['attention_bias', 'mlp_bias']) {
    if (json[key] === true) throw new UnsupportedArchitectureError(`${file}: ${key} is set; biased Llama variants are not supported`);
  }
  const act = optional('hidden_act', 'silu', (v): v is string => typeof v === 'string');
  if (act !== 'silu') throw new UnsupportedArchitectureError(`${file}: hidden_act '${act}' is not supported; only silu is`);

  const hiddenSize = int('hidden_size');
  const heads = int('num_attention_heads');
  const headDim = optional('head_dim', hiddenSize / heads, isPositiveInt);
  if (!Number.isInteger(headDim)) {
    throw new CorruptFileError(`${file}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${heads}`);
  }
  const eos = json.eos_token_id;
  const eosTokenIds = eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos];
  if (!eosTokenIds.every(isId)) throw new CorruptFileError(`${file}: eos_token_id has an invalid value ${JSON.stringify(eos)}`);
  const bos = optional<number | undefined>('bos_token_id', undefined, isId);

  return validated(file, {
    architecture: 'llama',
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    layers: int('num_hidden_layers'),
    heads,
    kvHeads: optional('num_key_value_heads', heads, isPositiveInt),
    headDim,
    vocabSize: int('vocab_size'),
    // LlamaConfig's own default when the field is absent.
    contextLength: optional('max_position_embeddings', 2048, isPositiveInt),
    rmsNormEps: optional('rms_norm_eps', 1e-6, isNumber),
    ropeTheta: optional('rope_theta', 10000, isNumber),
    ropeDim: headDim,
    tieEmbeddings: optional('tie_word_embeddings', false, isBool),
    ...ropeScalingFromHf(file, json.rope_scaling),
    ...(bos === undefined ? {} : { bosTokenId: bos }),
    eosTokenIds,
  });
}

function ropeScalingFromHf(file: string, v: unknown): { ropeScaling?: Llama3RopeScaling } {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new CorruptFileError(`${file}: rope_scaling is not an object`);
  const type = v.rope_type ?? v.type;
  if (type === 'default') return {};
  if (type !== 'llama3') {
    throw new UnsupportedArchitectureError(`${file}: rope_scaling type '${String(type)}' is not supported; only llama3 is`);
  }
  const num = (key: string): number => {
    const x = v[key];
    if (typeof x !== 'number' || !(x > 0)) throw new CorruptFileError(`${file}: rope_scaling.${key} must be a positive number`);
    return x;
  };
  return {
    ropeScaling: {
      factor: num('factor'),
      lowFreqFactor: num('low_freq_factor'),
      highFreqFactor: num('high_freq_factor'),
      originalContextLength: num('original_max_position_embeddings'),
    },
  };
}

/** Normalises the `{arch}.*` metadata of a llama GGUF. */
export function configFromGguf(gguf: GgufFile): ModelConfig {
  // Tensors carry the source; a tensor-less file is rejected below for lacking token_embd.weight anyway.
  const file = gguf.tensors[0]?.source.name ?? 'GGUF file';
  const meta = gguf.metadata;
  const arch = meta['general.architecture'];
  if (typeof arch !== 'string') throw new CorruptFileError(`${file}: general.architecture is missing`);
  if (!ggufArchitectures.has(arch)) {
    throw new UnsupportedArchitectureError(`${file}: architecture '${arch}' is not supported; Pocket Hub runs ${SUPPORTED} models`);
  }

  const read = (key: string): GgufValue | undefined => meta[`${arch}.${key}`];
  const number = (key: string, fallback?: number): number => {
    const v = read(key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new CorruptFileError(`${file}: ${arch}.${key} must be a number, got ${v === undefined ? 'nothing' : String(v)}`);
    }
    return v;
  };
  const int = (key: string, fallback?: number): number => {
    const v = number(key, fallback);
    if (!isPositiveInt(v)) throw new CorruptFileError(`${file}: ${arch}.${key} must be a positive integer, got ${v}`);
    return v;
  };
  const tokenId = (key: string): number | undefined => {
    const v = meta[`tokenizer.ggml.${key}`];
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  };

  const embedding = gguf.tensors.find((t) => t.name === 'token_embd.weight');
  if (!embedding) throw new CorruptFileError(`${file}: the file has no token_embd.weight tensor`);
  const tokens = meta['tokenizer.ggml.tokens'];
  const vocabSize = Array.isArray(tokens) ? tokens.length : embedding.shape[0];
  if (vocabSize > embedding.shape[0]) {
    throw new CorruptFileError(`${file}: ${vocabSize} tokens but token_embd.weight has only ${embedding.shape[0]} rows`);
  }

  const hiddenSize = int('embedding_length');
  const heads = int('attention.head_count');
  const headDim = int('attention.key_length', hiddenSize / heads);
  const bos = tokenId('bos_token_id');
  // Chat-tuned GGUFs often end a turn with an end-of-turn token distinct from EOS.
  const eosTokenIds = [...new Set([tokenId('eos_token_id'), tokenId('eot_token_id')].filter((id) => id !== undefined))];

  return validated(file, {
    architecture: 'llama',
    hiddenSize,
    intermediateSize: int('feed_forward_length'),
    layers: int('block_count'),
    heads,
    kvHeads: int('attention.head_count_kv', heads),
    headDim,
    vocabSize,
    contextLength: int('context_length'),
    rmsNormEps: number('attention.layer_norm_rms_epsilon'),
    ropeTheta: number('rope.freq_base', 10000),
    ropeDim: int('rope.dimension_count', headDim),
    tieEmbeddings: !gguf.tensors.some((t) => t.name === 'output.weight'),
    ...(bos === undefined ? {} : { bosTokenId: bos }),
    eosTokenIds,
  });
}
