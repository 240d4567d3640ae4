import { NoModelLoadedError, InvalidArgumentError } from '../protocol/errors.ts';
import type {
  EngineApi,
  EngineStats,
  GenerateEvent,
  GenerateRequest,
  GenerationResult,
  GenerationStats,
  GpuInfo,
  LoadProgress,
  LoadRequest,
  ModelInfo,
} from '../protocol/index.ts';
import { createGpu, deviceLostError, type Gpu } from '../gpu/device.ts';
import { elementCount } from './formats/dtype.ts';
import { urlLocation, type ModelLocation } from './files.ts';
import { generate, type AbortFlag } from './generate.ts';
import { LlamaModel } from './model/llama.ts';
import { llamaTensors } from './model/weights.ts';
import { openModel } from './open.ts';
import { DEFAULT_SCORE_TOP_K, scoreIds, type ScoreResult } from './score.ts';
import type { TextTokenizer } from './tokenizer/index.ts';

/** The KV cache is capped here unless the caller asks for more: 2048 positions is modest on any GPU. */
export const DEFAULT_CONTEXT_CAP = 2048;

export interface EngineOptions {
  /** The WebGPU entry point: navigator.gpu in browsers, Dawn's in Node. */
  gpu?: GPU;
  fetch?: typeof fetch;
}

interface Loaded {
  model: LlamaModel;
  tokenizer: TextTokenizer;
  eos: Set<number>;
  info: ModelInfo;
}

/**
 * The engine behind the worker and the CLI: loads one model at a time and generates
 * from it. No DOM: it runs in a Web Worker and in Node on Dawn.
 */
/** The engine's part of EngineApi; the worker adds the weight store's (storage, deleteCached, freeSpace) and the hub's. */
export type EngineCore = Omit<EngineApi, 'storage' | 'deleteCached' | 'freeSpace' | 'describeRepo' | 'modelFacts' | 'searchRepos'>;

export class Engine implements EngineCore {
  private gpu?: Gpu;
  private loaded?: Loaded;
  private running?: { flag: AbortFlag; done: Promise<unknown> };
  private last?: GenerationStats;
  private lostError?: Error;

  constructor(private readonly options: EngineOptions = {}) {}

  async load(request: LoadRequest, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    if (!request.url) throw new InvalidArgumentError('Loading needs the URL of a model file or folder.');
    const fetchFn = this.options.fetch ?? globalThis.fetch.bind(globalThis);
    const location = urlLocation(request.url, fetchFn, (file, loaded, total) => onProgress?.({ kind: 'read', file, loaded, total }));
    return this.loadFrom(location, request, onProgress);
  }

  /** Loads from any location (the CLI passes files on disk). */
  async loadFrom(location: ModelLocation, request: Omit<LoadRequest, 'url'> & { url?: string }, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    await this.unload();
    const gpu = await this.device();
    const opened = await openModel(location);
    const { config } = opened;
    const contextLength = Math.min(request.contextLength ?? DEFAULT_CONTEXT_CAP, config.contextLength);
    if (!(contextLength >= 1)) throw new InvalidArgumentError(`The context length must be ≥ 1, got ${request.contextLength}.`);

    const model = await LlamaModel.create(gpu, config, llamaTensors(opened.format, opened.tensors, config), {
      contextLength,
      ropeMode: opened.ropeMode,
      ...(request.kvCache ? { kvCache: request.kvCache } : {}),
      ...(request.numerics ? { numerics: request.numerics } : {}),
      onUpload: (loaded, total) => onProgress?.({ kind: 'upload', loaded, total }),
    });
    try {
      onProgress?.({ kind: 'compile', loaded: 1, total: 1 });
      // One forward pass makes the driver finish compiling every pipeline before the user's first token.
      onProgress?.({ kind: 'warmup', loaded: 0, total: 1 });
      model.forward([opened.tokenizer.bosTokenId ?? 0], 0);
      await model.argmaxLast();
      onProgress?.({ kind: 'warmup', loaded: 1, total: 1 });
    } catch (err) {
      model.destroy();
      throw this.lostError ?? err;
    }

    const eos = new Set([...config.eosTokenIds, ...opened.tokenizer.eosTokenIds]);
    const parameters = opened.tensors.reduce((sum, t) => sum + elementCount(t.shape), 0);
    const info: ModelInfo = {
      url: request.url ?? location.name,
      format: opened.format,
      architecture: config.architecture,
      layers: config.layers,
      hiddenSize: config.hiddenSize,
      heads: config.heads,
      kvHeads: config.kvHeads,
      vocabSize: config.vocabSize,
      contextLength,
      parameters,
      hasChatTemplate: opened.tokenizer.chatTemplate !== undefined,
      kvCache: model.kvCache,
      gpuBytes: model.gpuBytes,
      adapter: gpu.adapterName,
    };
    this.loaded = { model, tokenizer: opened.tokenizer, eos, info };
    return info;
  }

