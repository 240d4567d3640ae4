import { CorruptFileError, UnsupportedArchitectureError } from '../protocol/errors.ts';
import type { GgufFile, GgufValue } from './formats/gguf.ts';

/** Llama 3's frequency-dependent RoPE stretch (HF rope_scaling with rope_type 'llama3'). */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContextLength: number;
}

/**
 * The decoder families the engine runs. Llama, Mistral, SmolLM and TinyStories all run as
 * 'llama'; the others differ from it in the fields of ModelConfig below.
 */
export type Architecture = 'llama' | 'qwen2' | 'qwen3' | 'phi3' | 'gemma2' | 'gemma3' | 'gpt2';

/** The shape of a decoder-only transformer, whichever file format it came from. */
export interface ModelConfig {
  architecture: Architecture;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  /** The RMSNorm epsilon, and gpt2's LayerNorm epsilon. */
  rmsNormEps: number;
  ropeTheta: number;
  /** Leading dimensions of each head that RoPE rotates: headDim, less for partial rotary (Phi-4-mini), 0 without RoPE (gpt2). */
  ropeDim: number;
  /** The output projection reuses the token embedding (no separate output / lm_head weight). */
  tieEmbeddings: boolean;
  /** Present only for checkpoints whose config.json asks for Llama 3 RoPE scaling (GGUF stores rope_freqs.weight instead). */
  ropeScaling?: Llama3RopeScaling;
  /**
   * Linear RoPE scaling: positions are divided by this factor (every RoPE frequency factor equals
   * it). Applies to the layers that use ropeTheta; with ropeThetaLocal set (gemma3) the sliding
   * layers are not scaled, as in transformers and llama.cpp.
   */
  ropeLinearFactor?: number;
  bosTokenId?: number;
  eosTokenIds: number[];
  /** gpt2 normalises with LayerNorm (weight and bias); the rest with RMSNorm. */
  norm: 'rms' | 'layer';
  /** gemma and gpt2 use GELU with the tanh approximation. */
  activation: 'silu' | 'gelu_tanh';
  /** down(act(gate(x)) · up(x)) when true; gpt2's down(act(up(x))) when false. */
  gatedFfn: boolean;
  /** gpt2 adds a learned position embedding to the token embedding instead of rotating q and k. */
  positions: 'rope' | 'learned';
  /** qwen3, gemma3: RMSNorm (eps rmsNormEps) over each head of q and of k, before RoPE. */
  qkNorm: boolean;
  /** gemma2/3: RMSNorm on the attention and FFN outputs before each residual add. */
  postNorms: boolean;
  /** Multiplies the embedding rows: √hiddenSize for gemma, 1 otherwise. */
  embeddingScale: number;
  /** Multiplies q·k: 1/√headDim, or gemma's query_pre_attn_scalar^−½. */
  attentionScale: number;
  /** gemma2: attention scores ← c·tanh(scores/c) before the mask and softmax. */
  attnSoftcap?: number;
  /** gemma2: logits ← c·tanh(logits/c). */
  finalSoftcap?: number;
  /** A query at position p sees keys k with p − W < k ≤ p, in the layers slidingLayers marks; set iff some layer slides. */
  slidingWindow?: number;
  /** One entry per layer, true where attention is windowed (gemma2: even layers; gemma3: all but every 6th). */
  slidingLayers?: boolean[];
  /** gemma3: the RoPE base of the sliding layers; the other layers use ropeTheta. */
  ropeThetaLocal?: number;
  /** 1 where the checkpoint stores RMSNorm weights as w for x·(1 + w) (HF gemma); llama.cpp's GGUF stores w + 1 already. */
  normWeightOffset: 0 | 1;
}

/** How each architecture differs from Llama; the shape numbers come from the file. */
type Family = Pick<
  ModelConfig,
  'architecture' | 'norm' | 'activation' | 'gatedFfn' | 'positions' | 'qkNorm' | 'postNorms' | 'normWeightOffset'
>;

