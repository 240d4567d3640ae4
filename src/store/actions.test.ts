import { beforeEach, expect, test, vi } from 'vitest';
import {
  AbortError,
  NetworkError,
  type GenerateEvent,
  type GenerateRequest,
  type GenerationResult,
  type LoadProgress,
  type LoadRequest,
  type ModelInfo,
} from '../protocol/index.ts';
import { cancelLoad, editTurn, newChat, openModel, regenerate, resumeLoad, retry, send, setDraft, setSystemPrompt, showConversation, stop } from './actions.ts';
import { runGeneration, stopAllRuns, useEngineRuns } from '../client/engineRuns.ts';
import type { Conversation } from './conversationRecord.ts';
import { defaultSampling } from './sampling.ts';
import { initialChat, initialModel, useHub } from './store.ts';

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

// The engine client, replaced by one whose calls the test settles by hand.
const engine = vi.hoisted(() => ({
  loads: [] as { url?: string; request: LoadRequest; onProgress: (p: LoadProgress) => void; settle: Pending<ModelInfo> }[],
  runs: [] as { request: GenerateRequest; onEvent: (e: GenerateEvent) => void; settle: Pending<GenerationResult> }[],
  aborts: 0,
}));

vi.mock('../client/engineClient.ts', () => ({
  loadModel: (request: LoadRequest, onProgress: (p: LoadProgress) => void) =>
    new Promise<ModelInfo>((resolve, reject) => engine.loads.push({ url: request.url, request, onProgress, settle: { resolve, reject } })),
  generate: (request: GenerateRequest, onEvent: (e: GenerateEvent) => void) =>
    new Promise<GenerationResult>((resolve, reject) => engine.runs.push({ request, onEvent, settle: { resolve, reject } })),
  abort: () => {
    engine.aborts++;
  },
}));

function info(hasChatTemplate: boolean): ModelInfo {
  return {
    url: '/m.gguf',
    format: 'gguf',
    architecture: 'llama',
    layers: 1,
    hiddenSize: 8,
    heads: 1,
    kvHeads: 1,
    vocabSize: 32,
    contextLength: 512,
    parameters: 100,
    hasChatTemplate,
    kvCache: 'f16',
    gpuBytes: 400,
    adapter: 'test',
  };
}

const stats = { promptTokens: 3, generatedTokens: 2, timeToFirstTokenMs: 5, prefillTokensPerSecond: 100, decodeTokensPerSecond: 50 };

function token(text: string): GenerateEvent {
  return { kind: 'token', id: 7, text, tokensPerSecond: 10 };
}

async function loaded(hasChatTemplate = false) {
  openModel('/m.gguf');
  engine.loads.at(-1)!.settle.resolve(info(hasChatTemplate));
  await vi.waitFor(() => expect(useHub.getState().loadStatus).toBe('ready'));
}

function sendText(text: string): boolean {
  setDraft(text);
  return send();
}

beforeEach(async () => {
  // A test may leave its run unfinished; the page's run queue must be free for the next one.
  stopAllRuns();
  for (const run of engine.runs) run.settle.reject(new AbortError('left over'));
  await vi.waitFor(() => expect(useEngineRuns.getState().running).toBeUndefined());
  engine.loads.length = 0;
  engine.runs.length = 0;
  engine.aborts = 0;
  useHub.setState({ ...initialModel, ...initialChat, model: undefined, modelUrl: undefined, failure: undefined, lastRun: undefined, sampling: defaultSampling });
});

test('a completion streams tokens, then takes the text and stats of the result', async () => {
  await loaded();
  expect(sendText('Once')).toBe(true);
  const run = engine.runs[0];
  expect(run.request).toMatchObject({ prompt: 'Once', maxTokens: 256, temperature: 0.8 });
  expect(run.request.seed).toBeUndefined();
  run.onEvent(token(' upon'));
  run.onEvent(token(' a'));
  expect(useHub.getState().entries[0].reply).toBe(' upon a');
  expect(useHub.getState().generation).toMatchObject({ status: 'generating', tokensPerSecond: 10 });

  run.settle.resolve({ promptIds: [1], ids: [2, 3], text: ' upon a', reason: 'length', stats });
  await vi.waitFor(() => expect(useHub.getState().generation.status).toBe('idle'));
  expect(useHub.getState().entries[0]).toMatchObject({ reply: ' upon a', status: 'done', reason: 'length' });
  expect(useHub.getState().lastRun).toEqual({ stats, reason: 'length' });
  expect(useHub.getState().draft).toBe('');
});

test('after Stop, late tokens and the final text leave the transcript as it was', async () => {
  await loaded();
  sendText('Once');
  const run = engine.runs[0];
  run.onEvent(token(' upon'));
  stop();
  expect(engine.aborts).toBe(1);
  run.onEvent(token(' a'));
  expect(useHub.getState().entries[0].reply).toBe(' upon');
  run.settle.resolve({ promptIds: [1], ids: [2, 3], text: ' upon a', reason: 'abort', stats });
  await vi.waitFor(() => expect(useHub.getState().generation.status).toBe('idle'));
  expect(useHub.getState().entries[0]).toMatchObject({ reply: ' upon', reason: 'abort' });
});

