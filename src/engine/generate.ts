import { ContextOverflowError, InvalidArgumentError } from '../protocol/errors.ts';
import type { FinishReason, GenerateEvent, GenerateRequest, GenerationResult, SamplingOptions } from '../protocol/index.ts';
import type { LlamaModel } from './model/llama.ts';
import { DEFAULT_SAMPLING, isPlainGreedy, Rng, sample, validateSampling } from './sampling.ts';
import { StopMatcher } from './stopStrings.ts';
import { StreamDecoder, type TextTokenizer } from './tokenizer/index.ts';

export const DEFAULT_MAX_TOKENS = 256;

/** Checked between tokens; set by abort(). */
export interface AbortFlag {
  aborted: boolean;
}

/** The prompt as token ids: a chat is rendered with the model's template, raw text gets BOS as the model adds it. */
export function promptIds(tokenizer: TextTokenizer, request: GenerateRequest): number[] {
  if ((request.prompt === undefined) === (request.messages === undefined))
    throw new InvalidArgumentError('Give either a prompt or chat messages.');
  if (request.messages) {
    // Chat templates write BOS and other special tokens into the text themselves.
    return tokenizer.encode(tokenizer.applyChatTemplate(request.messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
  }
  return tokenizer.encode(request.prompt!, { addSpecialTokens: true });
}

export function samplingOf(request: GenerateRequest): SamplingOptions {
  const options: SamplingOptions = {
    temperature: request.temperature ?? DEFAULT_SAMPLING.temperature,
    topK: request.topK ?? DEFAULT_SAMPLING.topK,
    topP: request.topP ?? DEFAULT_SAMPLING.topP,
    repetitionPenalty: request.repetitionPenalty ?? DEFAULT_SAMPLING.repetitionPenalty,
    seed: request.seed,
  };
  validateSampling(options);
  return options;
}

/**
 * Prefills the prompt in chunks of the model's batch size, then decodes one token at a
 * time until EOS, a stop string, the token budget, the end of the KV cache, or an abort.
 */
export async function generate(
  model: LlamaModel,
  tokenizer: TextTokenizer,
  request: GenerateRequest,
  eosIds: ReadonlySet<number>,
  abort: AbortFlag,
  onEvent?: (e: GenerateEvent) => void,
): Promise<GenerationResult> {
  const started = performance.now();
  const sampling = samplingOf(request);
  const maxTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new InvalidArgumentError(`max tokens must be a whole number ≥ 1, got ${maxTokens}`);
  const prompt = promptIds(tokenizer, request);
  if (prompt.length === 0) throw new InvalidArgumentError('The prompt is empty and the model adds no BOS token: type something first.');
  if (prompt.length >= model.contextLength)
    throw new ContextOverflowError(`The prompt is ${prompt.length} tokens, but the context holds ${model.contextLength}.`);

  const rng = new Rng(sampling.seed ?? Math.floor(Math.random() * 2 ** 32));
  const greedy = isPlainGreedy(sampling);
  // The prompt as context keeps the space a continuation starts with (" there" after "time").
  const decoder = new StreamDecoder(tokenizer, { context: prompt });
  const stops = new StopMatcher((request.stop ?? []).filter((s) => s.length > 0));
  const seen = [...prompt];
  const ids: number[] = [];
  let text = '';

  const next = async () => (greedy ? model.argmaxLast() : sample(await model.readLogits(), sampling, seen, rng));

  for (let at = 0; at < prompt.length; at += model.maxBatch) model.forward(prompt.slice(at, at + model.maxBatch), at);
  let token = await next();
  const firstTokenAt = performance.now();
  let reason: FinishReason = 'length';

  for (;;) {
    if (abort.aborted) {
      reason = 'abort';
      break;
    }
    if (eosIds.has(token)) {
      reason = 'eos';
      break;
    }
    ids.push(token);
    seen.push(token);
    const { emit, stopped } = stops.push(decoder.push(token));
    text += emit;
    const elapsed = (performance.now() - firstTokenAt) / 1000;
    if (emit || stopped) onEvent?.({ kind: 'token', id: token, text: emit, tokensPerSecond: ids.length > 1 && elapsed > 0 ? (ids.length - 1) / elapsed : 0 });
    if (stopped) {
      reason = 'stop';
      break;
    }
    const position = prompt.length + ids.length - 1;
    if (ids.length >= maxTokens || position + 1 >= model.contextLength) break;
    model.forward([token], position);
    token = await next();
  }
  if (reason !== 'stop') {
    const rest = stops.push(decoder.flush()).emit + stops.flush();
    if (rest) {
      text += rest;
      onEvent?.({ kind: 'token', id: ids[ids.length - 1], text: rest, tokensPerSecond: 0 });
    }
  }

  const ended = performance.now();
  const prefillSeconds = (firstTokenAt - started) / 1000;
  const decodeSeconds = (ended - firstTokenAt) / 1000;
  const stats = {
    promptTokens: prompt.length,
    generatedTokens: ids.length,
    timeToFirstTokenMs: firstTokenAt - started,
    prefillTokensPerSecond: prefillSeconds > 0 ? prompt.length / prefillSeconds : 0,
    decodeTokensPerSecond: ids.length > 1 && decodeSeconds > 0 ? (ids.length - 1) / decodeSeconds : 0,
  };
  onEvent?.({ kind: 'done', reason, stats });
  return { promptIds: prompt, ids, text, reason, stats };
}
