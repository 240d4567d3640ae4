// Everything that changes the model and the chat session in the store. UI events call these;
// the engine client's callbacks call the *Received functions. Each load and each generation
// has an id so that events from one that has been superseded (a new model opened, Stop
// pressed) are dropped. Saved conversations are history.ts's.
import * as client from '../client/engineClient.ts';
import { runGeneration, type RunHandle } from '../client/engineRuns.ts';
import {
  isPocketHubError,
  type ChatMessage,
  type GenerateEvent,
  type GenerateRequest,
  type GenerationResult,
  type LoadProgress,
  type LoadRequest,
} from '../protocol/index.ts';
import { requestPersistence } from '../storage/idbStore.ts';
import { rewind, savedSampling, toEntries, type Conversation } from './conversationRecord.ts';
import { advanceStage, finishEarlierStages } from './progress.ts';
import { greedySampling, defaultSampling, parseSampling, type ParsedSampling, type SamplingForm } from './sampling.ts';
import { initialChat, useHub, type ChatSlice, type Entry } from './store.ts';
import { loadHubSettings } from './hubSettings.ts';

let loadId = 0;
let runId = 0;
let entryId = 0;
/** The chat's generation in the page's run queue, waiting or running. */
let chatRun: RunHandle | undefined;

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Loads `model` (what `?model=` said) with `request` unless the same load is already loaded or
 * loading; `force` loads it again.
 */
export function openModel(model: string, request: LoadRequest = { url: model }, force = false): void {
  const state = useHub.getState();
  const same = state.modelUrl === model && JSON.stringify(state.loadRequest) === JSON.stringify(request);
  if (!force && same && (state.loadStatus === 'loading' || state.loadStatus === 'ready')) return;
  if (state.generation.status !== 'idle') chatRun?.stop();
  // Asked from this thread because StorageManager.persist() exists only on windows, not in the worker.
  if (request.repo) void requestPersistence();
  const id = ++loadId;
  // The open conversation stays when it belongs to this model (it was opened from the list,
  // which then switched to its model); any other model starts a new chat.
  const keepChat = state.conversation !== undefined && state.conversation.model === model;
  const chat = keepChat
    ? {
        generation: { status: 'idle' as const },
        entries: state.entries.map((e): Entry => (e.status === 'streaming' ? { ...e, status: 'done', reason: 'abort' } : e)),
      }
    : { ...initialChat, draft: state.draft };
  useHub.setState({
    ...chat,
    lastRun: undefined,
    failure: undefined,
    modelUrl: model,
    loadRequest: request,
    loadStatus: 'loading',
    stages: {},
    model: undefined,
  });
  client.loadModel(request, (p) => progressReceived(id, p)).then(
    (loaded) => {
      if (id === loadId) useHub.setState({ loadStatus: 'ready', model: loaded });
    },
    (err: unknown) => {
      if (id !== loadId) return;
      if (isPocketHubError(err, 'AbortError')) useHub.setState({ loadStatus: 'paused' });
      else useHub.setState({ loadStatus: 'failed', failure: { error: asError(err), retry: { kind: 'load' } } });
    },
  );
}

/** Cancels a download in progress; the load ends 'paused' and what was stored is kept. */
export function cancelLoad(): void {
  if (useHub.getState().loadStatus === 'loading') client.abort();
}

/** Loads the current model again; a download picks up from the chunks already stored. */
export function resumeLoad(): void {
  const { modelUrl, loadRequest } = useHub.getState();
  if (modelUrl === undefined) return;
  // A token saved in Settings since the first try (the fix a gated repo asks for) counts now.
  const token = loadHubSettings().token;
  const request = loadRequest?.repo ? { ...loadRequest, token } : loadRequest;
  openModel(modelUrl, request, true);
}

export function progressReceived(id: number, p: LoadProgress): void {
  if (id !== loadId) return;
  useHub.setState((s) => ({
    stages: finishEarlierStages({ ...s.stages, [p.kind]: advanceStage(s.stages[p.kind], p, performance.now()) }, p.kind),
  }));
}

export function setDraft(draft: string): void {
  useHub.setState({ draft });
}

/**
 * A model is loaded, nothing runs, and the transcript belongs to that model: a conversation
 * opened from the list shows before its own model has replaced the one loaded.
 */