test('a reply asked for while another part of the page generates waits its turn, and Stop then only leaves the queue', async () => {
  await loaded();
  const widget = runGeneration('the run box', { prompt: 'x' }, () => {});
  sendText('Once');
  expect(engine.runs).toHaveLength(1);
  expect(useEngineRuns.getState().waiting.map((w) => w.label)).toEqual(['the chat']);
  expect(useHub.getState().generation).toMatchObject({ status: 'generating', ticket: useEngineRuns.getState().waiting[0].id });

  stop();
  expect(engine.aborts).toBe(0);
  await vi.waitFor(() => expect(useHub.getState().generation.status).toBe('idle'));
  expect(useHub.getState().entries[0]).toMatchObject({ reply: '', status: 'done', reason: 'abort' });
  expect(useHub.getState().failure).toBeUndefined();

  // Sent again, it starts once the widget's run is over.
  setDraft('Once');
  send();
  engine.runs[0].settle.resolve({ promptIds: [1], ids: [2], text: 'y', reason: 'length', stats });
  await widget.result;
  await vi.waitFor(() => expect(engine.runs).toHaveLength(2));
  expect(engine.runs[1].request.prompt).toBe('Once');
});

test('a chat sends the earlier finished turns with the new one', async () => {
  await loaded(true);
  sendText('  Hi  ');
  engine.runs[0].settle.resolve({ promptIds: [], ids: [], text: 'Hello!', reason: 'eos', stats });
  await vi.waitFor(() => expect(useHub.getState().generation.status).toBe('idle'));
  sendText('How are you?');
  expect(engine.runs[1].request.messages).toEqual([
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'How are you?' },
  ]);
});

test('bad settings refuse to send and keep the draft', async () => {
  await loaded();
  useHub.setState((s) => ({ sampling: { ...s.sampling, temperature: 'hot' } }));
  expect(sendText('Once')).toBe(false);
  expect(engine.runs).toHaveLength(0);
  expect(useHub.getState().draft).toBe('Once');
  expect(useHub.getState().failure?.error.name).toBe('InvalidArgumentError');
});

test('a failed load keeps its typed error, and Retry loads again', async () => {
  openModel('/nope.gguf');
  engine.loads[0].settle.reject(new NetworkError('No model at /nope.gguf'));
  await vi.waitFor(() => expect(useHub.getState().loadStatus).toBe('failed'));
  expect(useHub.getState().failure?.error).toBeInstanceOf(NetworkError);
  retry();
  expect(engine.loads).toHaveLength(2);
  expect(useHub.getState()).toMatchObject({ loadStatus: 'loading', failure: undefined });
});

test('progress and the result of a superseded load are dropped', async () => {
  openModel('/a.gguf');
  const first = engine.loads[0];
  openModel('/b.gguf');
  first.onProgress({ kind: 'read', loaded: 5, total: 10 });
  first.settle.resolve(info(false));
  engine.loads[1].onProgress({ kind: 'upload', loaded: 1, total: 10 });
  // Lets the first load's settled promise run its callbacks.
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(useHub.getState()).toMatchObject({ modelUrl: '/b.gguf', loadStatus: 'loading' });
  expect(Object.keys(useHub.getState().stages)).toEqual(['upload']);
});

test('opening the same model again does not reload it', async () => {
  await loaded();
  openModel('/m.gguf');
  expect(engine.loads).toHaveLength(1);
});

test('a cancelled download pauses, and Resume sends the same request again', async () => {
  const request: LoadRequest = { repo: 'org/m', hubs: ['http://hub'] };
  openModel('org/m', request);
  const first = engine.loads[0];
  cancelLoad();
  expect(engine.aborts).toBe(1);
  first.settle.reject(new AbortError('Download of org/m was cancelled'));
  await vi.waitFor(() => expect(useHub.getState().loadStatus).toBe('paused'));
  expect(useHub.getState().failure).toBeUndefined();
  resumeLoad();
  expect(engine.loads).toHaveLength(2);
  expect(engine.loads[1].request).toEqual(request);
  expect(useHub.getState().loadStatus).toBe('loading');
  // Another hub for the same repo is another load.
  openModel('org/m', { ...request, hubs: ['http://other'] });
  expect(engine.loads).toHaveLength(3);
});

/** Sends `text` and lets the engine answer `reply`. */
async function exchange(text: string, reply: string) {
  sendText(text);
  engine.runs.at(-1)!.settle.resolve({ promptIds: [], ids: [], text: reply, reason: 'eos', stats });
  await vi.waitFor(() => expect(useHub.getState().generation.status).toBe('idle'));
}

