import { expect, test } from 'vitest';
import { applyRepetitionPenalty, argmax, Rng, sample, validateSampling } from './sampling.ts';
import type { SamplingOptions } from '../protocol/index.ts';

const opts = (o: Partial<SamplingOptions>): SamplingOptions => ({ temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, ...o });

/** Frequencies of each id over many draws. */
function histogram(logits: number[], o: SamplingOptions, draws: number, seed = 1): number[] {
  const rng = new Rng(seed);
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sample(Float32Array.from(logits), o, [], rng)]++;
  return counts.map((c) => c / draws);
}

test('the generator is reproducible per seed and spread over [0, 1)', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xs = Array.from({ length: 10000 }, () => a.next());
  expect(Array.from({ length: 10000 }, () => b.next())).toEqual(xs);
  expect(c.next()).not.toBe(xs[0]);
  expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...xs)).toBeLessThan(1);
  // The mean of 10⁴ uniform draws has a standard deviation of 0.0029; 0.015 is over 5σ.
  expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.015);
});

test('temperature 0 is the argmax, first index on ties', () => {
  expect(sample(Float32Array.from([1, 3, 3, 2]), opts({ temperature: 0 }), [], new Rng(1))).toBe(1);
  expect(argmax([0, -1, 5, 5])).toBe(2);
});

test('sampling follows the softmax of logits / temperature', () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
  // 20000 draws: each frequency has a standard deviation ≤ 0.0036; 0.02 is over 5σ.
  const freq = histogram(logits, opts({}), 20000);
  [0.5, 0.3, 0.2].forEach((p, i) => expect(Math.abs(freq[i] - p)).toBeLessThan(0.02));
  // Temperature 0.5 squares the probabilities before renormalising: 0.25, 0.09, 0.04 over 0.38.
  const sharp = histogram(logits, opts({ temperature: 0.5 }), 20000);
  [0.25 / 0.38, 0.09 / 0.38, 0.04 / 0.38].forEach((p, i) => expect(Math.abs(sharp[i] - p)).toBeLessThan(0.02));
});

test('top-k keeps only the k most likely tokens', () => {
  const freq = histogram([0, 1, 2, 3, 4], opts({ topK: 2 }), 5000);
  expect(freq[0] + freq[1] + freq[2]).toBe(0);
  expect(freq[3]).toBeGreaterThan(0);
  expect(freq[4]).toBeGreaterThan(freq[3]);
});

test('top-p keeps the smallest set whose probability reaches p', () => {
  const logits = [Math.log(0.6), Math.log(0.25), Math.log(0.1), Math.log(0.05)];
  // 0.6 + 0.25 = 0.85 ≥ 0.8: only the first two can be drawn, renormalised to 0.71 / 0.29.
  const freq = histogram(logits, opts({ topP: 0.8 }), 20000);
  expect(freq[2] + freq[3]).toBe(0);
  expect(Math.abs(freq[0] - 0.6 / 0.85)).toBeLessThan(0.02);
  // A p below the top token's probability still leaves that one token.
  expect(histogram(logits, opts({ topP: 0.1 }), 200)[0]).toBe(1);
});

test('the repetition penalty lowers seen tokens whatever the sign of their logit', () => {
  const logits = Float32Array.from([2, -2, 1]);
  applyRepetitionPenalty(logits, [0, 1, 1], 2);
  expect([...logits]).toEqual([1, -4, 1]);
  // Greedy with a penalty moves off a repeated token.
  expect(sample(Float32Array.from([3, 2.5]), opts({ temperature: 0, repetitionPenalty: 1.5 }), [0], new Rng(1))).toBe(1);
});

test('bad settings are refused with a typed error', () => {
  for (const bad of [{ temperature: -1 }, { topK: 1.5 }, { topP: 0 }, { topP: 1.5 }, { repetitionPenalty: 0 }, { temperature: NaN }]) {
    expect(() => validateSampling(opts(bad))).toThrow(expect.objectContaining({ name: 'InvalidArgumentError' }));
  }
});
