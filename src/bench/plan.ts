import { Rng } from '../engine/sampling.ts';
import { storedType } from './quantFallback.ts';
import type { SamplePlan } from './timing.ts';
import type { BenchMode, Orientation, StoredWeightType, WeightType } from './types.ts';

/** A model's layer shape: what its decode GEMVs and prefill GEMMs multiply. */
export interface ModelShape {
  model: string;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
}

/** From each model's config.json (all three tie the LM head to the embedding). */
export const MODEL_SHAPES: readonly ModelShape[] = [
  { model: 'SmolLM2-135M', hiddenSize: 576, intermediateSize: 1536, layers: 30, heads: 9, kvHeads: 3 },
  { model: 'Qwen2.5-0.5B', hiddenSize: 896, intermediateSize: 4864, layers: 24, heads: 14, kvHeads: 2 },
  { model: 'Llama-3.2-1B', hiddenSize: 2048, intermediateSize: 8192, layers: 16, heads: 32, kvHeads: 8 },
];

export const GEMV_TYPES: readonly WeightType[] = ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

export interface SuiteConfig {
  mode: BenchMode;
  shapes: readonly ModelShape[];
  gemvTypes: readonly WeightType[];
  gemmTypes: readonly WeightType[];
  /** Prompt rows of the prefill GEMMs. */
  prefillRows: number;
  copyBytes: number;
  /**
   * A GEMV case cycles through copies of its weight adding up to at least this many bytes, so
   * each call reads memory rather than a cache that still holds the previous call's weight.
   */
  rotateBytes: number;
  /** Weight copies at most, so a tiny shape does not allocate hundreds of buffers. */
  maxCopies: number;
  plan: SamplePlan;
  /** A GEMM sample is a few large dispatches: fewer samples say as much. */
  gemmPlan: SamplePlan;
  e2ePromptTokens: number;
  e2eDecodeTokens: number;
}

/**
 * quick: the two smaller shapes, small buffers and few samples, so the whole suite finishes in
 * minutes on SwiftShader on two CPU cores. full: every shape, and buffers larger than the last-level
 * cache of any GPU (H100's L2 is 50 MB, Apple's system cache up to 96 MB, AMD's Infinity Cache 256 MB).
 */
export function suiteConfig(mode: BenchMode): SuiteConfig {
  if (mode === 'quick') {
    // The calibrating sample warms up; one more run settles SwiftShader's caches.
    const plan = { warmup: 1, samples: 3, targetMs: 10, maxReps: 16 };
    return {
      mode,
      shapes: MODEL_SHAPES.slice(0, 2),
      gemvTypes: GEMV_TYPES,
      gemmTypes: ['F32', 'Q8_0'],
      prefillRows: 128,
      copyBytes: 32 * 2 ** 20,
      // A software adapter's memory is the host's, behind CPU caches of a few MiB per core:
      // rotating over weight copies would only lengthen the run.
      rotateBytes: 0,
      maxCopies: 1,
      plan,
      gemmPlan: { ...plan, warmup: 0, maxReps: 2 },
      // The 128 decoded tokens: on SwiftShader, where a token of the two-layer model
      // takes a quarter to one second, about two minutes per model.
      e2ePromptTokens: 128,
      e2eDecodeTokens: 128,
    };
  }
  const plan = { warmup: 3, samples: 15, targetMs: 20, maxReps: 256 };
  return {
    mode,
    shapes: MODEL_SHAPES,
    gemvTypes: GEMV_TYPES,
    gemmTypes: ['F32', 'Q8_0', 'Q4_K'],
    prefillRows: 128,
    copyBytes: 512 * 2 ** 20,
    rotateBytes: 512 * 2 ** 20,
    maxCopies: 128,
    plan,
    gemmPlan: { ...plan, samples: 7, maxReps: 64 },
    e2ePromptTokens: 128,
    e2eDecodeTokens: 128,
  };
}

export const ORIENTATIONS: readonly Orientation[] = ['hidden→intermediate', 'intermediate→hidden'];

/** One GEMV or GEMM case of a run: y [M, N] = x [M, K] · wᵀ with w [N, K] stored in `stored`. */
export interface MatmulPlanCase {
  kernel: 'gemv' | 'gemm';
  /** The type the case stands for. */
  type: WeightType;
  /**
   * The type its weight is stored in: `type`, or what llama.cpp's quantizer writes instead where
   * rows of K weights are not whole blocks of it (storedType: Q4_K → Q5_0 and Q6_K → Q8_0 at
   * K = 576 and 896), so each case reads what a real file of that model holds.
   */
  stored: StoredWeightType;
  shape: ModelShape;
  orientation: Orientation;
  M: number;
  K: number;
  N: number;
}

