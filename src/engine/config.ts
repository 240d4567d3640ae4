import { CorruptFileError } from '../protocol/errors.ts';

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

export function family(architecture: Architecture, normWeightOffset: 0 | 1): Family {
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

export const SUPPORTED = 'Llama, Mistral, Qwen2, Qwen3, Phi-3, Gemma 2, Gemma 3 and GPT-2';

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/** Checks the relations every consumer relies on, so a bad file fails here and not in a kernel. */
export function validated(file: string, c: ModelConfig): ModelConfig {
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
export function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Which layers slide, or none when no layer does. Kept even when the window spans the whole
 * context: gemma3's sliding layers still take their own RoPE base.
 */
export function sliding(window: number | undefined, marks: boolean[]): Pick<ModelConfig, 'slidingWindow' | 'slidingLayers'> {
  if (window === undefined || !marks.some(Boolean)) return {};
  return { slidingWindow: window, slidingLayers: marks };
}
