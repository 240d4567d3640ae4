// Pocket Hub's JavaScript SDK, served as one standalone ES module at <app>/sdk/pocket-hub.js:
//
//   import { PocketHub } from 'https://<app>/sdk/pocket-hub.js';
//   const hub = new PocketHub();
//   const stream = await hub.chat.completions.create({ model: 'owner/name', messages, stream: true });
//   for await (const chunk of stream) console.log(chunk.choices[0]?.delta?.content ?? '');
//
// The model runs in Pocket Hub's engine on the visitor's GPU, with the weights cached in Pocket
// Hub's storage. The SDK reaches that engine through a MessageChannel (messages.ts): inside a
// static Space, the Space's page in the app is the host; anywhere else the SDK opens the app's
// /sdk/host.html in a hidden iframe and connects to it. Nothing here imports the app.
import { AbortError, NetworkError, PocketHubError, reviveError, type GenerateRequest, type LoadStage } from '../protocol/index.ts';
import { CONNECT, isHostReady, parseHostMessage, SDK_PROTOCOL_VERSION, type ConnectMessage, type GenerateOutcome, type HostReply, type LoadedModel, type SdkRequest } from './messages.ts';
import {
  chatRequest,
  chatShape,
  completionRequest,
  completionShape,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatCompletionCreateParams,
  type Completion,
  type CompletionCreateParams,
  type ResponseShape,
} from './openai.ts';

export { PocketHubError };
export type { LoadedModel } from './messages.ts';
export type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
  Completion,
  CompletionCreateParams,
  CompletionUsage,
} from './openai.ts';

export interface ProgressEvent {
  /** The model as the request named it. */
  model: string;
  /** 'download' counts bytes of every file the model needs; the other stages run once it is stored. */
  stage: LoadStage;
  loaded: number;
  total: number;
  file?: string;
}

export interface PocketHubOptions {
  /**
   * Where Pocket Hub is served: its origin, plus its base path if it has one
   * (`https://example.org/pocket-hub`). Default: the app this module was loaded from.
   */
  origin?: string;
  /** A port whose other end a Pocket Hub host already serves; no iframe is opened then. */
  port?: MessagePort;
  /** How long to wait for the host to answer before giving up; default 30 s. */
  connectTimeoutMs?: number;
}

export interface RequestOptions {
  /** Called while the model downloads and loads; `hub.on('progress')` hears every request's. */
  onProgress?: (event: ProgressEvent) => void;
  /** Aborting stops the request: queued, loading or generating. */
  signal?: AbortSignal;
}

export type ChatCreateParams = ChatCompletionCreateParams & RequestOptions;
export type CompletionCreateOptions = CompletionCreateParams & RequestOptions;

/** The chunks of a streamed response, read once with `for await`. */
export interface CompletionStream<Chunk> extends AsyncIterable<Chunk> {
  /** Stops the generation; the iteration then ends quietly after the chunks already received. */
  abort(): void;
}

export interface ChatCompletions {
  create(params: ChatCreateParams & { stream: true }): Promise<CompletionStream<ChatCompletionChunk>>;
  create(params: ChatCreateParams & { stream?: false | null }): Promise<ChatCompletion>;
}

