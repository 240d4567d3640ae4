// Whether a model runs on this device, decided from its header facts and the WebGPU limits
// before anything is downloaded. Browsers do not report how much GPU memory there is, so the
// memory budget is shown as an estimate; what is checked is what the engine would refuse or
// the browser would fail on: a buffer over the binding limit, a download over the free quota,
// an architecture the engine does not run, no WebGPU at all.
import { formatBinaryBytes } from '../components/storageFormat.ts';
import { kvCacheBytes, largestKvBuffer, MAX_BATCH } from '../engine/model/slidingCache.ts';
import type { GpuInfo, ModelFacts } from '../protocol/index.ts';

/** The context lengths offered, before capping at the model's own. */
export const CONTEXT_CHOICES = [512, 2048, 4096, 8192] as const;

/** The longest KV cache the loader allocates when the request names none (LoadRequest.contextLength). */
const LOADER_DEFAULT_CONTEXT = 2048;

/**
 * The choices up to the model's context; a model trained for a length between two choices
 * (or under the smallest) also offers that length, the most it can use.
 */
export function contextChoices(modelContext: number): number[] {
  const choices: number[] = CONTEXT_CHOICES.filter((n) => n <= modelContext);
  if (modelContext < CONTEXT_CHOICES[CONTEXT_CHOICES.length - 1] && !choices.includes(modelContext)) choices.push(modelContext);
  return choices;
}

/** The length the loader picks by default, so the first answer describes what "Load" will do. */
export function defaultContext(modelContext: number): number {
  return Math.min(LOADER_DEFAULT_CONTEXT, modelContext);
}

export type FitFacts = Pick<
  ModelFacts,
  | 'supported'
  | 'unsupported'
  | 'layers'
  | 'hiddenSize'
  | 'intermediateSize'
  | 'heads'
  | 'kvHeads'
  | 'headDim'
  | 'vocabSize'
  | 'downloadBytes'
  | 'weightGpuBytes'
  | 'largestBufferBytes'
  | 'kvBytesPerToken'
  | 'slidingWindow'
  | 'slidingLayerCount'
>;

export interface FitInput {
  facts: FitFacts;
  /** KV cache length to plan for. */
  contextLength: number;
  /** The adapter's limits; null when the browser has no WebGPU, undefined while not known yet. */
  gpu: GpuInfo | null | undefined;
  /** From navigator.storage.estimate(); undefined when the browser reports no quota. */
  storage?: { quota: number; usage: number };
  /** Bytes of this model's weight files already complete in the weight store: they need no space. */
  cachedBytes: number;
}

export type ShortfallKind = 'architecture' | 'webgpu' | 'weightBuffer' | 'kvBuffer' | 'storage';

export interface Shortfall {
  kind: ShortfallKind;
  /** What the model needs and what the device has, in bytes, where the shortfall is a size. */
  need?: number;
  have?: number;
  message: string;
}

export interface MemoryBudget {
  weights: number;
  kvCache: number;
  scratch: number;
  total: number;
}

export interface DeviceFit {
  memory: MemoryBudget;
  /** Bytes still to download: the weights less what is cached. */
  download: number;
  /** Free space this site may still use; undefined when the browser reports no quota. */
  storageFree?: number;
  shortfalls: Shortfall[];
  /** What could not be checked: the GPU's limits while unknown, the storage without a quota. */
  unchecked: ('gpu' | 'storage')[];
  /** Whether the adapter offers `shader-f16`; undefined while unknown. */
  shaderF16?: boolean;
  /** Nothing stands in the way and the GPU limits were checked. */
  runs: boolean;
}

// Share of weights and KV cache added for the driver's allocation rounding and the staging
// copies the weight upload makes; a rough allowance, since WebGPU reports no memory figures.
const ALLOCATOR_MARGIN = 0.1;

/**
 * GPU memory besides weights and KV cache. The rule: the activation buffers of one prefill
 * batch as LlamaModel allocates them, all f32 — the residual stream, its norm and the branch
 * output of the post-norm architectures (3 × hidden),
 * queries and attention output (2 × heads × headDim), keys and values on their way into the
 * f16 cache (2 × kvHeads × headDim) and the three
 * FFN buffers (3 × intermediate), plus a token id each — and one row of logits; then the
 * allocator margin above on weights and KV cache.
 */
export function scratchBytes(facts: FitFacts, kvCache: number): number {
  const perToken = 3 * facts.hiddenSize + 2 * facts.heads * facts.headDim + 2 * facts.kvHeads * facts.headDim + 3 * facts.intermediateSize + 1;
  const activations = 4 * (MAX_BATCH * perToken + facts.vocabSize);
  return Math.ceil(activations + ALLOCATOR_MARGIN * (facts.weightGpuBytes + kvCache));
}

