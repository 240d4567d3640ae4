import { InvalidArgumentError } from '../protocol/errors.ts';
import type { SamplingOptions } from '../protocol/index.ts';

export const DEFAULT_SAMPLING: SamplingOptions = { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1 };

/** xorshift128+ over 32-bit halves: fast, seedable, and identical in every JS engine. */
export class Rng {
  private s0: number;
  private s1: number;

  constructor(seed: number) {
    // splitmix32 spreads small or similar seeds over the whole state.
    const mix = (z: number) => {
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = mix(seed >>> 0) || 1;
    this.s1 = mix((seed + 0x9e3779b9) >>> 0) || 2;
  }

  /** A float in [0, 1). */
  next(): number {
    let a = this.s0;
    const b = this.s1;
    this.s0 = b;
    a ^= a << 23;
    a ^= a >>> 17;
    a ^= b ^ (b >>> 26);
    this.s1 = a >>> 0;
    return ((this.s0 + this.s1) >>> 0) / 4294967296;
  }
}

export function validateSampling(o: SamplingOptions): void {
  const bad = (what: string) => {
    throw new InvalidArgumentError(what);
  };
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) bad(`temperature must be ≥ 0, got ${o.temperature}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) bad(`top-k must be a whole number ≥ 0, got ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) bad(`top-p must be in (0, 1], got ${o.topP}`);
  if (!(o.repetitionPenalty > 0) || !Number.isFinite(o.repetitionPenalty)) bad(`repetition penalty must be > 0, got ${o.repetitionPenalty}`);
}

/** True when the next token is the argmax of the raw logits, which the GPU computes without a read-back. */
export function isPlainGreedy(o: SamplingOptions): boolean {
  return o.temperature === 0 && o.repetitionPenalty === 1;
}

/**
 * Penalises tokens already seen as in the CTRL paper (and llama.cpp, transformers):
 * positive logits are divided by the penalty, negative ones multiplied, so a seen
 * token always becomes less likely whatever its sign. Modifies `logits` in place.
 */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    const l = logits[id];
    logits[id] = l > 0 ? l / penalty : l * penalty;
  }
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Picks the next token from logits: repetition penalty, then greedy when the temperature is 0;
 * otherwise temperature, top-k, top-p (nucleus) and a draw from the renormalised distribution.
 */
export function sample(logits: Float32Array, options: SamplingOptions, seen: Iterable<number>, rng: Rng): number {
  applyRepetitionPenalty(logits, seen, options.repetitionPenalty);
  if (options.temperature === 0) return argmax(logits);

  // Sorting the whole vocabulary (up to ~150k) per token is fine next to a forward pass,
  // but top-k first shrinks it to k candidates when it is set.
  let candidates = Array.from(logits.keys());
  candidates.sort((a, b) => logits[b] - logits[a]);
  if (options.topK > 0) candidates = candidates.slice(0, options.topK);

  const max = logits[candidates[0]];
  const weights = candidates.map((id) => Math.exp((logits[id] - max) / options.temperature));
  const total = weights.reduce((a, b) => a + b, 0);

  // Keep the smallest prefix whose probability reaches top-p (always at least one token).
  let kept = candidates.length;
  if (options.topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < candidates.length; i++) {
      cumulative += weights[i] / total;
      if (cumulative >= options.topP) {
        kept = i + 1;
        break;
      }
    }
  }
  const keptTotal = weights.slice(0, kept).reduce((a, b) => a + b, 0);
  let r = rng.next() * keptTotal;
  for (let i = 0; i < kept; i++) {
    r -= weights[i];
    if (r < 0) return candidates[i];
  }
  return candidates[kept - 1];
}
