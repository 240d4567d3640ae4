// Every message that crosses a window boundary in Pocket Hub: the JS SDK's connection to the
// engine's host, and the events an embed posts to the page around it. Both sides of each import
// this module, and nothing else besides protocol types, so the standalone SDK stays small.
//
// ── SDK connection (version 1) ──────────────────────────────────────────────────────────────
// 1. The host page says it listens (only /sdk/host.html, which the SDK loads in a hidden iframe;
//    a static Space's page listens before its iframe runs anything):
//      host → window.parent    { type: 'pocket-hub:host-ready', version }
// 2. The SDK opens a MessageChannel and hands one end over:
//      SDK → host window       { type: 'pocket-hub:connect', version }   + transferred MessagePort
// 3. On that port the host answers { type: 'hello', version }, or an error with id null when it
//    does not speak the SDK's version, and closes the port.
// 4. Requests, each with an id the SDK chooses, run one at a time in the order they arrive:
//      { type: 'load', id, model }                         load a model (repo id or URL)
//      { type: 'generate', id, model, request }            load it if needed, then generate
//      { type: 'abort', id }                               stop that request, queued or running
//    and the host answers, for that id:
//      { type: 'progress', id, progress }                  while the model loads (LoadProgress)
//      { type: 'loaded', id, model }                       the model is ready (LoadedModel)
//      { type: 'token', id, text, tokensPerSecond }        generate: the text of the next token(s)
//      { type: 'done', id, outcome }                       generate: all tokens were sent before it
//      { type: 'error', id, error }                        a SerializedError; ends the request
//    A load ends with 'loaded' or 'error'; a generate with 'done' or 'error'.
//
// ── Embed events (version 1) ────────────────────────────────────────────────────────────────
// /embed/spaces/:owner/:name and /embed/model/:owner/:name post to window.parent, to its origin
// only (EmbedEvent below), and obey commands from that origin only (EmbedCommand).
import type { ChatMessage, FinishReason, GenerateRequest, GenerationStats, LoadProgress, LoadStage, SerializedError } from '../protocol/index.ts';

export const SDK_PROTOCOL_VERSION = 1;
export const EMBED_PROTOCOL_VERSION = 1;

export const HOST_READY = 'pocket-hub:host-ready';
export const CONNECT = 'pocket-hub:connect';

export interface HostReadyMessage {
  type: typeof HOST_READY;
  version: number;
}

export interface ConnectMessage {
  type: typeof CONNECT;
  version: number;
}

/** What a host tells a page about the model it loaded; nothing about the device or the user's other models. */
export interface LoadedModel {
  model: string;
  architecture: string;
  parameters: number;
  contextLength: number;
  hasChatTemplate: boolean;
}

export interface GenerateOutcome {
  text: string;
  reason: FinishReason;
  stats: GenerationStats;
}

export type SdkRequest =
  | { type: 'load'; id: number; model: string }
  | { type: 'generate'; id: number; model: string; request: GenerateRequest }
  | { type: 'abort'; id: number };

export type HostReply =
  | { type: 'progress'; progress: LoadProgress }
  | { type: 'loaded'; model: LoadedModel }
  | { type: 'token'; text: string; tokensPerSecond: number }
  | { type: 'done'; outcome: GenerateOutcome }
  | { type: 'error'; error: SerializedError };

export type HostMessage = { type: 'hello'; version: number } | { type: 'error'; id: null; error: SerializedError } | (HostReply & { id: number });

/** Either what was read, or why it was refused (and the request id, when one could be read). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string; id?: number };

const LOAD_STAGES: readonly LoadStage[] = ['download', 'read', 'upload', 'compile', 'warmup'];
const FINISH_REASONS: readonly FinishReason[] = ['eos', 'length', 'stop', 'abort'];
const ROLES: readonly ChatMessage['role'][] = ['system', 'user', 'assistant'];
/** Longer than any repo id or model URL; keeps absurd strings out of the hub client. */
const MAX_MODEL_LENGTH = 2048;

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function isMessageType<T extends string>(data: unknown, type: T): data is { type: T; version: unknown } {
  return isObject(data) && data.type === type;
}

export function isHostReady(data: unknown): data is HostReadyMessage {
  return isMessageType(data, HOST_READY) && isId(data.version);
}

