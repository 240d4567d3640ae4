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
  /** Cap on the KV cache length; defaults to the model's context length, at most 2048. */
  contextLength?: number;
}

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
}
