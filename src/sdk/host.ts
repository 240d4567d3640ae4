// The host side of the SDK: accepts connections (messages.ts), and runs each request — load a
// model, then generate — through an engine, one request at a time, streaming the replies back on
// the request's port. The engine is passed in (hostEngine.ts gives the app's), so this file
// knows nothing of the app and its tests run in Node on a MessageChannel.
import { AbortError, InvalidArgumentError, serializeError, type GenerateRequest, type GenerationResult, type LoadProgress, type SerializedError } from '../protocol/index.ts';
import { isConnect, parseSdkRequest, SDK_PROTOCOL_VERSION, type HostMessage, type HostReply, type LoadedModel } from './messages.ts';

export interface HostEngine {
  /** Makes `model` (a repo id or URL) the loaded model; a no-op when it already is. */
  load(model: string, onProgress: (p: LoadProgress) => void): Promise<LoadedModel>;
  /**
   * Generates from the loaded model; every token reaches `onToken` before the promise settles.
   * `label` names who asked, for the page to show while the run waits or holds the engine.
   */
  generate(
    request: GenerateRequest,
    onToken: (text: string, tokensPerSecond: number) => void,
    label: string,
  ): Promise<Pick<GenerationResult, 'text' | 'reason' | 'stats'>>;
  /** Stops the generation or the download in flight. */
  abort(): void;
}

/** `label` names who asked ("a page using the SDK", "the Space Story Stream"), as the page shows it. */
export type HostJob = { type: 'load'; model: string } | { type: 'generate'; model: string; request: GenerateRequest; label?: string };

const SDK_LABEL = 'a page using the SDK';

/** Requests one connection may have queued or running; more are refused, so one page cannot pile up work without end. */
const MAX_PENDING_PER_PORT = 8;

/** An error as pages see it: its name, message and hint, not the app's stack. */
function publicError(err: unknown): SerializedError {
  const { name, message, hint } = serializeError(err);
  return hint ? { name, message, hint } : { name, message };
}

export class SdkHost {
  // Every request of every connection (and every embed command) waits its turn here: the engine
  // holds one model and runs one generation.
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly engine: HostEngine) {}

  /**
   * Runs `job` after the jobs before it. Replies go to `reply`, the last being 'loaded' (load),
   * 'done' (generate) or 'error'. Returns the function that cancels it: a queued job then ends
   * with an AbortError, a running one is stopped (a generation ends 'done' with reason 'abort').
   */
  run(job: HostJob, reply: (r: HostReply) => void): () => void {
    const state = { cancelled: false, running: false, finished: false };
    const stopped = () => new AbortError('The request was stopped.');
    const work = async (): Promise<HostReply> => {
      if (state.cancelled) throw stopped();
      state.running = true;
      const model = await this.engine.load(job.model, (progress) => {
        if (!state.cancelled) reply({ type: 'progress', progress });
      });
      // A load that could not be stopped (it was past its download) still ends the request here.
      if (state.cancelled) throw stopped();
      if (job.type === 'load') return { type: 'loaded', model };
      reply({ type: 'loaded', model });
      const result = await this.engine.generate(job.request, (text, tokensPerSecond) => reply({ type: 'token', text, tokensPerSecond }), job.label ?? SDK_LABEL);
      return { type: 'done', outcome: { text: result.text, reason: result.reason, stats: result.stats } };
    };
    // Marked finished before the last reply, so that a cancel it prompts cannot stop the engine's next job.
    const finish = (last: HostReply) => {
      state.running = false;
      state.finished = true;
      reply(last);
    };
    const settled = this.tail.then(work).then(finish, (err: unknown) => finish({ type: 'error', error: publicError(err) }));
    // The queue must never reject, or every later job would be skipped; a reply that throws still surfaces.
    this.tail = settled.catch((err: unknown) => {
      queueMicrotask(() => {
        throw err;
      });
    });
    return () => {
      if (state.cancelled || state.finished) return;
      state.cancelled = true;
      if (state.running) this.engine.abort();
    };
  }

  /** Serves one SDK connection for `label`; returns the function that ends it (its requests are cancelled). */
  serve(port: MessagePort, label = SDK_LABEL): () => void {
    const pending = new Map<number, () => void>();
    const send = (message: HostMessage) => port.postMessage(message);
    port.onmessage = (event: MessageEvent) => {
      const parsed = parseSdkRequest(event.data);
      if (!parsed.ok) {
        // Without an id there is no request to answer; the SDK never sends such a message.
        if (parsed.id !== undefined) send({ type: 'error', id: parsed.id, error: publicError(new InvalidArgumentError(parsed.reason)) });
        return;
      }
      const request = parsed.value;
      if (request.type === 'abort') {
        pending.get(request.id)?.();
        return;
      }
      const refuse = (message: string) => send({ type: 'error', id: request.id, error: publicError(new InvalidArgumentError(message)) });
      if (pending.has(request.id)) return refuse(`Request ${request.id} is still running; give each request its own id.`);
      if (pending.size >= MAX_PENDING_PER_PORT) return refuse(`At most ${MAX_PENDING_PER_PORT} requests may wait at once; wait for one to finish.`);
      const cancel = this.run(request.type === 'generate' ? { ...request, label } : request, (reply) => {
        const last = reply.type === 'error' || reply.type === 'done' || (reply.type === 'loaded' && request.type === 'load');
        if (last) pending.delete(request.id);
        send({ ...reply, id: request.id });
      });
      pending.set(request.id, cancel);
    };
    return () => {
      for (const cancel of pending.values()) cancel();
      pending.clear();
      port.close();
    };
  }

  /**
   * Accepts SDK connections posted to `target` (a window) by the senders `accepts` lets in, whose
   * runs the page names `label`. Returns the function that stops listening and ends every
   * connection it accepted.
   */
  listen(target: EventTarget, accepts: (event: MessageEvent) => boolean, label = SDK_LABEL): () => void {
    const connections: (() => void)[] = [];
    const onMessage = (event: Event) => {
      const message = event as MessageEvent;
      if (!isConnect(message.data) || !accepts(message)) return;
      const port = message.ports[0];
      if (!port) return;
      if (message.data.version !== SDK_PROTOCOL_VERSION) {
        const error = publicError(
          new InvalidArgumentError(
            `This Pocket Hub speaks version ${SDK_PROTOCOL_VERSION} of the SDK protocol, not ${message.data.version}.`,
            'Load the SDK from the same Pocket Hub: <app>/sdk/pocket-hub.js.',
          ),
        );
        port.postMessage({ type: 'error', id: null, error } satisfies HostMessage);
        port.close();
        return;
      }
      port.postMessage({ type: 'hello', version: SDK_PROTOCOL_VERSION } satisfies HostMessage);
      connections.push(this.serve(port, label));
    };
    target.addEventListener('message', onMessage);
    return () => {
      target.removeEventListener('message', onMessage);
      for (const close of connections.splice(0)) close();
    };
  }
}
