// The SDK against the host over a real MessageChannel (Node has the browser's), with a fake
// engine standing in for the worker: chunk shapes, progress, errors, abort, the queue, and the
// connection handshake.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ContextOverflowError, MissingFileError, PocketHubError, type GenerateRequest, type GenerationStats, type LoadProgress } from '../protocol/index.ts';
import { SdkHost, type HostEngine } from './host.ts';
import { CONNECT, SDK_PROTOCOL_VERSION, type HostMessage, type LoadedModel } from './messages.ts';
import { PocketHub, type ChatCompletionChunk, type Completion, type ProgressEvent } from './pocketHub.ts';

const MODEL = 'pocket-hub/stories260K-GGUF';
const STATS: GenerationStats = { promptTokens: 5, generatedTokens: 3, timeToFirstTokenMs: 12, prefillTokensPerSecond: 400, decodeTokensPerSecond: 20 };
const PROGRESS: LoadProgress[] = [
  { kind: 'download', loaded: 600, total: 1200, file: 'stories260K.gguf' },
  { kind: 'upload', loaded: 1, total: 1 },
];

/** An engine that loads at once and generates a fixed story; `hold` keeps a generation running after its first token until abort(). */
class FakeEngine implements HostEngine {
  readonly calls: string[] = [];
  tokens = [', there', ' was', ' a'];
  reason: 'eos' | 'length' | 'stop' = 'eos';
  hold = false;
  loadError?: Error;
  aborts = 0;
  /** Who each generation was for, as the page's run queue names it. */
  readonly labels: string[] = [];
  private release?: () => void;

  async load(model: string, onProgress: (p: LoadProgress) => void): Promise<LoadedModel> {
    this.calls.push(`load ${model}`);
    if (this.loadError) throw this.loadError;
    for (const p of PROGRESS) onProgress(p);
    return { model, architecture: 'llama', parameters: 260_000, contextLength: 512, hasChatTemplate: true };
  }

  async generate(request: GenerateRequest, onToken: (text: string, tokensPerSecond: number) => void, label: string) {
    this.labels.push(label);
    this.calls.push(`generate ${request.prompt ?? request.messages?.at(-1)?.content}`);
    let text = '';
    for (const token of this.tokens) {
      onToken(token, 20);
      text += token;
      if (this.hold) {
        await new Promise<void>((resolve) => (this.release = resolve));
        return { text, reason: 'abort' as const, stats: STATS };
      }
    }
    return { text, reason: this.reason, stats: STATS };
  }

  abort(): void {
    this.aborts++;
    this.release?.();
  }
}

const open: { close(): void }[] = [];

function connect(engine = new FakeEngine(), label?: string) {
  const { port1, port2 } = new MessageChannel();
  const host = new SdkHost(engine);
  const stopServing = host.serve(port2, label);
  const hub = new PocketHub({ port: port1 });
  open.push({ close: stopServing }, hub);
  return { hub, engine, host };
}

afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const chunks: T[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('chat.completions.create', () => {
  it('streams chat.completion.chunk objects: the role first, one per token, then the finish reason and the usage', async () => {
    const { hub, engine } = connect();
    const stream = await hub.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Tell me a story' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = await collect(stream);

    expect(engine.calls).toEqual([`load ${MODEL}`, 'generate Tell me a story']);
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([{ role: 'assistant', content: '' }, { content: ', there' }, { content: ' was' }, { content: ' a' }, {}, undefined]);
    expect(chunks.map((c) => c.choices[0]?.finish_reason)).toEqual([null, null, null, null, 'stop', undefined]);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    // One response: every chunk repeats its id, creation time and model.
    const first = chunks[0];
    expect(first.id).toMatch(/^chatcmpl-[0-9a-z]{24}$/);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === first.id && c.created === first.created && c.model === MODEL)).toBe(true);
  });

  it('answers a chat.completion with the whole reply and its usage when not streaming', async () => {
    const { hub, engine } = connect();
    engine.reason = 'length';
    const reply = await hub.chat.completions.create({ model: MODEL, messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Hi' }], max_tokens: 3 });
    expect(reply).toMatchObject({
      object: 'chat.completion',
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: ', there was a' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
    });
  });
});

describe('completions.create', () => {
  it('streams text_completion objects and ends with the finish reason', async () => {
    const { hub } = connect();
    const stream = await hub.completions.create({ model: MODEL, prompt: 'Once upon a time', temperature: 0, max_tokens: 12, stream: true });
    const chunks: Completion[] = await collect(stream);
    expect(chunks.map((c) => c.choices[0].text).join('')).toBe(', there was a');
    expect(chunks.map((c) => c.choices[0].finish_reason)).toEqual([null, null, null, 'stop']);
    expect(chunks.every((c) => c.object === 'text_completion' && c.id.startsWith('cmpl-') && !('usage' in c))).toBe(true);
  });

  it('reports load progress to the call and to hub.on("progress")', async () => {
    const { hub } = connect();
    const perCall: ProgressEvent[] = [];
    const everywhere: ProgressEvent[] = [];
    const stopListening = hub.on('progress', (e) => everywhere.push(e));
    await hub.completions.create({ model: MODEL, prompt: 'Once', onProgress: (e) => perCall.push(e) });
    expect(perCall).toEqual([
      { model: MODEL, stage: 'download', loaded: 600, total: 1200, file: 'stories260K.gguf' },
      { model: MODEL, stage: 'upload', loaded: 1, total: 1, file: undefined },
    ]);
    expect(everywhere).toEqual(perCall);
    stopListening();
    await hub.load(MODEL);
    expect(everywhere).toHaveLength(2);
  });

  it('rejects with the typed error, its name, message and hint, re-created on the SDK side', async () => {
    const { hub, engine } = connect();
    engine.loadError = new MissingFileError('RepoNotFound: nobody/nothing is on no hub.');
    const failure = await hub.completions.create({ model: 'nobody/nothing', prompt: 'Once', stream: true }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PocketHubError);
    expect(failure).toMatchObject({ name: 'MissingFileError', message: 'RepoNotFound: nobody/nothing is on no hub.', hint: new MissingFileError('').hint });
    // The host's stack (it runs in this file's fake engine) stays with the host.
    expect((failure as Error).stack).not.toContain('sdk.test.ts');
  });

  it('rejects the streaming call itself when the engine refuses the request before its first token', async () => {
    const { hub, engine } = connect();
    engine.generate = async () => {
      throw new ContextOverflowError('The prompt is 600 tokens, but the context holds 512.');
    };
    await expect(hub.completions.create({ model: MODEL, prompt: 'Once', stream: true })).rejects.toMatchObject({ name: 'ContextOverflowError' });
  });

  it('refuses parameters the engine cannot honour before sending anything', async () => {
    const { hub, engine } = connect();
    await expect(hub.completions.create({ model: MODEL, prompt: 'Once', n: 2 })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    await expect(hub.chat.completions.create({ model: MODEL, messages: [] })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    expect(engine.calls).toEqual([]);
  });
});

describe('aborting', () => {
  it('stream.abort() stops the generation and ends the iteration quietly, without a finish chunk', async () => {
    const { hub, engine } = connect();
    engine.hold = true;
    const stream = await hub.completions.create({ model: MODEL, prompt: 'Once', stream: true });
    const chunks: Completion[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      stream.abort();
    }
    expect(engine.aborts).toBe(1);
    expect(chunks.map((c) => c.choices[0].finish_reason)).toEqual([null]);
  });

  it('breaking out of the loop stops the generation too', async () => {
    const { hub, engine } = connect();
    engine.hold = true;
    const stream = await hub.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true });
    for await (const chunk of stream) {
      if (chunk.choices[0].delta.content) break;
    }
    await vi.waitFor(() => expect(engine.aborts).toBe(1));
  });

  it('an aborted signal rejects a whole-response call with AbortError', async () => {
    const { hub, engine } = connect();
    engine.hold = true;
    const controller = new AbortController();
    const reply = hub.completions.create({ model: MODEL, prompt: 'Once', signal: controller.signal });
    await vi.waitFor(() => expect(engine.calls).toContain('generate Once'));
    controller.abort();
    await expect(reply).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a generation stopped by the host page, not by the caller, fails the stream', async () => {
    const { hub, engine } = connect();
    engine.hold = true;
    const stream = await hub.completions.create({ model: MODEL, prompt: 'Once', stream: true });
    const reading = collect(stream);
    await vi.waitFor(() => expect(engine.calls).toContain('generate Once'));
    engine.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError', message: /stopped by the page/ });
  });
});

describe('the host queue', () => {
  it('runs one request at a time, in order, across connections', async () => {
    const engine = new FakeEngine();
    engine.hold = true;
    const host = new SdkHost(engine);
    const hubs = [0, 1].map(() => {
      const { port1, port2 } = new MessageChannel();
      open.push({ close: host.serve(port2) });
      const hub = new PocketHub({ port: port1 });
      open.push(hub);
      return hub;
    });
    const first = await hubs[0].completions.create({ model: MODEL, prompt: 'first', stream: true });
    const second = hubs[1].completions.create({ model: 'other/model', prompt: 'second', stream: true });
    await vi.waitFor(() => expect(engine.calls).toEqual([`load ${MODEL}`, 'generate first']));
    engine.hold = false;
    first.abort();
    await collect(await second);
    expect(engine.calls).toEqual([`load ${MODEL}`, 'generate first', 'load other/model', 'generate second']);
  });

  it('a request aborted while it waits never reaches the engine', async () => {
    const engine = new FakeEngine();
    engine.hold = true;
    const { hub } = connect(engine);
    const first = await hub.completions.create({ model: MODEL, prompt: 'first', stream: true });
    const controller = new AbortController();
    const queued = hub.completions.create({ model: MODEL, prompt: 'queued', signal: controller.signal });
    controller.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    first.abort();
    await hub.load(MODEL);
    expect(engine.calls).toEqual([`load ${MODEL}`, 'generate first', `load ${MODEL}`]);
  });
});

/** The next message a port receives. */
function nextMessage(port: MessagePort): Promise<HostMessage> {
  return new Promise((resolve) => {
    port.onmessage = (event) => resolve(event.data as HostMessage);
  });
}

describe('host requests as any page may send them', () => {
  it('answers a malformed request with InvalidArgumentError and passes on only the fields it knows', async () => {
    const engine = new FakeEngine();
    const { port1, port2 } = new MessageChannel();
    open.push({ close: new SdkHost(engine).serve(port2) }, port1);
    port1.postMessage({ type: 'generate', id: 1, model: MODEL, request: { prompt: 42 } });
    expect(await nextMessage(port1)).toMatchObject({ type: 'error', id: 1, error: { name: 'InvalidArgumentError', message: '`prompt` must be a string.' } });

    const requests: GenerateRequest[] = [];
    engine.generate = async (request) => {
      requests.push(request);
      return { text: '', reason: 'eos', stats: STATS };
    };
    port1.postMessage({ type: 'generate', id: 2, model: MODEL, request: { prompt: 'Once', token: 'hf_stolen', maxTokens: 4, hubs: ['https://evil.example'] } });
    const replies: HostMessage[] = [];
    while (replies.at(-1)?.type !== 'done') replies.push(await nextMessage(port1));
    expect(requests).toEqual([{ prompt: 'Once', maxTokens: 4 }]);
  });
});

describe('connections', () => {
  function connectEvent(port: MessagePort, origin: string, version = SDK_PROTOCOL_VERSION) {
    return new MessageEvent('message', { data: { type: CONNECT, version }, ports: [port], origin });
  }

  it('says hello to an accepted sender once, ignores others, and refuses another protocol version', async () => {
    const host = new SdkHost(new FakeEngine());
    const window = new EventTarget();
    open.push({ close: host.listen(window, (event) => event.origin === 'null') });

    const { port1, port2 } = new MessageChannel();
    open.push(port1);
    const seen: HostMessage[] = [];
    port1.onmessage = (event) => seen.push(event.data as HostMessage);
    // The same port from a sender that is not let in, then from one that is: one hello, not two.
    window.dispatchEvent(connectEvent(port2, 'https://elsewhere.example'));
    window.dispatchEvent(connectEvent(port2, 'null'));
    port1.postMessage({ type: 'load', id: 7, model: MODEL });
    await vi.waitFor(() => expect(seen.at(-1)?.type).toBe('loaded'));
    expect(seen.map((m) => m.type)).toEqual(['hello', 'progress', 'progress', 'loaded']);

    const other = new MessageChannel();
    open.push(other.port1);
    const refused = nextMessage(other.port1);
    window.dispatchEvent(connectEvent(other.port2, 'null', SDK_PROTOCOL_VERSION + 1));
    expect(await refused).toMatchObject({ type: 'error', id: null, error: { name: 'InvalidArgumentError' } });
  });
});

it("names each connection's generations for the page's run queue: the SDK by default, or who the host says", async () => {
  const plain = connect();
  await plain.hub.completions.create({ model: MODEL, prompt: 'Once' });
  const space = connect(new FakeEngine(), 'the Space Story Stream');
  await space.hub.completions.create({ model: MODEL, prompt: 'Once' });
  expect([plain.engine.labels, space.engine.labels]).toEqual([['a page using the SDK'], ['the Space Story Stream']]);
});
