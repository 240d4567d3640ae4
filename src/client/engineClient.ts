// The only place that creates the engine worker. Everything else talks to the engine through
// these functions, which hide comlink and the worker's lifetime.
import * as Comlink from 'comlink';
import {
  WebGPUUnavailableError,
  type CachedModel,
  type EngineApi,
  type GenerateEvent,
  type GenerateRequest,
  type GenerationResult,
  type GpuInfo,
  type LoadProgress,
  type LoadRequest,
  type ModelFacts,
  type ModelFactsRequest,
  type ModelInfo,
  type RepoDetails,
  type RepoListing,
  type RepoRequest,
  type RepoSearch,
  type StorageInfo,
} from '../protocol/index.ts';
import { registerErrorTransfer } from '../worker/errorTransfer.ts';

registerErrorTransfer();

interface Connection {
  worker: Worker;
  engine: Comlink.Remote<EngineApi>;
  /** Rejects when the worker dies; a comlink call on a dead worker would otherwise wait forever. */
  crashed: Promise<never>;
}

let connection: Connection | undefined;
let lastLoad: Promise<unknown> = Promise.resolve();

function connect(): Connection {
  if (connection) return connection;
  const worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), {
    type: 'module',
    name: 'pocket-hub-engine',
  });
  let fail: (err: Error) => void = () => {};
  const crashed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  // Nobody may be waiting when the worker dies; the next call starts a fresh worker.
  crashed.catch(() => {});
  const die = (message: string) => {
    if (connection?.worker === worker) connection = undefined;
    worker.terminate();
    fail(new Error(message));
  };
  // Errors thrown by engine methods travel back through comlink; an 'error' event means the
  // worker itself broke (its module failed to load, or an exception escaped the engine), and
  // its state can no longer be trusted.
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    die(`The engine worker stopped: ${event.message || 'its code failed to load'}.`);
  });
  worker.addEventListener('messageerror', () => die('The engine worker sent a message that could not be read.'));
  connection = { worker, engine: Comlink.wrap<EngineApi>(worker), crashed };
  return connection;
}

function call<T>(run: (engine: Comlink.Remote<EngineApi>) => Promise<T>): Promise<T> {
  const { engine, crashed } = connect();
  return Promise.race([run(engine), crashed]);
}

/** Whether this page can reach WebGPU at all; checked before a worker is spent on it. */
export function webGpuAvailable(): boolean {
  return typeof navigator !== 'undefined' && 'gpu' in navigator && !!navigator.gpu;
}

export function loadModel(request: LoadRequest, onProgress: (p: LoadProgress) => void): Promise<ModelInfo> {
  if (!webGpuAvailable()) {
    const error = new WebGPUUnavailableError('This browser does not offer WebGPU, which Pocket Hub needs to run models.');
    emit({ kind: 'error', during: 'load', error });
    return Promise.reject(error);
  }
  let settled = false;
  const progress = (p: LoadProgress) => {
    onProgress(p);
    // Progress comes on its own port and can trail the result; watchers see none after it.
    if (!settled) emit({ kind: 'progress', progress: p });
  };
  // One load at a time: opening another model while one loads waits for the first to settle.
  const next = lastLoad.catch(() => {}).then(() => call((engine) => engine.load(request, Comlink.proxy(progress))));
  lastLoad = next;
  next.then(
    (model) => {
      settled = true;
      emit({ kind: 'loaded', model });
    },
    (error: unknown) => {
      settled = true;
      emit({ kind: 'error', during: 'load', error });
    },
  );
  return next;
}

export function generate(request: GenerateRequest, onEvent: (e: GenerateEvent) => void): Promise<GenerationResult> {
  const watched = inOrder((text, tokensPerSecond) => emit({ kind: 'token', text, tokensPerSecond }));
  const result = call((engine) =>
    engine.generate(
      request,
      Comlink.proxy((e: GenerateEvent) => {
        onEvent(e);
        watched.event(e);
      }),
    ),
  );
  result.then(
    (r) => {
      watched.settle(r);
      emit({ kind: 'done', result: r });
    },
    (error: unknown) => {
      watched.settle();
      emit({ kind: 'error', during: 'generate', error });
    },
  );
  return result;
}

