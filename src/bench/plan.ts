import { Rng } from '../engine/sampling.ts';
import type { SamplePlan } from './timing.ts';
import type { BenchMode, WeightType } from './types.ts';

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

/**
 * The end-to-end weight types: the matrices of F32, F16, Q8_0 and Q4_K_M files. llama.cpp's
 * Q4_K_M keeps some matrices (attn_v, half of ffn_down) in Q6_K; these files are Q4_K throughout.
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

type Shape = Pick<E2eModelSpec, 'hiddenSize' | 'intermediateSize' | 'layers' | 'heads' | 'kvHeads'>;

/**
 * randomLlamaGguf takes hidden sizes in whole 256-weight super-blocks, so 576 and 896 become the
 * nearest smaller multiple; heads keep the real head size of 64.
 */
export function e2eSpecs(mode: BenchMode): E2eModelSpec[] {
  const specs = (model: string, types: E2eWeightType[], shape: Shape, note: string): E2eModelSpec[] =>
    types.map((type) => ({
      model,
      type,
      file: `${model}-${shape.layers}L-${type}.gguf`,
      shapeNote: `${note}; ${VOCAB_NOTE}${type === 'Q4_K' ? '; Q4_K in every matrix, where llama.cpp\'s Q4_K_M keeps attn_v and half of ffn_down in Q6_K' : ''}`,
      ...shape,
    }));
  const smol = { hiddenSize: 512, intermediateSize: 1536, heads: 8, kvHeads: 2 };
  const smolNote = 'hidden 512 for 576, 8 heads / 2 KV heads for 9 / 3';
  const all: E2eWeightType[] = ['F32', 'F16', 'Q8_0', 'Q4_K'];
  if (mode === 'quick') return specs('SmolLM2-135M', all, { ...smol, layers: 2 }, `${smolNote}, 2 of 30 layers`);
  const qwen = { hiddenSize: 768, intermediateSize: 4864, layers: 24, heads: 12, kvHeads: 2 };
  const llama = { hiddenSize: 2048, intermediateSize: 8192, layers: 16, heads: 32, kvHeads: 8 };
  return [
    ...specs('SmolLM2-135M', all, { ...smol, layers: 30 }, smolNote),
    ...specs('Qwen2.5-0.5B', ['F16', 'Q8_0', 'Q4_K'], qwen, 'hidden 768 for 896, 12 heads for 14'),
    // F32 would be a 5 GB file written in memory; F16 is already 2.5 GB.
    ...specs('Llama-3.2-1B', ['F16', 'Q8_0', 'Q4_K'], llama, 'the real layer shape'),
  ];
}

/** The random prompt of an end-to-end run: ours and llama.cpp get the same ids. */
export function e2ePrompt(length: number, vocabSize: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length }, () => Math.floor(rng.next() * vocabSize));
}
