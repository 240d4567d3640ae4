// The SDK's OpenAI-shaped surface: the parameters of `chat.completions.create` and
// `completions.create` mapped onto the engine's GenerateRequest, and the engine's tokens and
// results shaped as OpenAI's `chat.completion(.chunk)` and `text_completion` objects, so code
// written for OpenAI's client reads Pocket Hub's answers unchanged.
import { InvalidArgumentError, type FinishReason, type GenerateRequest, type GenerationStats } from '../protocol/index.ts';

/** OpenAI's message content: a string or a list of parts, of which only text parts are understood here. */
export type MessageContent = string | { type: 'text'; text: string }[];

export interface ChatCompletionMessageParam {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: MessageContent;
}

interface SamplingParams {
  /** A Hub repo id (`owner/name`) or the URL of a model, as /chat?model= takes. */
  model: string;
  temperature?: number;
  top_p?: number;
  /** Not in OpenAI's API; llama.cpp's and vLLM's servers take it by this name. */
  top_k?: number;
  /** Not in OpenAI's API; vLLM's name for it. 1 disables it. */
  repetition_penalty?: number;
  max_tokens?: number;
  /** OpenAI's newer name for `max_tokens` on chat completions. */
  max_completion_tokens?: number;
  stop?: string | string[] | null;
  seed?: number;
  n?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
}

export interface ChatCompletionCreateParams extends SamplingParams {
  messages: ChatCompletionMessageParam[];
}

export interface CompletionCreateParams extends SamplingParams {
  prompt: string | [string];
}

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type OpenAiFinishReason = 'stop' | 'length';

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: number; message: { role: 'assistant'; content: string }; logprobs: null; finish_reason: OpenAiFinishReason }[];
  usage: CompletionUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { role?: 'assistant'; content?: string }; logprobs: null; finish_reason: OpenAiFinishReason | null }[];
  /** Only with `stream_options.include_usage`: null on every chunk but the last, which has no choices. */
  usage?: CompletionUsage | null;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; logprobs: null; finish_reason: OpenAiFinishReason | null }[];
  usage?: CompletionUsage | null;
}

function fail(message: string): never {
  throw new InvalidArgumentError(message);
}

function messageText(content: MessageContent): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) fail('A message `content` must be a string or a list of text parts.');
  return content
    .map((part) => (part?.type === 'text' && typeof part.text === 'string' ? part.text : fail('Only text parts are supported in message content.')))
    .join('');
}

/** The sampling and stopping parameters every create call shares. */
function samplingRequest(params: SamplingParams): GenerateRequest {
  if (typeof params.model !== 'string' || params.model.trim() === '') fail('`model` must name a Hub repo (`owner/name`) or a model URL.');
  if (params.n !== undefined && params.n !== 1) fail('Only `n: 1` is supported: the engine generates one completion at a time.');
  const request: GenerateRequest = {};
  const maxTokens = params.max_completion_tokens ?? params.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null) request.maxTokens = maxTokens;
  if (params.temperature !== undefined && params.temperature !== null) request.temperature = params.temperature;
  if (params.top_p !== undefined && params.top_p !== null) request.topP = params.top_p;
  if (params.top_k !== undefined && params.top_k !== null) request.topK = params.top_k;
  if (params.repetition_penalty !== undefined && params.repetition_penalty !== null) request.repetitionPenalty = params.repetition_penalty;
  if (params.seed !== undefined && params.seed !== null) request.seed = params.seed;
  if (params.stop !== undefined && params.stop !== null) request.stop = typeof params.stop === 'string' ? [params.stop] : [...params.stop];
  return request;
}

export function chatRequest(params: ChatCompletionCreateParams): GenerateRequest {
  if (!Array.isArray(params.messages) || params.messages.length === 0) fail('`messages` must be a non-empty list.');
  const messages = params.messages.map((m) => ({
    // OpenAI's reasoning models call the system turn 'developer'; chat templates know 'system'.
    role: m.role === 'developer' ? ('system' as const) : m.role,
    content: messageText(m.content),
  }));
  return { ...samplingRequest(params), messages };
}

