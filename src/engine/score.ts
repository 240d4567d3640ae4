import { AbortError, ContextOverflowError, InvalidArgumentError } from '../protocol/errors.ts';
import type { AbortFlag } from './generate.ts';
import type { LlamaModel } from './model/llama.ts';

export const DEFAULT_SCORE_TOP_K = 5;

/** What the model predicts after ids[0..i]. */
export interface ScoredPosition {
  /** The k most likely next tokens, most likely first (ties: lower id first), as [id, probability]. */
  top: [number, number][];
  /** The probability of the token that does come next, ids[i + 1]; absent at the last position. */
  nextProbability?: number;
}

export interface ScoreResult {
  ids: number[];
  /** exp of the mean negative log-probability of ids[1..], each predicted from the ids before it. */
  perplexity: number;
  /** One per id: positions[i] holds the prediction made after reading ids[0..i]. */
  positions: ScoredPosition[];
}

/** One row of logits as probabilities: computed in float64, so no probability underflows to a wrong zero early. */
export interface ScoredRow {
  top: [number, number][];
  /** ln p(next), when `next` was given. */
  nextLogProbability?: number;
}

/**
 * Softmax of one row in float64 through the log-sum-exp (the largest logit subtracted first),
 * and its k largest entries. Selection keeps a sorted list of k and rejects most logits with
 * one comparison against its last entry, so a large vocabulary with a small k costs one pass.
 */
export function scoreRow(logits: ArrayLike<number>, topK: number, next?: number): ScoredRow {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i] - max);
  const logZ = max + Math.log(sum);

  const k = Math.min(topK, n);
  const ids = new Int32Array(k);
  const values = new Float64Array(k);
  let filled = 0;
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    if (filled === k && !(v > values[k - 1])) continue;
    // After every entry ≥ v, so equal logits keep ascending ids.
    let lo = 0;
    let hi = filled;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[mid] >= v) lo = mid + 1;
      else hi = mid;
    }
    const end = Math.min(filled, k - 1);
    ids.copyWithin(lo + 1, lo, end);
    values.copyWithin(lo + 1, lo, end);
    ids[lo] = i;
    values[lo] = v;
    if (filled < k) filled++;
  }
  const top: [number, number][] = [];
  for (let j = 0; j < filled; j++) top.push([ids[j], Math.exp(values[j] - logZ)]);
  return next === undefined ? { top } : { top, nextLogProbability: logits[next] - logZ };
}

/** exp(−mean ln p) over the predicted tokens. */
export function perplexity(logProbabilities: number[]): number {
  if (logProbabilities.length === 0) throw new RangeError('perplexity needs at least one predicted token');
  return Math.exp(-logProbabilities.reduce((sum, l) => sum + l, 0) / logProbabilities.length);
}

/**
 * Teacher-forces `ids` through the model in chunks of its batch size, reading back the logits
 * of every position, and scores each row on the CPU. The KV cache is overwritten from position 0.
 */
export async function scoreIds(
  model: Pick<LlamaModel, 'forwardAll' | 'maxBatch' | 'contextLength' | 'config'>,
  ids: number[],
  topK: number,
  abort: AbortFlag,
): Promise<ScoreResult> {
  const vocab = model.config.vocabSize;
  if (!Number.isInteger(topK) || topK < 1) throw new InvalidArgumentError(`top-k must be a whole number ≥ 1, got ${topK}`);
  if (ids.length < 2) throw new InvalidArgumentError(`Scoring needs at least two tokens (one to predict from, one to predict), got ${ids.length}.`);
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
  if (bad !== undefined) throw new InvalidArgumentError(`Token id ${bad} is outside the vocabulary of ${vocab}.`);
  if (ids.length > model.contextLength)
    throw new ContextOverflowError(`The text is ${ids.length} tokens, but the context holds ${model.contextLength}.`, 'Score a shorter text or raise the context length.');

  const positions: ScoredPosition[] = [];
  const logProbabilities: number[] = [];
  for (let at = 0; at < ids.length; at += model.maxBatch) {
    if (abort.aborted) throw new AbortError('Scoring was stopped.');
    const chunk = ids.slice(at, at + model.maxBatch);
    const logits = await model.forwardAll(chunk, at);
    for (let row = 0; row < chunk.length; row++) {
      const i = at + row;
      const next = i + 1 < ids.length ? ids[i + 1] : undefined;
      const scored = scoreRow(logits.subarray(row * vocab, (row + 1) * vocab), topK, next);
      if (scored.nextLogProbability === undefined) {
        positions.push({ top: scored.top });
      } else {
        positions.push({ top: scored.top, nextProbability: Math.exp(scored.nextLogProbability) });
        logProbabilities.push(scored.nextLogProbability);
      }
    }
  }
  return { ids: [...ids], perplexity: perplexity(logProbabilities), positions };
}