export function isConnect(data: unknown): data is ConnectMessage {
  return isMessageType(data, CONNECT) && isId(data.version);
}

function readMessages(value: unknown): ChatMessage[] | string {
  if (!Array.isArray(value) || value.length === 0) return '`messages` must be a non-empty list.';
  const messages: ChatMessage[] = [];
  for (const m of value) {
    if (!isObject(m) || !ROLES.includes(m.role as ChatMessage['role']) || typeof m.content !== 'string')
      return 'Each message needs a `role` (system, user or assistant) and a string `content`.';
    messages.push({ role: m.role as ChatMessage['role'], content: m.content });
  }
  return messages;
}

/**
 * A generate request as the engine takes it, rebuilt field by field from what a page sent: only
 * known fields of the right type pass. Ranges (temperature, top-p, …) are the engine's to check.
 */
export function readGenerateRequest(value: unknown): GenerateRequest | string {
  if (!isObject(value)) return 'The request must be an object.';
  const request: GenerateRequest = {};
  if (value.prompt !== undefined) {
    if (typeof value.prompt !== 'string') return '`prompt` must be a string.';
    request.prompt = value.prompt;
  }
  if (value.messages !== undefined) {
    const messages = readMessages(value.messages);
    if (typeof messages === 'string') return messages;
    request.messages = messages;
  }
  if ((request.prompt === undefined) === (request.messages === undefined)) return 'Give either `prompt` or `messages`.';
  for (const key of ['maxTokens', 'temperature', 'topK', 'topP', 'repetitionPenalty', 'seed'] as const) {
    const v = value[key];
    if (v === undefined) continue;
    if (!isFiniteNumber(v)) return `\`${key}\` must be a number.`;
    request[key] = v;
  }
  if (value.stop !== undefined) {
    if (!Array.isArray(value.stop) || !value.stop.every((s) => typeof s === 'string')) return '`stop` must be a list of strings.';
    request.stop = [...value.stop];
  }
  return request;
}

function readModel(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' && value.length <= MAX_MODEL_LENGTH ? value.trim() : undefined;
}

/** A request from an SDK, which may be any page on the web: checked field by field. */
export function parseSdkRequest(data: unknown): Parsed<SdkRequest> {
  if (!isObject(data)) return { ok: false, reason: 'A request must be an object.' };
  const id = data.id;
  if (!isId(id)) return { ok: false, reason: 'A request needs a numeric `id`.' };
  switch (data.type) {
    case 'abort':
      return { ok: true, value: { type: 'abort', id } };
    case 'load':
    case 'generate': {
      const model = readModel(data.model);
      if (!model) return { ok: false, id, reason: '`model` must be a Hub repo id or a URL.' };
      if (data.type === 'load') return { ok: true, value: { type: 'load', id, model } };
      const request = readGenerateRequest(data.request);
      if (typeof request === 'string') return { ok: false, id, reason: request };
      return { ok: true, value: { type: 'generate', id, model, request } };
    }
    default:
      return { ok: false, id, reason: `Unknown request type ${JSON.stringify(data.type)}.` };
  }
}

function readSerializedError(value: unknown): SerializedError | undefined {
  if (!isObject(value) || typeof value.name !== 'string' || typeof value.message !== 'string') return undefined;
  return { name: value.name, message: value.message, ...(typeof value.hint === 'string' ? { hint: value.hint } : {}) };
}

function readProgress(value: unknown): LoadProgress | undefined {
  if (!isObject(value) || !LOAD_STAGES.includes(value.kind as LoadStage) || !isFiniteNumber(value.loaded) || !isFiniteNumber(value.total)) return undefined;
  return { kind: value.kind as LoadStage, loaded: value.loaded, total: value.total, ...(typeof value.file === 'string' ? { file: value.file } : {}) };
}

function readStats(value: unknown): GenerationStats | undefined {
  if (!isObject(value)) return undefined;
  const keys = ['promptTokens', 'generatedTokens', 'timeToFirstTokenMs', 'prefillTokensPerSecond', 'decodeTokensPerSecond'] as const;
  if (!keys.every((k) => isFiniteNumber(value[k]))) return undefined;
  return Object.fromEntries(keys.map((k) => [k, value[k]])) as unknown as GenerationStats;
}