export interface Completions {
  create(params: CompletionCreateOptions & { stream: true }): Promise<CompletionStream<Completion>>;
  create(params: CompletionCreateOptions & { stream?: false | null }): Promise<Completion>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

type Job = { type: 'load'; model: string } | { type: 'generate'; model: string; request: GenerateRequest };

/** One request in flight: `loaded` settles at the host's 'loaded', `finished` at the end. */
interface Run {
  loaded: Promise<LoadedModel>;
  finished: Promise<GenerateOutcome | undefined>;
  abort(): void;
  /** Whether the caller stopped it (abort() or the signal). */
  readonly aborted: boolean;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers await one of a run's promises or the other; a rejection nobody awaits is not an error here.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

function createStream<Chunk>(stop: () => void) {
  const chunks: Chunk[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let taken = false;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  async function* read(): AsyncGenerator<Chunk> {
    try {
      for (;;) {
        if (chunks.length > 0) yield chunks.shift()!;
        else if (failure !== undefined) throw failure;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      // Leaving the loop early (break, return, a throw in its body) stops the generation.
      if (!ended && failure === undefined) stop();
    }
  }
  const stream: CompletionStream<Chunk> = {
    abort: stop,
    [Symbol.asyncIterator]() {
      if (taken) throw new Error('A completion stream can be read only once.');
      taken = true;
      return read();
    },
  };
  const sink = {
    push(chunk: Chunk) {
      chunks.push(chunk);
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    fail(err: unknown) {
      failure = err;
      notify();
    },
  };
  return { stream, sink };
}

/** The app's address ending in '/', from the option or from this module's own URL (<app>/sdk/pocket-hub.js). */
function appBase(origin: string | undefined): URL {
  // Resolved where the module runs, not at build time: it is the app the module was loaded from.
  if (origin === undefined) return new URL(/* @vite-ignore */ '../', import.meta.url);
  return new URL(origin.endsWith('/') ? origin : `${origin}/`);
}

function noAnswer(where: string): PocketHubError {
  return new NetworkError(`Pocket Hub at ${where} did not answer.`, 'Check the address the SDK connects to (the `origin` option) and that the network is up.');
}

/** `promise`, or a NetworkError once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number, where: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(noAnswer(where)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The host's answer to a connect: 'hello', or an error (it speaks another version of the protocol). */
function hello(port: MessagePort): Promise<MessagePort> {
  return new Promise((resolve, reject) => {
    port.onmessage = (event) => {
      const message = parseHostMessage(event.data);
      if (!message || (message.type !== 'hello' && message.id !== null)) return;
      port.onmessage = null;
      if (message.type === 'hello') resolve(port);
      else reject(reviveError(message.error));
    };
  });
}

/** Connects to the engine's host: the Space page around a sandboxed Space, else /sdk/host.html in a hidden iframe. */
async function openConnection(options: PocketHubOptions): Promise<{ port: MessagePort; close(): void }> {
  if (options.port) return { port: options.port, close: () => options.port?.close() };
  const base = appBase(options.origin);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const channel = new MessageChannel();
  const connect: ConnectMessage = { type: CONNECT, version: SDK_PROTOCOL_VERSION };
  // A static Space runs in an iframe sandboxed without allow-same-origin: its origin is opaque
  // ('null') and its host is the page around it. Only a parent at the app's origin gets the port.
  if (globalThis.origin === 'null' && window.parent !== window) {
    const answer = hello(channel.port1);
    window.parent.postMessage(connect, base.origin, [channel.port2]);
    const close = () => channel.port1.close();
    try {
      return { port: await within(answer, timeoutMs, base.href), close };
    } catch (err) {
      close();
      throw err;
    }
  }
  const iframe = document.createElement('iframe');
  iframe.src = new URL('sdk/host.html', base).href;
  iframe.title = 'Pocket Hub engine';
  iframe.hidden = true;
  iframe.setAttribute('aria-hidden', 'true');
  iframe.tabIndex = -1;
  let onMessage: (event: MessageEvent) => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onMessage = (event) => {
      if (event.source === iframe.contentWindow && event.origin === base.origin && isHostReady(event.data)) resolve();
    };
  });
  window.addEventListener('message', onMessage);
  (document.body ?? document.documentElement).append(iframe);
  const close = () => {
    channel.port1.close();
    iframe.remove();
  };
  try {
    await within(ready, timeoutMs, base.href);
    const answer = hello(channel.port1);
    iframe.contentWindow?.postMessage(connect, base.origin, [channel.port2]);
    return { port: await within(answer, timeoutMs, base.href), close };
  } catch (err) {
    close();
    throw err;
  } finally {
    window.removeEventListener('message', onMessage);
  }
}

export class PocketHub {
  readonly chat: { completions: ChatCompletions };
  readonly completions: Completions;
  private connection?: Promise<{ port: MessagePort; close(): void }>;
  private readonly runs = new Map<number, (reply: HostReply) => void>();
  private readonly progressListeners = new Set<(event: ProgressEvent) => void>();
  private nextId = 1;

  constructor(private readonly options: PocketHubOptions = {}) {
    // async, so that bad parameters reject the promise rather than throw from create().
    const chatCreate = async (params: ChatCreateParams) =>
      this.respond(params, chatRequest(params), chatShape(params.model, !!params.stream_options?.include_usage));
    const completionCreate = async (params: CompletionCreateOptions) =>
      this.respond(params, completionRequest(params), completionShape(params.model, !!params.stream_options?.include_usage));
    this.chat = { completions: { create: chatCreate as ChatCompletions['create'] } };
    this.completions = { create: completionCreate as Completions['create'] };
  }

  /** Hears the load progress of every request; returns the function that stops listening. */
  on(event: 'progress', listener: (event: ProgressEvent) => void): () => void {
    if (event !== 'progress') throw new TypeError(`Unknown event ${JSON.stringify(event)}; the SDK sends 'progress'.`);
    this.progressListeners.add(listener);
    return () => {
      this.progressListeners.delete(listener);
    };
  }

  /** Downloads and loads a model ahead of the first request, e.g. behind a "Load" button. */
  async load(model: string, options: RequestOptions = {}): Promise<LoadedModel> {
    const run = await this.start({ type: 'load', model }, options, () => {});
    return run.loaded;
  }

  /** Ends the connection: requests in flight fail with AbortError, and the hidden iframe goes. */
  close(): void {
    const connection = this.connection;
    this.connection = undefined;
    for (const deliver of [...this.runs.values()]) deliver({ type: 'error', error: { name: 'AbortError', message: 'The SDK connection was closed.' } });
    void connection?.then((c) => c.close(), () => {});
  }

  private connect(): Promise<MessagePort> {
    this.connection ??= openConnection(this.options).then(
      (connection) => {
        connection.port.onmessage = (event) => {
          const message = parseHostMessage(event.data);
          if (message && message.type !== 'hello' && message.id !== null) this.runs.get(message.id)?.(message);
        };
        return connection;
      },
      (err: unknown) => {
        // A later request tries again: the host may have been offline for a moment.
        this.connection = undefined;
        throw err;
      },
    );
    return this.connection.then((c) => c.port);
  }

  private async start(job: Job, { onProgress, signal }: RequestOptions, onToken: (text: string) => void): Promise<Run> {
    const abortedEarly = () => new AbortError('The request was aborted before it started.');
    if (signal?.aborted) throw abortedEarly();
    const port = await this.connect();
    if (signal?.aborted) throw abortedEarly();
    const id = this.nextId++;
    const loaded = deferred<LoadedModel>();
    const finished = deferred<GenerateOutcome | undefined>();
    let aborted = false;
    const abort = () => {
      if (aborted || !this.runs.has(id)) return;
      aborted = true;
      port.postMessage({ type: 'abort', id } satisfies SdkRequest);
    };
    const end = () => {
      this.runs.delete(id);
      signal?.removeEventListener('abort', abort);
    };
    this.runs.set(id, (reply) => {
      switch (reply.type) {
        case 'progress': {
          const event: ProgressEvent = { model: job.model, stage: reply.progress.kind, loaded: reply.progress.loaded, total: reply.progress.total, file: reply.progress.file };
          onProgress?.(event);
          for (const listener of this.progressListeners) listener(event);
          break;
        }
        case 'loaded':
          loaded.resolve(reply.model);
          if (job.type === 'load') {
            end();
            finished.resolve(undefined);
          }
          break;
        case 'token':
          if (!aborted) onToken(reply.text);
          break;
        case 'done':
          end();
          finished.resolve(reply.outcome);
          break;
        case 'error': {
          end();
          const err = reviveError(reply.error);
          loaded.reject(err);
          finished.reject(err);
          break;
        }
      }
    });
    signal?.addEventListener('abort', abort, { once: true });
    port.postMessage({ id, ...job } satisfies SdkRequest);
    return {
      loaded: loaded.promise,
      finished: finished.promise,
      abort,
      get aborted() {
        return aborted;
      },
    };
  }

  /** Runs one create call: a stream once the model is loaded, or the whole response at the end. */
  private async respond<Chunk, Whole>(params: RequestOptions & { model: string; stream?: boolean | null }, request: GenerateRequest, shape: ResponseShape<Chunk, Whole>) {
    const { onProgress, signal } = params;
    if (!params.stream) {
      const run = await this.start({ type: 'generate', model: params.model, request }, { onProgress, signal }, () => {});
      const outcome = (await run.finished)!;
      if (outcome.reason === 'abort') throw new AbortError(run.aborted ? 'The request was aborted.' : 'The generation was stopped by the page that runs the engine.');
      return shape.whole(outcome.text, outcome.reason, outcome.stats);
    }
    let stop = () => {};
    const { stream, sink } = createStream<Chunk>(() => stop());
    for (const chunk of shape.opening) sink.push(chunk);
    const firstToken = deferred<void>();
    const run = await this.start({ type: 'generate', model: params.model, request }, { onProgress, signal }, (text) => {
      sink.push(shape.token(text));
      firstToken.resolve();
    });
    stop = run.abort;
    run.finished.then(
      (outcome) => {
        if (outcome!.reason !== 'abort') {
          for (const chunk of shape.closing(outcome!.reason, outcome!.stats)) sink.push(chunk);
          sink.end();
        } else if (run.aborted) sink.end();
        else sink.fail(new AbortError('The generation was stopped by the page that runs the engine.'));
      },
      (err: unknown) => (run.aborted && err instanceof PocketHubError && err.name === 'AbortError' ? sink.end() : sink.fail(err)),
    );
    // Errors before the first token (a model that will not load, parameters the engine refuses,
    // a prompt too long for the context) reject the call itself, as OpenAI's client does.
    await Promise.race([firstToken.promise, run.finished]);
    return stream;
  }
}