function family(architecture: Architecture, normWeightOffset: 0 | 1): Family {
  const gemma = architecture === 'gemma2' || architecture === 'gemma3';
  const gpt2 = architecture === 'gpt2';
  return {
    architecture,
    norm: gpt2 ? 'layer' : 'rms',
    activation: gemma || gpt2 ? 'gelu_tanh' : 'silu',
    gatedFfn: !gpt2,
    positions: gpt2 ? 'learned' : 'rope',
    qkNorm: architecture === 'qwen3' || architecture === 'gemma3',
    postNorms: gemma,
    normWeightOffset: gemma ? normWeightOffset : 0,
  };
}

const SUPPORTED = 'Llama, Mistral, Qwen2, Qwen3, Phi-3, Gemma 2, Gemma 3 and GPT-2';

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
  if (c.ropeDim > c.headDim || c.ropeDim % 2 !== 0 || (c.positions === 'rope') !== c.ropeDim > 0)
    throw fail(`RoPE dimension ${c.ropeDim} does not fit head dimension ${c.headDim}`);
  if (!(c.rmsNormEps > 0) || !(c.ropeTheta > 0)) throw fail('the norm epsilon and the RoPE base must be positive');
  for (const [name, v] of [
    ['the attention scale', c.attentionScale],
    ['the attention soft-cap', c.attnSoftcap],
    ['the final soft-cap', c.finalSoftcap],
    ['the local RoPE base', c.ropeThetaLocal],
    ['the linear RoPE factor', c.ropeLinearFactor],
  ] as const) {
    if (v !== undefined && !(v > 0 && Number.isFinite(v))) throw fail(`${name} must be a positive number, got ${v}`);
  }
  if (c.slidingLayers && (c.slidingLayers.length !== c.layers || !isPositiveInt(c.slidingWindow)))
    throw fail(`sliding-window attention needs a window and one mark per layer (${c.layers})`);
  return c;
}

/** Leaves out the optional fields that are undefined, so configs compare and print cleanly. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Which layers slide, or none when no layer does. Kept even when the window spans the whole
 * context: gemma3's sliding layers still take their own RoPE base.
 */
function sliding(window: number | undefined, marks: boolean[]): Pick<ModelConfig, 'slidingWindow' | 'slidingLayers'> {
  if (window === undefined || !marks.some(Boolean)) return {};
  return { slidingWindow: window, slidingLayers: marks };
}

/** GPT-2's config.json has keys of its own (gpt2FromHf). */
type HfArchitecture = Exclude<Architecture, 'gpt2'>;

// transformers' model_type and class names of the checkpoints each architecture reads.
const HF_MODEL_TYPES: Record<string, HfArchitecture> = {
  llama: 'llama',
  mistral: 'llama',
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  phi3: 'phi3',
  gemma2: 'gemma2',
  gemma3_text: 'gemma3',
};
const HF_CLASSES: Record<string, HfArchitecture> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
  Phi3ForCausalLM: 'phi3',
  Gemma2ForCausalLM: 'gemma2',
  Gemma3ForCausalLM: 'gemma3',
};

/**
 * The defaults of each transformers config class for the fields a config.json may leave out.
 * Mistral is read as Llama but keeps MistralConfig's own defaults.
 */
interface HfDefaults {
  contextLength: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieEmbeddings: boolean;
  headDim?: number;
  slidingWindow?: number;
}
const HF_DEFAULTS: Record<HfArchitecture | 'mistral', HfDefaults> = {
  llama: { contextLength: 2048, rmsNormEps: 1e-6, ropeTheta: 10000, tieEmbeddings: false },
  mistral: { contextLength: 4096 * 32, rmsNormEps: 1e-6, ropeTheta: 10000, tieEmbeddings: false, slidingWindow: 4096 },
  qwen2: { contextLength: 32768, rmsNormEps: 1e-6, ropeTheta: 10000, tieEmbeddings: false },
  qwen3: { contextLength: 32768, rmsNormEps: 1e-6, ropeTheta: 10000, tieEmbeddings: false, headDim: 128 },
  phi3: { contextLength: 4096, rmsNormEps: 1e-5, ropeTheta: 10000, tieEmbeddings: false },
  gemma2: { contextLength: 8192, rmsNormEps: 1e-6, ropeTheta: 10000, tieEmbeddings: true, headDim: 256, slidingWindow: 4096 },
  gemma3: { contextLength: 131072, rmsNormEps: 1e-6, ropeTheta: 1e6, tieEmbeddings: true, headDim: 256, slidingWindow: 4096 },
};

