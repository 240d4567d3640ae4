// Types shared by the UI thread and the engine worker. This module imports
// nothing but its sibling errors module, so both threads can depend on it freely.
export * from './errors.ts';

export type LoadStage = 'download' | 'read' | 'upload' | 'compile' | 'warmup';

/**
 * Progress of one stage of a load; `loaded`/`total` are bytes for download/read/upload, steps
 * otherwise. For 'download' they count every file the model needs, and `file`, `fileLoaded`,
 * `fileTotal` describe the file in flight.
 */
export interface LoadProgress {
  kind: LoadStage;
  loaded: number;
  total: number;
  /** The file being read or downloaded, when the stage works on one. */
  file?: string;
  fileLoaded?: number;
  fileTotal?: number;
}

export interface LoadRequest {
  /**
   * Where the model lives when it is not a Hub repo: the URL of a `.gguf` file, or the URL of a
   * folder holding `config.json`, `*.safetensors` (or a shard index) and `tokenizer.json`.
   */
  url?: string;
  /** A Hub repo id (`owner/name`), downloaded once into the weight store and then loaded from it. */
  repo?: string;
  /** Hub endpoints tried in order (default: the app's embedded hub, then https://huggingface.co). */
  hubs?: string[];
  /** Branch, tag or commit; default 'main'. */
  revision?: string;
  /** Which GGUF of a repo with several, by file name or quant type. */
  file?: string;
  /** A Hub access token for gated repos; it is only ever sent to the hub endpoints. */
  token?: string;
  /** Hubs among `hubs` that never get the token (the app's embedded hub, which is public). */
  publicHubs?: string[];
  /** Cap on the KV cache length; defaults to the model's context length, at most 2048. */
  contextLength?: number;
  /**
   * How the KV cache stores keys and values: 'f16' (the default, as in llama.cpp: half the
   * memory and half the bytes attention reads per token) or 'f32'.
   */
  kvCache?: KvCacheType;
  /**
   * 'llama.cpp' rounds every matmul's activations as llama.cpp's CPU backend does before its dot
   * products (8-bit blocks for quantized weights, f16 or bf16 for those weights) and takes GELU
   * from an f16 table, so that scores can be set beside llama.cpp's down to its near-ties (the
   * score CLI's --llama-cpp-numerics). Costs a pass per matmul; 'native' (the default) keeps f32
   * activations.
   */
  numerics?: Numerics;
}

export type KvCacheType = 'f16' | 'f32';
export type Numerics = 'native' | 'llama.cpp';

/** One model revision in the weight store. */
export interface CachedModel {
  repo: string;
  commit: string;
  files: { path: string; size: number; complete: boolean }[];
  /** Bytes stored, partial downloads included. */
  bytes: number;
  /** Every file downloaded and verified. */
  complete: boolean;
  /** Milliseconds since the epoch. */
  lastUsed: number;
}

export interface StorageInfo {
  models: CachedModel[];
  /** From navigator.storage.estimate(), for the whole origin. */
  usage: number;
  quota: number;
  /** Whether the browser promised not to evict this origin's storage. */
  persisted: boolean;
}

export interface ModelInfo {
  url: string;
  format: 'gguf' | 'safetensors';
  architecture: string;
  layers: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  /** Length of the KV cache actually allocated. */
  contextLength: number;
  parameters: number;
  hasChatTemplate: boolean;
  /** How the KV cache stores keys and values (LoadRequest.kvCache, or f32 where f16 cannot be read). */
  kvCache: KvCacheType;
  gpuBytes: number;
  adapter: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface SamplingOptions {
  /** 0 means greedy. */
  temperature: number;
  /** 0 disables top-k. */
  topK: number;
  /** 1 disables top-p. */
  topP: number;
  /** 1 disables the penalty. */
  repetitionPenalty: number;
  /** Makes sampling reproducible; omitted means a random seed. */
  seed?: number;
}

export interface GenerateRequest extends Partial<SamplingOptions> {
  /** Raw text to continue. Exactly one of `prompt` and `messages` is given. */
  prompt?: string;
  /** Chat turns, rendered with the model's chat template. */
  messages?: ChatMessage[];
  maxTokens?: number;
  /** Generation ends when the text produced contains one of these strings. */
  stop?: string[];
}

export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  /** Milliseconds from the request to the first generated token. */
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}

export type FinishReason = 'eos' | 'length' | 'stop' | 'abort';

export type GenerateEvent =
  | { kind: 'token'; id: number; text: string; tokensPerSecond: number }
  | { kind: 'done'; reason: FinishReason; stats: GenerationStats };

export interface GenerationResult {
  promptIds: number[];
  ids: number[];
  text: string;
  reason: FinishReason;
  stats: GenerationStats;
}

export interface EngineStats {
  loaded: boolean;
  gpuBytes: number;
  adapter: string;
  last?: GenerationStats;
}

// ── Browsing hubs: model and Space pages, listings. The worker does the HTTP (src/hub), so
// the UI thread never talks to a hub itself and every request carries the same endpoints and token.

export type RepoKind = 'model' | 'space';

/** Which hubs to ask, in order, and the token for gated repos. */
export interface HubAccess {
  hubs: string[];
  token?: string;
  /** Hubs among `hubs` that never get the token (the app's embedded hub, which is public). */
  publicHubs?: string[];
}