/** Every matmul case of a run in the order they run: per shape and orientation, the GEMVs, then the GEMMs. */
export function matmulPlan(config: SuiteConfig): MatmulPlanCase[] {
  return config.shapes.flatMap((shape) =>
    ORIENTATIONS.flatMap((orientation) => {
      const [K, N] = orientation === 'hidden→intermediate' ? [shape.hiddenSize, shape.intermediateSize] : [shape.intermediateSize, shape.hiddenSize];
      const cases = (kernel: 'gemv' | 'gemm', types: readonly WeightType[], M: number) =>
        types.map((type): MatmulPlanCase => ({ kernel, type, stored: storedType(type, K), shape, orientation, M, K, N }));
      return [...cases('gemv', config.gemvTypes, 1), ...cases('gemm', config.gemmTypes, config.prefillRows)];
    }),
  );
}

/**
 * The end-to-end weight types: the matrices of F32, F16, Q8_0 and Q4_K_M files. llama.cpp's
 * Q4_K_M keeps some matrices (attn_v, half of ffn_down) in Q6_K; these files ask for Q4_K
 * throughout, as llama-quantize --pure would write them.
 */
export type E2eWeightType = 'F32' | 'F16' | 'Q8_0' | 'Q4_K';

/**
 * A random-weight Llama GGUF with a real model's layer shape, for the end-to-end decode. Kept
 * here, free of Node imports, so the runner that writes the files and the page that loads
 * them agree on names and shapes.
 */
export interface E2eModelSpec {
  model: string;
  /** How the file differs from the real model. */
  shapeNote: string;
  type: E2eWeightType;
  file: string;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
}

/** Every file has stories260K's 512-token vocabulary: its tokenizer is the one both runtimes load. */
const VOCAB_NOTE = 'vocabulary 512 (stories260K tokenizer), so the LM head is small';

/**
 * How a `type` file of `shape` departs from asking `type` of every matrix: llama.cpp's fallback
 * where rows are not whole blocks of it, and for Q4_K the Q6_K matrices of a real Q4_K_M file.
 */
function typeNote(type: E2eWeightType, shape: ModelShape): string[] {
  const notes: string[] = [];
  const hidden = storedType(type, shape.hiddenSize);
  const ffn = storedType(type, shape.intermediateSize);
  // In these shapes the attention width is the hidden size, so Q, K, V, O, gate, up and the
  // (tied) embedding all have rows of hiddenSize weights, and ffn_down rows of intermediateSize.
  if (hidden !== type) notes.push(`${hidden} in the matrices with rows of ${shape.hiddenSize} (${ffn === type ? 'all but ffn_down' : 'Q, K, V, O, gate, up'}), llama.cpp's fallback for ${type}`);
  if (ffn !== type) notes.push(`${ffn} in ffn_down (rows of ${shape.intermediateSize}), llama.cpp's fallback for ${type}`);
  if (type === 'Q4_K') notes.push("no Q6_K matrices, where llama.cpp's Q4_K_M has attn_v and half of ffn_down in Q6_K");
  return notes;
}

/**
 * The real layer shapes (MODEL_SHAPES: hidden 576 and 896 too, which K-quants store partly in
 * llama.cpp's fallback types); the quick suite runs 2 of SmolLM2's 30 layers.
 */
export function e2eSpecs(mode: BenchMode): E2eModelSpec[] {
  const specs = (shape: ModelShape, types: E2eWeightType[], layers = shape.layers): E2eModelSpec[] =>
    types.map((type) => ({
      model: shape.model,
      type,
      file: `${shape.model}-${layers}L-${type}.gguf`,
      shapeNote: [...(layers < shape.layers ? [`${layers} of ${shape.layers} layers`] : []), VOCAB_NOTE, ...typeNote(type, shape)].join('; '),
      hiddenSize: shape.hiddenSize,
      intermediateSize: shape.intermediateSize,
      layers,
      heads: shape.heads,
      kvHeads: shape.kvHeads,
    }));
  const [smol, qwen, llama] = MODEL_SHAPES;
  const all: E2eWeightType[] = ['F32', 'F16', 'Q8_0', 'Q4_K'];
  if (mode === 'quick') return specs(smol, all, 2);
  return [
    ...specs(smol, all),
    // F32 would be a 1.4 GB file for Qwen's shape and 3.9 GB for Llama's, written in memory; F16 is half that.
    ...specs(qwen, ['F16', 'Q8_0', 'Q4_K']),
    ...specs(llama, ['F16', 'Q8_0', 'Q4_K']),
  ];
}

/** The random prompt of an end-to-end run: ours and llama.cpp get the same ids. */
export function e2ePrompt(length: number, vocabSize: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length }, () => Math.floor(rng.next() * vocabSize));
}
