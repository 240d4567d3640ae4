import { CorruptFileError, UnsupportedArchitectureError } from '../protocol/errors.ts';
import { defined, family, isPositiveInt, sliding, SUPPORTED, validated, type Architecture, type ModelConfig } from './config.ts';
import type { GgufFile, GgufValue } from './formats/gguf.ts';

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