export interface RepoRequest extends HubAccess {
  repo: string;
  kind: RepoKind;
  /** Branch, tag or commit; default 'main'. */
  revision?: string;
}

export interface RepoFileEntry {
  path: string;
  size: number;
  /** Whether the Hub keeps the file in LFS (weights); `sha256` is then its LFS hash. */
  lfs: boolean;
  sha256?: string;
  oid: string;
}

/** What a hub's info answer says about a repo, as far as Pocket Hub shows it. */
export interface RepoInfo {
  id: string;
  kind: RepoKind;
  tags: string[];
  pipelineTag?: string;
  libraryName?: string;
  likes?: number;
  downloads?: number;
  /** ISO date. */
  lastModified?: string;
  /** false, or how access is granted ('auto', 'manual'). */
  gated?: false | string;
  /** Spaces: 'static', 'chat', 'completion', 'gradio', … */
  sdk?: string;
  /** The README's YAML front matter as the hub parsed it. */
  cardData?: Record<string, unknown>;
}

export interface RepoDetails {
  info: RepoInfo;
  /** The endpoint that had the repo. */
  endpoint: string;
  /** The 40-hex commit every file below was read at. */
  commit: string;
  files: RepoFileEntry[];
  /** README.md as text, front matter included; '' when the repo has none. */
  readme: string;
  /** Prefix of every file's URL at this commit, ending in '/': relative links in the card resolve against it. */
  resolveBase: string;
}

export interface ModelFactsRequest extends RepoRequest {
  /** Which GGUF of several, by path or quant type (default as `load` picks). */
  file?: string;
}

/** A model's shape and size, read from config.json or GGUF headers with range requests, no weights downloaded. */
export interface ModelFacts {
  format: 'gguf' | 'safetensors';
  /** The weight files the model needs (one GGUF, or safetensors shards). */
  weightFiles: string[];
  architecture: string;
  /** Whether this engine runs the architecture and its tensor types; if not, `unsupported` says why. */
  supported: boolean;
  unsupported?: string;
  layers: number;
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** The context length the model was trained for. */
  contextLength: number;
  vocabSize: number;
  /** Tensor type of the weights: 'F32', 'BF16', 'F16', or a GGUF quant such as 'Q4_K_M'. */
  dtype: string;
  /** Counted from the tensor shapes in the file headers. */
  parameters: number;
  /** Bytes `load` downloads: the weight files plus config and tokenizer files. */
  downloadBytes: number;
  /** Bytes the engine allocates on the GPU for the weights, as it stores them. */
  weightGpuBytes: number;
  /** The largest single GPU buffer the weights need, against maxStorageBufferBindingSize. */
  largestBufferBytes: number;
  /**
   * KV cache bytes per position of context, all layers, as if every layer held the whole
   * context; sliding-window layers hold fewer (engine/model/slidingCache.ts: kvCacheBytes).
   */
  kvBytesPerToken: number;
  /** Sliding-window attention (gemma2, gemma3, Mistral): a query sees this many keys, in slidingLayerCount layers. */
  slidingWindow?: number;
  /** How many layers attend through the window; each keeps a ring of min(context, slidingWindow + 63) rows. */
  slidingLayerCount?: number;
  hasChatTemplate: boolean;
  /** GGUF repos: every quantisation offered, smallest first. */
  ggufChoices?: { path: string; quant: string; size: number }[];
}

export interface RepoSearch extends HubAccess {
  kind: RepoKind;
  /** Words to match in the repo id. */
  search?: string;
  sort?: 'downloads' | 'likes' | 'trending' | 'lastModified';
  /** Models: only repos with this library's files. */
  library?: 'gguf' | 'transformers';
  limit?: number;
}

export interface RepoListing {
  info: RepoInfo;
  endpoint: string;
}

/** This device's WebGPU adapter, for "runs on this device" checks. */
export interface GpuInfo {
  adapter: string;
  features: string[];
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** The engine as seen from both threads: the worker implements it, the UI holds a comlink Remote of it. */
export interface EngineApi {
  load(request: LoadRequest, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo>;
  generate(request: GenerateRequest, onEvent?: (e: GenerateEvent) => void): Promise<GenerationResult>;
  /** Stops the running generation (its promise resolves with reason 'abort') and cancels a download in progress (it rejects with AbortError; what was stored resumes next time). */
  abort(): void;
  unload(): Promise<void>;
  stats(): Promise<EngineStats>;
  /** What the weight store holds. */
  storage(): Promise<StorageInfo>;
  /** Deletes one cached model revision. */
  deleteCached(repo: string, commit: string): Promise<void>;
  /**
   * Deletes whole cached revisions, least recently used first, until `bytes` are free (all of
   * them if they hold less); with `dryRun` only says which. Returns them, oldest use first.
   */
  freeSpace(bytes: number, options?: { dryRun?: boolean }): Promise<CachedModel[]>;
  /** A repo's info, files and README at one commit, from the first hub that has it. */
  describeRepo(request: RepoRequest): Promise<RepoDetails>;
  /** A model's facts from its headers (a few range requests), without downloading weights. */
  modelFacts(request: ModelFactsRequest): Promise<ModelFacts>;
  /** Repos across the hubs, each hub's answers in its order; a hub that fails is skipped unless all do. */
  searchRepos(request: RepoSearch): Promise<RepoListing[]>;
  /** The WebGPU adapter the engine would use; WebGPUUnavailableError when there is none. */
  gpuInfo(): Promise<GpuInfo>;
}