  async generate(request: GenerateRequest, onEvent?: (e: GenerateEvent) => void): Promise<GenerationResult> {
    if (this.lostError) throw this.lostError;
    const loaded = this.loaded;
    if (!loaded) throw new NoModelLoadedError('No model is loaded.');
    if (this.running) throw new InvalidArgumentError('A generation is already running: stop it first.');
    const flag: AbortFlag = { aborted: false };
    const done = generate(loaded.model, loaded.tokenizer, request, loaded.eos, flag, onEvent);
    this.running = { flag, done };
    try {
      const result = await done;
      this.last = result.stats;
      return result;
    } catch (err) {
      throw this.lostError ?? err;
    } finally {
      this.running = undefined;
    }
  }

  /**
   * Teacher-forces `ids` (BOS included when wanted) and gives, for every position, the `topK`
   * most likely next tokens with their probabilities, and the perplexity of ids[1..]. Shares
   * the KV cache with generation: it is refused while a generation runs, and unload and
   * abort treat it as one.
   */
  async score(ids: number[], options: { topK?: number } = {}): Promise<ScoreResult> {
    if (this.lostError) throw this.lostError;
    const loaded = this.loaded;
    if (!loaded) throw new NoModelLoadedError('No model is loaded.');
    if (this.running) throw new InvalidArgumentError('A generation is already running: stop it first.');
    const flag: AbortFlag = { aborted: false };
    const done = scoreIds(loaded.model, ids, options.topK ?? DEFAULT_SCORE_TOP_K, flag);
    this.running = { flag, done };
    try {
      return await done;
    } catch (err) {
      throw this.lostError ?? err;
    } finally {
      this.running = undefined;
    }
  }

  abort(): void {
    if (this.running) this.running.flag.aborted = true;
  }

  /** Stops any generation, waits for it to leave the GPU alone, then frees the model. */
  async unload(): Promise<void> {
    const running = this.running;
    this.abort();
    await running?.done.catch(() => {});
    this.loaded?.model.destroy();
    this.loaded = undefined;
  }

  async stats(): Promise<EngineStats> {
    return { loaded: !!this.loaded, gpuBytes: this.loaded?.model.gpuBytes ?? 0, adapter: this.gpu?.adapterName ?? '', last: this.last };
  }

  /**
   * The device the engine runs on (opened now if no load has opened it yet): the features it
   * was given and the limits every buffer is checked against, so a model page can tell before
   * a download whether the weights fit.
   */
  async gpuInfo(): Promise<GpuInfo> {
    const gpu = await this.device();
    const { limits, features } = gpu.device;
    return {
      adapter: gpu.adapterName,
      features: [...features].sort(),
      maxBufferSize: limits.maxBufferSize,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    };
  }

  /** The tokenizer of the loaded model (the CLI prints its ids). */
  get tokenizer(): TextTokenizer | undefined {
    return this.loaded?.tokenizer;
  }

  private async device(): Promise<Gpu> {
    if (this.gpu && !this.lostError) return this.gpu;
    this.lostError = undefined;
    const gpu = await createGpu(this.options.gpu ?? globalThis.navigator?.gpu);
    gpu.lost.then((info) => {
      // The engine never destroys its device, so any loss of the current one is an error.
      if (this.gpu !== gpu) return;
      this.lostError = deviceLostError(info);
      this.loaded = undefined;
    });
    this.gpu = gpu;
    return gpu;
  }
}