function canGenerate(): boolean {
  const { loadStatus, model, generation, conversation, modelUrl } = useHub.getState();
  return loadStatus === 'ready' && model !== undefined && generation.status === 'idle' && (!conversation || conversation.model === modelUrl);
}

/** Sends the draft. Returns false when nothing was started (no model, busy, empty, bad settings). */
export function send(): boolean {
  const { model, draft, entries, sampling } = useHub.getState();
  if (!canGenerate() || !model || draft.trim() === '') return false;
  let parsed: ParsedSampling;
  try {
    parsed = parseSampling(sampling, model.contextLength);
  } catch (err) {
    useHub.setState({ failure: { error: asError(err), retry: { kind: 'send' } } });
    return false;
  }
  const kind = model.hasChatTemplate ? 'chat' : 'completion';
  // A completion continues exactly the text given (a trailing space changes the next token);
  // a chat turn's surrounding whitespace means nothing.
  const entry: Entry = { id: ++entryId, kind, user: kind === 'chat' ? draft.trim() : draft, reply: '', status: 'streaming' };
  useHub.setState({ entries: [...entries, entry], draft: '', failure: undefined });
  run(entry.id, parsed);
  return true;
}

/** The system prompt and the conversation up to and including `upTo`'s user turn; failed exchanges are left out. */
function chatMessages(entries: Entry[], upTo: Entry, systemPrompt: string): ChatMessage[] {
  const messages: ChatMessage[] = systemPrompt.trim() === '' ? [] : [{ role: 'system', content: systemPrompt }];
  for (const e of entries) {
    if (e === upTo) break;
    if (e.status !== 'done') continue;
    messages.push({ role: 'user', content: e.user }, { role: 'assistant', content: e.reply });
  }
  messages.push({ role: 'user', content: upTo.user });
  return messages;
}

function run(target: number, sampling: ParsedSampling): void {
  const { entries, systemPrompt } = useHub.getState();
  const entry = entries.find((e) => e.id === target);
  if (!entry) return;
  const id = ++runId;
  const { maxTokens, ...options } = sampling;
  const request: GenerateRequest =
    entry.kind === 'chat'
      ? { messages: chatMessages(entries, entry, systemPrompt), maxTokens, ...options }
      : { prompt: entry.user, maxTokens, ...options };
  // Another part of the page (a run widget, a Space, the SDK) may hold the engine: the reply
  // then waits its turn, and the page shows what it waits for (useEngineRuns).
  chatRun = runGeneration('the chat', request, (e) => eventReceived(id, e));
  useHub.setState({ generation: { status: 'generating', runId: id, entryId: target, ticket: chatRun.id }, lastRun: undefined });
  chatRun.result.then(
    (result) => finished(id, result),
    (err: unknown) => failed(id, err),
  );
}

function updateEntry(target: number, change: Partial<Entry>): Entry[] {
  return useHub.getState().entries.map((e) => (e.id === target ? { ...e, ...change } : e));
}

export function eventReceived(id: number, event: GenerateEvent): void {
  const { generation } = useHub.getState();
  if (generation.status !== 'generating' || generation.runId !== id) return;
  // 'done' carries the same stats as the generate result, which is the one that is used: events
  // come on their own message port and may arrive after it.
  if (event.kind !== 'token') return;
  const entries = useHub.getState().entries.map((e) => (e.id === generation.entryId ? { ...e, reply: e.reply + event.text } : e));
  useHub.setState({ entries, generation: { ...generation, tokensPerSecond: event.tokensPerSecond } });
}

function finished(id: number, result: GenerationResult): void {
  const { generation } = useHub.getState();
  if (generation.status === 'idle' || generation.runId !== id) return;
  // After Stop the transcript keeps what was on screen when it was pressed; otherwise the
  // result's text is the authority (token events may still be in flight).
  const reply = generation.status === 'stopping' ? {} : { reply: result.text };
  useHub.setState({
    entries: updateEntry(generation.entryId, { ...reply, status: 'done', reason: result.reason }),
    generation: { status: 'idle' },
    lastRun: { stats: result.stats, reason: result.reason },
  });
}