/**
 * Normalises a Hugging Face config.json. `file` names it in error messages (the repository's
 * path to it where known).
 */
export function configFromHf(json: unknown, file = 'config.json'): ModelConfig {
  if (!isObject(json)) throw new CorruptFileError(`${file}: not a JSON object`);
  const modelType = typeof json.model_type === 'string' ? json.model_type : undefined;
  const classes = Array.isArray(json.architectures) ? json.architectures.filter((a): a is string => typeof a === 'string') : [];
  const named = [modelType === undefined ? '' : `model_type '${modelType}'`, ...classes].filter(Boolean).join(', ') || 'an unnamed architecture';
  if (modelType === 'gpt2' || classes.includes('GPT2LMHeadModel')) return gpt2FromHf(json, file);
  if (modelType === 'gemma3' || classes.includes('Gemma3ForConditionalGeneration')) return configFromHf(gemma3Text(json, file), file);
  const architecture = (modelType !== undefined ? HF_MODEL_TYPES[modelType] : undefined) ?? classes.map((c) => HF_CLASSES[c]).find(Boolean);
  if (!architecture) throw new UnsupportedArchitectureError(`${file}: ${named} is not supported; Pocket Hub runs ${SUPPORTED} models`);
  const mistral = modelType === 'mistral' || classes.includes('MistralForCausalLM');
  const defaults = HF_DEFAULTS[mistral ? 'mistral' : architecture];

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
  // For the keys whose None means "off" in transformers: a missing key takes the class default, an explicit null switches it off.
  const nullable = (key: string, fallback: number | undefined, check: (v: unknown) => v is number): number | undefined =>
    json[key] === null ? undefined : optional<number | undefined>(key, fallback, check);
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
  const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const isString = (v: unknown): v is string => typeof v === 'string';
  const unsupported = (what: string) => new UnsupportedArchitectureError(`${file}: ${architecture} ${what}`);
  const gemma = architecture === 'gemma2' || architecture === 'gemma3';

  // Gated-FFN biases have no place in the forward pass; attention biases do (found by tensor name).
  if (json.mlp_bias === true) throw unsupported('with mlp_bias is not supported');
  // Gemma names its activation hidden_activation; its configs also carry a hidden_act that transformers ignores.
  const actKey = gemma ? 'hidden_activation' : 'hidden_act';
  const act = optional(actKey, gemma ? 'gelu_pytorch_tanh' : 'silu', isString);
  const wanted = gemma ? ['gelu_pytorch_tanh', 'gelu_tanh'] : ['silu'];
  if (!wanted.includes(act)) throw unsupported(`with ${actKey} '${act}' is not supported; it runs ${wanted[0]}`);

  const hiddenSize = int('hidden_size');
  const heads = int('num_attention_heads');
  const layers = int('num_hidden_layers');
  const headDim = optional('head_dim', defaults.headDim ?? hiddenSize / heads, isPositiveInt);
  if (!Number.isInteger(headDim)) {
    throw new CorruptFileError(`${file}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${heads}`);
  }
  const rotary = optional('partial_rotary_factor', 1, isNumber);
  const ropeDim = Math.floor(headDim * rotary);
  const contextLength = optional('max_position_embeddings', defaults.contextLength, isPositiveInt);
  const eos = json.eos_token_id;
  const eosTokenIds = eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos];
  if (!eosTokenIds.every(isId)) throw new CorruptFileError(`${file}: eos_token_id has an invalid value ${JSON.stringify(eos)}`);
  const bos = optional<number | undefined>('bos_token_id', undefined, isId);

  const rope = ropeFromHf(file, json, architecture, optional('rope_theta', defaults.ropeTheta, isNumber));
  // Llama itself has no windowed attention; Mistral (read as llama) has.
  const marks = architecture === 'llama' && !mistral ? [] : slidingMarksFromHf(file, json, architecture, layers);
  const window = nullable('sliding_window', defaults.slidingWindow, isPositiveInt);
  // gemma's scores use query_pre_attn_scalar^−½ (256 on most sizes, hidden/heads on gemma-2-27b).
  const queryScalar = gemma ? optional('query_pre_attn_scalar', 256, isNumber) : headDim;

  return validated(
    file,
    defined({
      ...family(architecture, 1),
      hiddenSize,
      intermediateSize: int('intermediate_size'),
      layers,
      heads,
      kvHeads: optional('num_key_value_heads', heads, isPositiveInt),
      headDim,
      vocabSize: int('vocab_size'),
      contextLength,
      rmsNormEps: optional('rms_norm_eps', defaults.rmsNormEps, isNumber),
      ropeTheta: rope.theta,
      ropeDim,
      tieEmbeddings: optional('tie_word_embeddings', defaults.tieEmbeddings, isBool),
      ropeScaling: rope.llama3,
      ropeLinearFactor: rope.linear,
      bosTokenId: bos,
      eosTokenIds,
      // The engine follows llama.cpp, which scales by √hidden in f32; transformers rounds it to the checkpoint's dtype first.
      embeddingScale: gemma ? Math.sqrt(hiddenSize) : 1,
      attentionScale: 1 / Math.sqrt(queryScalar),
      attnSoftcap: gemma ? nullable('attn_logit_softcapping', architecture === 'gemma2' ? 50 : undefined, isNumber) : undefined,
      finalSoftcap: gemma ? nullable('final_logit_softcapping', architecture === 'gemma2' ? 30 : undefined, isNumber) : undefined,
      ...sliding(window, marks),
      ropeThetaLocal: rope.local,
    }),
  );
}