export function completionRequest(params: CompletionCreateParams): GenerateRequest {
  const prompt = Array.isArray(params.prompt) && params.prompt.length === 1 ? params.prompt[0] : params.prompt;
  if (typeof prompt !== 'string') fail('`prompt` must be a string (one prompt per request).');
  return { ...samplingRequest(params), prompt };
}

type Finished = Exclude<FinishReason, 'abort'>;

function finishReason(reason: Finished): OpenAiFinishReason {
  return reason === 'length' ? 'length' : 'stop';
}

function usageOf(stats: GenerationStats): CompletionUsage {
  return { prompt_tokens: stats.promptTokens, completion_tokens: stats.generatedTokens, total_tokens: stats.promptTokens + stats.generatedTokens };
}

/**
 * How one response is shaped: the chunks of a stream (`opening` before any token, one per
 * token, `closing` at the end) and the whole object when not streaming. An aborted run has no
 * OpenAI finish reason and never reaches `closing` or `whole` (pocketHub.ts ends it first).
 */
export interface ResponseShape<Chunk, Whole> {
  opening: Chunk[];
  token(text: string): Chunk;
  closing(reason: Finished, stats: GenerationStats): Chunk[];
  whole(text: string, reason: Finished, stats: GenerationStats): Whole;
}

/** What every object of one response repeats, as OpenAI does in each chunk. */
interface ResponseHead {
  id: string;
  created: number;
  model: string;
}

function responseHead(prefix: string, model: string, now: number, random: () => number): ResponseHead {
  const suffix = Array.from({ length: 24 }, () => Math.floor(random() * 36).toString(36)).join('');
  return { id: `${prefix}-${suffix}`, created: Math.floor(now / 1000), model };
}

/**
 * `chat.completion.chunk`s: the first carries the role, the last an empty delta with the finish
 * reason, then, with `include_usage`, one with no choices and the usage (null on the others).
 */
export function chatShape(model: string, includeUsage: boolean, now = Date.now(), random = Math.random): ResponseShape<ChatCompletionChunk, ChatCompletion> {
  const head = responseHead('chatcmpl', model, now, random);
  const chunk = (delta: ChatCompletionChunk['choices'][number]['delta'], finish: OpenAiFinishReason | null): ChatCompletionChunk => ({
    ...head,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });
  return {
    opening: [chunk({ role: 'assistant', content: '' }, null)],
    token: (text) => chunk({ content: text }, null),
    closing: (reason, stats) => [
      chunk({}, finishReason(reason)),
      ...(includeUsage ? [{ ...head, object: 'chat.completion.chunk' as const, choices: [], usage: usageOf(stats) }] : []),
    ],
    whole: (text, reason, stats) => ({
      ...head,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finishReason(reason) }],
      usage: usageOf(stats),
    }),
  };
}

/** `text_completion` objects, streamed or whole, as OpenAI's legacy completions endpoint sends them. */
export function completionShape(model: string, includeUsage: boolean, now = Date.now(), random = Math.random): ResponseShape<Completion, Completion> {
  const head = responseHead('cmpl', model, now, random);
  const chunk = (text: string, finish: OpenAiFinishReason | null): Completion => ({
    ...head,
    object: 'text_completion',
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });
  return {
    opening: [],
    token: (text) => chunk(text, null),
    closing: (reason, stats) => [
      chunk('', finishReason(reason)),
      ...(includeUsage ? [{ ...head, object: 'text_completion' as const, choices: [], usage: usageOf(stats) }] : []),
    ],
    whole: (text, reason, stats) => ({
      ...head,
      object: 'text_completion',
      choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason(reason) }],
      usage: usageOf(stats),
    }),
  };
}