/**
 * For callers that forward tokens elsewhere (another window, a stream), who need every token's
 * text before the result and none after: pass `event` each generate event and `settle` the
 * outcome. Token events come on their own message port and may still be on the way when the
 * result arrives. The result's text is every token's text joined, so what has not arrived yet
 * is its tail: that is handed on at once, and the stragglers are dropped.
 */
export function inOrder(onToken: (text: string, tokensPerSecond: number) => void) {
  let streamed = '';
  let open = true;
  return {
    event(e: GenerateEvent) {
      if (!open || e.kind !== 'token' || e.text === '') return;
      streamed += e.text;
      onToken(e.text, e.tokensPerSecond);
    },
    settle(result?: GenerationResult) {
      open = false;
      const rest = result?.text.startsWith(streamed) ? result.text.slice(streamed.length) : '';
      if (result && rest) onToken(rest, result.stats.decodeTokensPerSecond);
    },
  };
}

/** What the engine of this page does, whoever asked for it: every load's progress and outcome, every generation's tokens and outcome. */
export type EngineEvent =
  | { kind: 'progress'; progress: LoadProgress }
  | { kind: 'loaded'; model: ModelInfo }
  | { kind: 'token'; text: string; tokensPerSecond: number }
  | { kind: 'done'; result: GenerationResult }
  | { kind: 'error'; during: 'load' | 'generate'; error: unknown };

const watchers = new Set<(event: EngineEvent) => void>();

/**
 * Watches every load and generation of this page's engine, in order: a generation's tokens all
 * come before its 'done'. For pages that relay what happens (an embed posts it to the page
 * around it) without owning the widgets that start it. Returns the function that stops watching.
 */
export function onEngineEvent(watcher: (event: EngineEvent) => void): () => void {
  watchers.add(watcher);
  return () => {
    watchers.delete(watcher);
  };
}

function emit(event: EngineEvent): void {
  for (const watcher of [...watchers]) {
    try {
      watcher(event);
    } catch (err) {
      // A broken watcher must not break the load or generation it watches; it still surfaces.
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

/** What the weight store holds, for the Storage page. */
export function storageInfo(): Promise<StorageInfo> {
  return call((engine) => engine.storage());
}

export function deleteCached(repo: string, commit: string): Promise<void> {
  return call((engine) => engine.deleteCached(repo, commit));
}

/** Deletes (or, with dryRun, lists) the least recently used models until `bytes` are free. */
export function freeSpace(bytes: number, options: { dryRun?: boolean } = {}): Promise<CachedModel[]> {
  return call((engine) => engine.freeSpace(bytes, options));
}

/** A repo's info, files and README, for the model and Space pages; the worker does the HTTP. */
export function describeRepo(request: RepoRequest): Promise<RepoDetails> {
  return call((engine) => engine.describeRepo(request));
}

/** A model's shape and size from its file headers, without downloading the weights. */
export function modelFacts(request: ModelFactsRequest): Promise<ModelFacts> {
  return call((engine) => engine.modelFacts(request));
}

/** Models or Spaces across the hubs, for the listings. */
export function searchRepos(request: RepoSearch): Promise<RepoListing[]> {
  return call((engine) => engine.searchRepos(request));
}

/** The GPU the engine would run on; WebGPUUnavailableError without WebGPU (no worker is started for nothing). */
export function gpuInfo(): Promise<GpuInfo> {
  if (!webGpuAvailable()) {
    return Promise.reject(new WebGPUUnavailableError('This browser does not offer WebGPU, which Pocket Hub needs to run models.'));
  }
  return call((engine) => engine.gpuInfo());
}

/** Asks the running generation to stop (or a download to pause); its `generate` promise then resolves with reason 'abort'. */
export function abort(): void {
  // Fire and forget: a worker that is gone has nothing running to stop.
  connection?.engine.abort().catch(() => {});
}