/**
 * The language model of a multimodal Gemma 3 checkpoint (gemma-3-4b and up), which the engine runs
 * without its vision tower: text_config, which lists only what differs from Gemma3TextConfig's
 * defaults (filled in here), with the token ids of the outer config.
 */
function gemma3Text(json: Record<string, unknown>, file: string): Record<string, unknown> {
  const text = json.text_config;
  if (!isObject(text)) throw new CorruptFileError(`${file}: the multimodal Gemma 3 config has no text_config object`);
  const ids = Object.fromEntries(['bos_token_id', 'eos_token_id'].filter((k) => json[k] !== undefined && json[k] !== null).map((k) => [k, json[k]]));
  return {
    hidden_size: 2304,
    intermediate_size: 9216,
    num_hidden_layers: 26,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    vocab_size: 262208,
    bos_token_id: 2,
    eos_token_id: 1,
    ...text,
    ...ids,
    model_type: 'gemma3_text',
    architectures: ['Gemma3ForCausalLM'],
  };
}

/** GPT2Config: its own key names, a 4·hidden FFN unless n_inner says otherwise, always tied. */
function gpt2FromHf(json: Record<string, unknown>, file: string): ModelConfig {
  const get = <T>(key: string, fallback: T | undefined, check: (v: unknown) => v is T, what: string): T => {
    const v = json[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (!check(v)) throw new CorruptFileError(`${file}: ${key} must be ${what}, got ${JSON.stringify(v)}`);
    return v;
  };
  const int = (key: string, fallback?: number) => get(key, fallback, isPositiveInt, 'a positive integer');
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const unsupported = (what: string) => new UnsupportedArchitectureError(`${file}: gpt2 ${what}`);
  // gelu_new is GPT-2's own tanh approximation, the GELU the engine (and llama.cpp) runs.
  const act = json.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') throw unsupported(`with activation_function '${String(act)}' is not supported; it runs gelu_new`);
  if (json.scale_attn_by_inverse_layer_idx === true) throw unsupported('with scale_attn_by_inverse_layer_idx is not supported');
  if (json.scale_attn_weights === false) throw unsupported('without scale_attn_weights is not supported');

  const hiddenSize = int('n_embd', 768);
  const heads = int('n_head', 12);
  const headDim = hiddenSize / heads;
  if (!Number.isInteger(headDim)) throw new CorruptFileError(`${file}: n_embd ${hiddenSize} is not a multiple of n_head ${heads}`);
  const bos = get('bos_token_id', 50256, isId, 'a token id');
  const eos = get('eos_token_id', 50256, isId, 'a token id');
  return validated(file, {
    ...family('gpt2', 0),
    hiddenSize,
    intermediateSize: int('n_inner', 4 * hiddenSize),
    layers: int('n_layer', 12),
    heads,
    kvHeads: heads,
    headDim,
    vocabSize: int('vocab_size', 50257),
    contextLength: int('n_positions', 1024),
    rmsNormEps: get('layer_norm_epsilon', 1e-5, isNumber, 'a number'),
    ropeTheta: 10000,
    ropeDim: 0,
    tieEmbeddings: get('tie_word_embeddings', true, (v): v is boolean => typeof v === 'boolean', 'a boolean'),
    bosTokenId: bos,
    eosTokenIds: [eos],
    embeddingScale: 1,
    attentionScale: 1 / Math.sqrt(headDim),
  });
}

/**
 * Which layers slide in transformers: `layer_types` where the config lists it, else each
 * class's rule: gemma2 the even layers, gemma3 all but every sliding_window_pattern-th, Qwen
 * only with use_sliding_window, and Mistral and Phi-3 every layer when sliding_window is set.
 */
function slidingMarksFromHf(file: string, json: Record<string, unknown>, architecture: Architecture, layers: number): boolean[] {
  const types = json.layer_types;
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.length !== layers || !types.every((t) => t === 'sliding_attention' || t === 'full_attention'))
      throw new CorruptFileError(`${file}: layer_types must list 'sliding_attention' or 'full_attention' for each of the ${layers} layers`);
    return types.map((t) => t === 'sliding_attention');
  }
  const every = (mark: (i: number) => boolean) => Array.from({ length: layers }, (_, i) => mark(i));
  switch (architecture) {
    case 'gemma2':
      return every((i) => i % 2 === 0);
    case 'gemma3': {
      const pattern = json.sliding_window_pattern ?? 6;
      if (!isPositiveInt(pattern)) throw new CorruptFileError(`${file}: sliding_window_pattern must be a positive integer`);
      return every((i) => (i + 1) % pattern !== 0);
    }
    case 'qwen2':
    case 'qwen3':
      if (json.use_sliding_window === true)
        throw new UnsupportedArchitectureError(`${file}: ${architecture} with use_sliding_window is not supported`);
      return every(() => false);
    default:
      return every(() => true);
  }
}