test('a system prompt goes first to a chat model, and a blank one is not sent', async () => {
  await loaded(true);
  setSystemPrompt('You are terse.');
  sendText('Hi');
  expect(engine.runs[0].request.messages).toEqual([
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Hi' },
  ]);
  engine.runs[0].settle.resolve({ promptIds: [], ids: [], text: 'Yo.', reason: 'eos', stats });
  await vi.waitFor(() => expect(useHub.getState().generation.status).toBe('idle'));
  setSystemPrompt('  ');
  sendText('Bye');
  expect(engine.runs[1].request.messages?.[0]).toEqual({ role: 'user', content: 'Hi' });
});

test('a completion model is given only the text, whatever the system prompt says', async () => {
  await loaded(false);
  setSystemPrompt('ignored');
  sendText('Once');
  expect(engine.runs[0].request).toMatchObject({ prompt: 'Once' });
  expect(engine.runs[0].request.messages).toBeUndefined();
});

test('Regenerate answers the last turn again from the same conversation', async () => {
  await loaded(true);
  await exchange('Hi', 'Hello!');
  await exchange('Joke?', 'No.');
  expect(regenerate()).toBe(true);
  expect(useHub.getState().entries.at(-1)).toMatchObject({ user: 'Joke?', reply: '', status: 'streaming' });
  expect(engine.runs[2].request.messages).toEqual([
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'Joke?' },
  ]);
  // Not while that reply streams.
  expect(regenerate()).toBe(false);
});

test('editing a turn forgets what came after it and answers the new text', async () => {
  await loaded(true);
  await exchange('Hi', 'Hello!');
  await exchange('Joke?', 'No.');
  const first = useHub.getState().entries[0].id;
  expect(editTurn(first, '  Good morning ')).toBe(true);
  expect(useHub.getState().entries).toHaveLength(1);
  expect(useHub.getState().entries[0]).toMatchObject({ id: first, user: 'Good morning', reply: '', status: 'streaming' });
  expect(engine.runs[2].request.messages).toEqual([{ role: 'user', content: 'Good morning' }]);
});

test('bad settings leave an edited turn failed, and Retry answers it once they are fixed', async () => {
  await loaded(false);
  await exchange('Once', ' upon');
  const id = useHub.getState().entries[0].id;
  useHub.setState((s) => ({ sampling: { ...s.sampling, topP: '0' } }));
  expect(editTurn(id, 'Twice')).toBe(false);
  expect(useHub.getState().entries[0]).toMatchObject({ user: 'Twice', status: 'failed' });
  expect(useHub.getState().failure?.error.message).toContain('Top-p');
  useHub.setState((s) => ({ sampling: { ...s.sampling, topP: '1' } }));
  retry();
  expect(engine.runs.at(-1)!.request).toMatchObject({ prompt: 'Twice', topP: 1 });
});

const savedChat: Conversation = {
  id: 'c1',
  title: 'Hi',
  model: '/other.gguf',
  mode: 'chat',
  createdAt: 1,
  updatedAt: 2,
  systemPrompt: 'Be kind.',
  messages: [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!', reason: 'eos' },
  ],
  sampling: { ...defaultSampling, temperature: '0' },
};

test('a saved conversation waits for its own model, which then keeps it', async () => {
  await loaded(true);
  expect(showConversation(savedChat)).toBe(true);
  expect(useHub.getState()).toMatchObject({ systemPrompt: 'Be kind.', sampling: { temperature: '0' }, conversation: { id: 'c1', model: '/other.gguf' } });
  expect(useHub.getState().entries).toMatchObject([{ user: 'Hi', reply: 'Hello!', status: 'done' }]);
  // '/m.gguf' is still the model loaded: nothing may be sent to it for this conversation.
  expect(sendText('More')).toBe(false);
  expect(regenerate()).toBe(false);

  openModel('/other.gguf');
  engine.loads.at(-1)!.settle.resolve(info(true));
  await vi.waitFor(() => expect(useHub.getState().loadStatus).toBe('ready'));
  expect(useHub.getState().conversation?.id).toBe('c1');
  expect(sendText('More')).toBe(true);
  expect(engine.runs[0].request.messages).toEqual([
    { role: 'system', content: 'Be kind.' },
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'More' },
  ]);
});

test('another model starts a new chat, and New chat keeps a load failure on screen', async () => {
  await loaded(true);
  showConversation({ ...savedChat, model: '/m.gguf' });
  openModel('/nope.gguf');
  expect(useHub.getState()).toMatchObject({ entries: [], conversation: undefined, systemPrompt: '' });
  engine.loads.at(-1)!.settle.reject(new NetworkError('No model at /nope.gguf'));
  await vi.waitFor(() => expect(useHub.getState().loadStatus).toBe('failed'));
  expect(newChat()).toBe(true);
  expect(useHub.getState().failure?.retry).toEqual({ kind: 'load' });
});

test('New chat and opening a conversation wait for a streaming reply', async () => {
  await loaded(true);
  sendText('Hi');
  expect(newChat()).toBe(false);
  expect(showConversation({ ...savedChat, model: '/m.gguf' })).toBe(false);
  expect(useHub.getState().entries).toHaveLength(1);
});
