import { CorruptFileError, UnsupportedArchitectureError } from '../protocol/errors.ts';
import { defined, family, isObject, isPositiveInt, sliding, SUPPORTED, validated, type Architecture, type Llama3RopeScaling, type ModelConfig } from './config.ts';

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