interface HfRope {
  theta: number;
  llama3?: Llama3RopeScaling;
  linear?: number;
  local?: number;
}

/**
 * RoPE base and scaling from config.json: `rope_theta` with `rope_scaling`, or transformers 5's
 * `rope_parameters` (per layer type for gemma3). gemma3's sliding layers use their own base
 * (rope_local_base_freq, 10000) and no scaling.
 */
function ropeFromHf(file: string, json: Record<string, unknown>, architecture: Architecture, theta: number): HfRope {
  const params = json.rope_parameters;
  const perType = isObject(params) && isObject(params.full_attention);
  const [global, where] = isObject(params)
    ? [perType ? params.full_attention : params, perType ? 'rope_parameters.full_attention' : 'rope_parameters']
    : [json.rope_scaling, 'rope_scaling'];
  const scaled = scalingFromHf(file, where, global, architecture);
  const base = (o: unknown, fallback: number) => (isObject(o) && typeof o.rope_theta === 'number' ? o.rope_theta : fallback);
  const rope: HfRope = { theta: base(global, theta), ...scaled };
  if (architecture === 'gemma3') {
    const local = perType ? (params as Record<string, unknown>).sliding_attention : undefined;
    if (local !== undefined && Object.keys(scalingFromHf(file, 'rope_parameters.sliding_attention', local, architecture)).length > 0)
      throw new UnsupportedArchitectureError(`${file}: gemma3 with scaled RoPE on its sliding layers is not supported`);
    const fallback = typeof json.rope_local_base_freq === 'number' ? json.rope_local_base_freq : 10000;
    rope.local = base(local, fallback);
  }
  return rope;
}