function readLoadedModel(value: unknown): LoadedModel | undefined {
  if (!isObject(value) || typeof value.model !== 'string' || typeof value.architecture !== 'string') return undefined;
  if (!isFiniteNumber(value.parameters) || !isFiniteNumber(value.contextLength) || typeof value.hasChatTemplate !== 'boolean') return undefined;
  return { model: value.model, architecture: value.architecture, parameters: value.parameters, contextLength: value.contextLength, hasChatTemplate: value.hasChatTemplate };
}

/** A message from a host, as the SDK reads it; anything malformed is dropped (undefined). */
export function parseHostMessage(data: unknown): HostMessage | undefined {
  if (!isObject(data)) return undefined;
  if (data.type === 'hello') return isId(data.version) ? { type: 'hello', version: data.version } : undefined;
  if (data.type === 'error' && data.id === null) {
    const error = readSerializedError(data.error);
    return error && { type: 'error', id: null, error };
  }
  const id = data.id;
  if (!isId(id)) return undefined;
  switch (data.type) {
    case 'progress': {
      const progress = readProgress(data.progress);
      return progress && { type: 'progress', id, progress };
    }
    case 'loaded': {
      const model = readLoadedModel(data.model);
      return model && { type: 'loaded', id, model };
    }
    case 'token':
      return typeof data.text === 'string' && isFiniteNumber(data.tokensPerSecond) ? { type: 'token', id, text: data.text, tokensPerSecond: data.tokensPerSecond } : undefined;
    case 'done': {
      const outcome = data.outcome;
      if (!isObject(outcome) || typeof outcome.text !== 'string' || !FINISH_REASONS.includes(outcome.reason as FinishReason)) return undefined;
      const stats = readStats(outcome.stats);
      return stats && { type: 'done', id, outcome: { text: outcome.text, reason: outcome.reason as FinishReason, stats } };
    }
    case 'error': {
      const error = readSerializedError(data.error);
      return error && { type: 'error', id, error };
    }
    default:
      return undefined;
  }
}

// ── Embed events and commands ───────────────────────────────────────────────────────────────

/**
 * What an embed posts to the page that frames it. `ready` comes once the embed listens for
 * commands; `progress`, `token`, `done` and `error` follow every load and generation in the embed,
 * whether the visitor started it in the embed or the parent asked for it with a command.
 */
export type EmbedEvent =
  | { type: 'pocket-hub:ready'; version: number; kind: 'space' | 'model'; repo: string }
  | { type: 'pocket-hub:progress'; stage: LoadStage; loaded: number; total: number; file?: string }
  | { type: 'pocket-hub:token'; text: string; tokensPerSecond: number }
  | { type: 'pocket-hub:done'; text: string; reason: FinishReason; stats: GenerationStats }
  | { type: 'pocket-hub:error'; name: string; message: string; hint?: string };

/**
 * What the framing page may ask an embed to do. `generate` takes the SDK's OpenAI-style names
 * (`prompt` or `messages`, `temperature`, `top_p`, `top_k`, `max_tokens`, `stop`, `seed`) and
 * runs the embed's model, or `model` when given.
 */
export type EmbedCommand = { type: 'pocket-hub:generate'; params: Fields } | { type: 'pocket-hub:stop' };

export function parseEmbedCommand(data: unknown): EmbedCommand | undefined {
  if (!isObject(data)) return undefined;
  if (data.type === 'pocket-hub:stop') return { type: 'pocket-hub:stop' };
  if (data.type === 'pocket-hub:generate') {
    const params: Fields = { ...data };
    delete params.type;
    return { type: 'pocket-hub:generate', params };
  }
  return undefined;
}

/** An http(s) origin exactly as `URL.origin` spells it, or undefined. */
function httpOrigin(text: string | null | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The origin an embed talks to: `?parent=` when the snippet gave one, else the origin of the
 * page that framed it (document.referrer, which the default referrer policy still sends as an
 * origin across sites). Undefined means no events are posted and no command is obeyed.
 */
export function embedParentOrigin(parentParam: string | null, referrer: string): string | undefined {
  return httpOrigin(parentParam) ?? httpOrigin(referrer);
}