function failed(id: number, err: unknown): void {
  const { generation } = useHub.getState();
  if (generation.status === 'idle' || generation.runId !== id) return;
  if (isPocketHubError(err, 'AbortError')) {
    useHub.setState({ entries: updateEntry(generation.entryId, { status: 'done', reason: 'abort' }), generation: { status: 'idle' } });
    return;
  }
  useHub.setState({
    entries: updateEntry(generation.entryId, { status: 'failed' }),
    generation: { status: 'idle' },
    failure: { error: asError(err), retry: { kind: 'generate', entryId: generation.entryId } },
  });
}

/** Stop: the engine is told at once, and nothing it sends afterwards reaches the transcript. */
export function stop(): void {
  const { generation } = useHub.getState();
  if (generation.status !== 'generating') return;
  useHub.setState({ generation: { ...generation, status: 'stopping' } });
  chatRun?.stop();
}

export function retry(): void {
  const { failure } = useHub.getState();
  if (!failure) return;
  const target = failure.retry;
  useHub.setState({ failure: undefined });
  if (target.kind === 'load') return resumeLoad();
  if (target.kind === 'send') {
    send();
    return;
  }
  answerAgain(target.entryId);
}

/**
 * Generates `target`'s reply again, dropping the exchanges after it, with `user` as its new text
 * when given. Bad settings leave the rewound exchange failed, and Retry answers it once they are fixed.
 */
function answerAgain(target: number, user?: string): boolean {
  const { model, sampling, entries } = useHub.getState();
  if (!canGenerate() || !model) return false;
  const rewound = rewind(entries, target, user);
  if (!rewound) return false;
  let parsed: ParsedSampling;
  try {
    parsed = parseSampling(sampling, model.contextLength);
  } catch (err) {
    const failedEntries = rewound.map((e): Entry => (e.id === target ? { ...e, status: 'failed' } : e));
    useHub.setState({ entries: failedEntries, failure: { error: asError(err), retry: { kind: 'generate', entryId: target } } });
    return false;
  }
  useHub.setState({ entries: rewound, failure: undefined });
  run(target, parsed);
  return true;
}

/** Regenerate: the last exchange's reply again, from the same conversation. */
export function regenerate(): boolean {
  const last = useHub.getState().entries.at(-1);
  return last !== undefined && last.status !== 'streaming' && answerAgain(last.id);
}

/** Replaces an earlier user turn with `text`, forgets everything after it, and answers it again. */
export function editTurn(target: number, text: string): boolean {
  const entry = useHub.getState().entries.find((e) => e.id === target);
  if (!entry || text.trim() === '') return false;
  return answerAgain(target, entry.kind === 'chat' ? text.trim() : text);
}

/** A load failure stays on screen when the chat changes: it is about the model, not the conversation. */
function modelFailure(): Pick<ChatSlice, 'failure'> {
  const { failure } = useHub.getState();
  return { failure: failure?.retry.kind === 'load' ? failure : undefined };
}

/** An empty transcript that is saved as a new conversation after its first turn. Refused while a reply streams. */
export function newChat(): boolean {
  if (useHub.getState().generation.status !== 'idle') return false;
  useHub.setState({ entries: [], conversation: undefined, systemPrompt: '', lastRun: undefined, ...modelFailure() });
  return true;
}

/**
 * Shows a saved conversation with its system prompt and sampling settings. Refused while a
 * reply streams. The draft stays: it is what the user was typing, wherever it goes next.
 */
export function showConversation(c: Conversation): boolean {
  if (useHub.getState().generation.status !== 'idle') return false;
  useHub.setState({
    entries: toEntries(c.messages, c.mode, () => ++entryId),
    conversation: { id: c.id, title: c.title, model: c.model, createdAt: c.createdAt },
    systemPrompt: c.systemPrompt,
    sampling: savedSampling(c),
    lastRun: undefined,
    ...modelFailure(),
  });
  return true;
}

export function setSystemPrompt(systemPrompt: string): void {
  useHub.setState({ systemPrompt });
}

export function setSampling(change: Partial<SamplingForm>): void {
  useHub.setState((s) => ({ sampling: { ...s.sampling, ...change } }));
}

export function chooseGreedy(): void {
  setSampling(greedySampling);
}

export function resetSampling(): void {
  useHub.setState({ sampling: defaultSampling });
}