function scalingFromHf(file: string, where: string, v: unknown, architecture: Architecture): Pick<HfRope, 'llama3' | 'linear'> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new CorruptFileError(`${file}: ${where} is not an object`);
  const type = v.rope_type ?? v.type;
  if (type === undefined || type === 'default') return {};
  const num = (key: string): number => {
    const x = v[key];
    if (typeof x !== 'number' || !(x > 0)) throw new CorruptFileError(`${file}: ${where}.${key} must be a positive number`);
    return x;
  };
  if (type === 'linear') return { linear: num('factor') };
  if (type === 'llama3')
    return {
      llama3: {
        factor: num('factor'),
        lowFreqFactor: num('low_freq_factor'),
        highFreqFactor: num('high_freq_factor'),
        originalContextLength: num('original_max_position_embeddings'),
      },
    };
  // Phi-3 128k and Phi-3.5 extend their context with 'longrope'; Qwen long-context configs with 'yarn'.
  throw new UnsupportedArchitectureError(
    `${file}: ${architecture} with ${where} type '${String(type)}' is not supported; Pocket Hub runs default, linear and llama3 RoPE`,
  );
}

/** llama.cpp's architecture names; 'mistral' is what early Mistral conversions wrote, read as llama. */
const GGUF_ARCHITECTURES: Record<string, Architecture> = {
  llama: 'llama',
  mistral: 'llama',
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  phi3: 'phi3',
  gemma2: 'gemma2',
  gemma3: 'gemma3',
  gpt2: 'gpt2',
};

/** Normalises the `{arch}.*` metadata of a GGUF as llama.cpp's loader reads it. */
export function configFromGguf(gguf: GgufFile): ModelConfig {
  // Tensors carry the source; a tensor-less file is rejected below for lacking token_embd.weight anyway.
  const file = gguf.tensors[0]?.source.name ?? 'GGUF file';
  const meta = gguf.metadata;
  const arch = meta['general.architecture'];
  if (typeof arch !== 'string') throw new CorruptFileError(`${file}: general.architecture is missing`);
  const architecture = GGUF_ARCHITECTURES[arch];
  if (!architecture) {
    throw new UnsupportedArchitectureError(`${file}: architecture '${arch}' is not supported; Pocket Hub runs ${SUPPORTED} models`);
  }
  const unsupported = (what: string) => new UnsupportedArchitectureError(`${file}: ${arch} ${what}`);

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
  const maybe = (key: string): number | undefined => (read(key) === undefined ? undefined : number(key));
  const tokenId = (key: string): number | undefined => {
    const v = meta[`tokenizer.ggml.${key}`];
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  };
  const hasTensor = (name: string) => gguf.tensors.some((t) => t.name === name);

  const embedding = gguf.tensors.find((t) => t.name === 'token_embd.weight');
  if (!embedding) throw new CorruptFileError(`${file}: the file has no token_embd.weight tensor`);
  const tokens = meta['tokenizer.ggml.tokens'];
  const vocabSize = Array.isArray(tokens) ? tokens.length : embedding.shape[0];
  if (vocabSize > embedding.shape[0]) {
    throw new CorruptFileError(`${file}: ${vocabSize} tokens but token_embd.weight has only ${embedding.shape[0]} rows`);
  }

  const hiddenSize = int('embedding_length');
  const heads = int('attention.head_count');
  const layers = int('block_count');
  const headDim = int('attention.key_length', hiddenSize / heads);
  const valueDim = int('attention.value_length', headDim);
  if (valueDim !== headDim) throw unsupported(`with value heads of ${valueDim} and key heads of ${headDim} is not supported`);
  const contextLength = int('context_length');
  const gpt2 = architecture === 'gpt2';
  const gemma = architecture === 'gemma2' || architecture === 'gemma3';
  // Phi-3 128k and Phi-3.5 carry their 'longrope' factors as tensors.
  if (hasTensor('rope_factors_long.weight')) throw unsupported(`with 'longrope' RoPE scaling (rope_factors_long.weight) is not supported`);
  const ropeLinearFactor = gpt2 ? undefined : linearFactorFromGguf(file, meta, arch);

  const bos = tokenId('bos_token_id');
  // Chat-tuned GGUFs often end a turn with an end-of-turn token distinct from EOS.
  const eosTokenIds = [...new Set([tokenId('eos_token_id'), tokenId('eot_token_id')].filter((id) => id !== undefined))];

  // llama.cpp's gemma loaders: gemma2 slides on every other layer with a 4096 default window;
  // gemma3 only when the file has a window, on all but every 6th layer, with a local base of
  // 10000. Other architectures never slide in llama.cpp (it switches Phi-3's window off).
  let window: number | undefined;
  let marks: boolean[] = [];
  let ropeThetaLocal: number | undefined;
  if (architecture === 'gemma2' || (architecture === 'gemma3' && (maybe('attention.sliding_window') ?? 0) > 0)) {
    window = int('attention.sliding_window', 4096);
    marks = slidingMarksFromGguf(file, read('attention.sliding_window_pattern'), `${arch}.attention.sliding_window_pattern`, architecture === 'gemma2' ? 2 : 6, layers);
    ropeThetaLocal = architecture === 'gemma3' ? number('rope.freq_base_swa', 10000) : maybe('rope.freq_base_swa');
  }
  // gemma_pytorch's rule, as llama.cpp keeps it: the 27B models scale by (hidden/heads)^−½ (integer
  // division), every other size by headDim^−½. GGUF does not store query_pre_attn_scalar.
  const is27b = (architecture === 'gemma2' && layers === 46) || (architecture === 'gemma3' && layers === 62);
  const finalSoftcap = architecture === 'gemma2' ? number('final_logit_softcapping', 30) : architecture === 'gemma3' ? maybe('final_logit_softcapping') : undefined;

  return validated(
    file,
    defined({
      ...family(architecture, 0),
      hiddenSize,
      intermediateSize: int('feed_forward_length'),
      layers,
      heads,
      kvHeads: int('attention.head_count_kv', heads),
      headDim,
      vocabSize,
      contextLength,
      rmsNormEps: number(gpt2 ? 'attention.layer_norm_epsilon' : 'attention.layer_norm_rms_epsilon'),
      ropeTheta: number('rope.freq_base', 10000),
      ropeDim: gpt2 ? 0 : int('rope.dimension_count', headDim),
      tieEmbeddings: !hasTensor('output.weight'),
      ropeLinearFactor,
      bosTokenId: bos,
      eosTokenIds,
      embeddingScale: gemma ? Math.sqrt(hiddenSize) : 1,
      attentionScale: 1 / Math.sqrt(is27b ? Math.floor(hiddenSize / heads) : headDim),
      attnSoftcap: architecture === 'gemma2' ? number('attn_logit_softcapping', 50) : undefined,
      // llama.cpp reads 0 as "no soft-cap" for gemma3.
      finalSoftcap: finalSoftcap === 0 ? undefined : finalSoftcap,
      ...sliding(window, marks),
      ropeThetaLocal,
    }),
  );
}