export function memoryBudget(facts: FitFacts, contextLength: number): MemoryBudget {
  const weights = facts.weightGpuBytes;
  const kvCache = kvCacheBytes(facts, contextLength);
  const scratch = scratchBytes(facts, kvCache);
  return { weights, kvCache, scratch, total: weights + kvCache + scratch };
}

export function deviceFit({ facts, contextLength, gpu, storage, cachedBytes }: FitInput): DeviceFit {
  const memory = memoryBudget(facts, contextLength);
  const shortfalls: Shortfall[] = [];
  const unchecked: DeviceFit['unchecked'] = [];

  if (!facts.supported) {
    shortfalls.push({
      kind: 'architecture',
      message: `Unsupported architecture: ${facts.unsupported ?? 'the engine cannot run this model'}.`,
    });
  }

  if (gpu === null) {
    shortfalls.push({ kind: 'webgpu', message: 'This browser offers no WebGPU, which Pocket Hub needs to run models.' });
  } else if (gpu === undefined) {
    unchecked.push('gpu');
  } else {
    // The engine binds every weight tensor and every KV cache buffer whole, except the
    // vocabulary matrices, which it splits by rows (checkDeviceLimits in vocabMatrix.ts):
    // largestBufferBytes counts one row of those. Each must fit both limits.
    const limit = Math.min(gpu.maxStorageBufferBindingSize, gpu.maxBufferSize);
    if (facts.largestBufferBytes > limit) {
      shortfalls.push({
        kind: 'weightBuffer',
        need: facts.largestBufferBytes,
        have: limit,
        message: `The largest weight tensor needs ${formatBinaryBytes(facts.largestBufferBytes)} in one buffer; this GPU binds at most ${formatBinaryBytes(limit)}.`,
      });
    }
    // K and V have a buffer each in every layer: a full layer's holds the whole context, a
    // sliding layer's only its ring.
    const kvBuffer = largestKvBuffer(facts, contextLength);
    if (kvBuffer > limit) {
      shortfalls.push({
        kind: 'kvBuffer',
        need: kvBuffer,
        have: limit,
        message: `A ${contextLength}-token KV cache needs ${formatBinaryBytes(kvBuffer)} per buffer; this GPU binds at most ${formatBinaryBytes(limit)}. Choose a shorter context.`,
      });
    }
  }

  const download = Math.max(0, facts.downloadBytes - cachedBytes);
  let storageFree: number | undefined;
  if (storage && storage.quota > 0) {
    storageFree = Math.max(0, storage.quota - storage.usage);
    if (download > storageFree) {
      shortfalls.push({
        kind: 'storage',
        need: download,
        have: storageFree,
        message: `The download needs ${formatBinaryBytes(download)}, but only ${formatBinaryBytes(storageFree)} of this site's storage is free.`,
      });
    }
  } else if (download > 0) {
    unchecked.push('storage');
  }

  return {
    memory,
    download,
    storageFree,
    shortfalls,
    unchecked,
    shaderF16: gpu ? gpu.features.includes('shader-f16') : undefined,
    runs: shortfalls.length === 0 && !unchecked.includes('gpu'),
  };
}

/** The weight files' bytes already complete in the store, for one commit of a repo. */
export function cachedWeightBytes(
  models: { repo: string; commit: string; files: { path: string; size: number; complete: boolean }[] }[],
  repo: string,
  commit: string,
  weightFiles: string[],
): number {
  const wanted = new Set(weightFiles);
  const model = models.find((m) => m.repo === repo && m.commit === commit);
  // A partial file is counted as needing its whole size: the store resumes it, but how much
  // of it is stored is not listed per file.
  return (model?.files ?? []).filter((f) => f.complete && wanted.has(f.path)).reduce((sum, f) => sum + f.size, 0);
}

/**
 * Bytes a load of this commit still downloads. A load that stored every weight file also stored
 * the config and tokenizer files beside them, so then nothing is left, however large the
 * tokenizer; before that, the weight files already complete are all that is known to be stored.
 */
export function bytesToDownload(
  models: Parameters<typeof cachedWeightBytes>[0],
  repo: string,
  commit: string,
  facts: { weightFiles: string[]; downloadBytes: number },
): number {
  const stored = models.find((m) => m.repo === repo && m.commit === commit)?.files ?? [];
  const complete = facts.weightFiles.every((path) => stored.some((f) => f.path === path && f.complete));
  return complete ? 0 : Math.max(0, facts.downloadBytes - cachedWeightBytes(models, repo, commit, facts.weightFiles));
}