/** A period p marks layer i when i mod p < p − 1 (llama.cpp's set_swa_pattern); an array of booleans marks each layer. */
function slidingMarksFromGguf(file: string, v: GgufValue | undefined, key: string, period: number, layers: number): boolean[] {
  if (Array.isArray(v)) {
    if (v.length !== layers || !v.every((x) => typeof x === 'boolean')) throw new CorruptFileError(`${file}: ${key} must mark each of the ${layers} layers`);
    return v as boolean[];
  }
  const p = v ?? period;
  if (!isPositiveInt(p)) throw new CorruptFileError(`${file}: ${key} must be a positive integer, got ${String(v)}`);
  return Array.from({ length: layers }, (_, i) => i % p < p - 1);
}

/**
 * llama.cpp's RoPE scaling keys: the type defaults to linear, and the factor (rope.scaling.factor,
 * or the older rope.scale_linear) to none. YaRN and longrope change more than the frequencies.
 */
function linearFactorFromGguf(file: string, meta: Record<string, GgufValue>, arch: string): number | undefined {
  const type = meta[`${arch}.rope.scaling.type`] ?? 'linear';
  if (type === 'none') return undefined;
  if (type !== 'linear')
    throw new UnsupportedArchitectureError(`${file}: ${arch} with '${String(type)}' RoPE scaling is not supported; Pocket Hub runs linear and llama3 RoPE scaling`);
  const factor = meta[`${arch}.rope.scaling.factor`] ?? meta[`${arch}.rope.scale_linear`];
  if (factor === undefined || factor === 0 || factor === 1) return undefined;
  if (typeof factor !== 'number' || !(factor > 0)) throw new CorruptFileError(`${file}: ${arch}.rope.scaling.factor must be a positive number, got ${String(factor)}`);
  return factor;
}
