import { describe, expect, test } from 'vitest';
import { attentionRef, ropeAngle, ropeRef } from './attention.ts';

describe('ropeRef', () => {
  test('angles follow llama2.c: theta^(-2j/ropeDim) in f32, times the position', () => {
    expect(ropeAngle(5, 0, 8, 10000)).toBe(5);
    // j=2, ropeDim=8: 10000^(-0.5) = 0.01, which f32 rounds; the product is rounded again.
    expect(ropeAngle(3, 2, 8, 10000)).toBe(Math.fround(3 * Math.fround(0.01)));
    expect(ropeAngle(3, 2, 8, 10000)).not.toBe(0.03);
  });

  test('a frequency factor divides the f32 inverse frequency: factor 2 at position 2p is position p', () => {
    expect(ropeAngle(3, 2, 8, 10000, 4)).toBe(Math.fround(3 * Math.fround(Math.fround(0.01) / 4)));
    const x = [0.5, -1, 2, 3, -0.25, 4, 1, -2];
    const shape = { m: 1, nHeads: 1, headDim: 8, ropeDim: 8, theta: 10000, mode: 'halves' as const };
    // Halving a binary float is exact, so both sides form the same f32 angles.
    expect([...ropeRef(x, { ...shape, pos0: 46, freqFactors: [2, 2, 2, 2] })]).toEqual([...ropeRef(x, { ...shape, pos0: 23 })]);
    expect([...ropeRef(x, { ...shape, pos0: 46, freqFactors: [1, 1, 1, 1] })]).toEqual([...ropeRef(x, { ...shape, pos0: 46 })]);
  });

  test('position 0 is the identity', () => {
    const x = [0.5, -1, 2, 3, -0.25, 4, 1, -2];
    expect([...ropeRef(x, { m: 1, nHeads: 2, headDim: 4, ropeDim: 4, theta: 10000, mode: 'adjacent', pos0: 0 })]).toEqual(x);
  });

  test('adjacent rotates (2j, 2j+1) and halves rotates (j, j+ropeDim/2); dims past ropeDim are kept', () => {
    // headDim 6, ropeDim 4: pair 0 has inv_freq 1, so at position 1 it turns by exactly 1 radian.
    const shape = { m: 1, nHeads: 1, headDim: 6, ropeDim: 4, theta: 10000, pos0: 1 };
    const adjacent = ropeRef([1, 0, 0, 0, 7, 8], { ...shape, mode: 'adjacent' });
    expect(adjacent[0]).toBeCloseTo(Math.cos(1), 15);
    expect(adjacent[1]).toBeCloseTo(Math.sin(1), 15);
    expect([...adjacent.slice(2)]).toEqual([0, 0, 7, 8]);
    const halves = ropeRef([1, 0, 0, 0, 7, 8], { ...shape, mode: 'halves' });
    expect(halves[0]).toBeCloseTo(Math.cos(1), 15);
    expect(halves[2]).toBeCloseTo(Math.sin(1), 15);
    expect([halves[1], halves[3], halves[4], halves[5]]).toEqual([0, 0, 7, 8]);
  });

  test('halves is adjacent applied to the de-interleaved head, and both keep each pair norm', () => {
    const headDim = 8;
    const x = [0.3, -0.7, 1.1, 0.2, -0.9, 0.4, 0.6, -1.3];
    const shape = { m: 1, nHeads: 1, headDim, ropeDim: headDim, theta: 500, pos0: 37 };
    // Interleave halves layout (a0..a3, b0..b3) into adjacent layout (a0 b0 a1 b1 ...).
    const interleave = (v: ArrayLike<number>) => Array.from({ length: headDim }, (_, i) => v[(i >> 1) + (i & 1) * (headDim / 2)]);
    const viaAdjacent = ropeRef(interleave(x), { ...shape, mode: 'adjacent' });
    const halves = ropeRef(x, { ...shape, mode: 'halves' });
    const halvesInterleaved = interleave(halves);
    for (let i = 0; i < headDim; i++) expect(halvesInterleaved[i]).toBeCloseTo(viaAdjacent[i], 14);
    for (let j = 0; j < headDim / 2; j++) {
      expect(Math.hypot(halves[j], halves[j + 4])).toBeCloseTo(Math.hypot(x[j], x[j + 4]), 14);
    }
  });
});

describe('attentionRef', () => {
  const shape = { m: 2, pos0: 0, nHeads: 1, nKvHeads: 1, headDim: 2, scale: 1 };

  test('the first position sees only itself, the second mixes both by softmax weight', () => {
    const q = [1, 0, 1, 0];
    const k = [2, 0, 0, 0];
    const v = [10, 20, 30, 40];
    const out = attentionRef(q, k, v, shape);
    expect([out[0], out[1]]).toEqual([10, 20]);
    // Scores 2 and 0: weights e^2/(e^2+1) and 1/(e^2+1).
    const w = Math.exp(2) / (Math.exp(2) + 1);
    expect(out[2]).toBeCloseTo(10 * w + 30 * (1 - w), 12);
    expect(out[3]).toBeCloseTo(20 * w + 40 * (1 - w), 12);
  });

  test('scale multiplies the scores, and rows past pos0+m are never read', () => {
    const q = [1, 0];
    const k = [0, 0, 1, 0, NaN, NaN];
    const v = [1, 1, 3, 3, NaN, NaN];
    const out = attentionRef(q, k, v, { ...shape, m: 1, pos0: 1, scale: 0.5 });
    const w = 1 / (1 + Math.exp(0.5));
    expect(out[0]).toBeCloseTo(1 * w + 3 * (1 - w), 12);
  });

  test('a window of w keys hides older positions, and their rows are never read', () => {
    // Query at position 2 with window 2 sees positions 1 and 2 only; position 0 is NaN.
    const q = [1, 0];
    const k = [NaN, NaN, 0, 0, 1, 0];
    const v = [NaN, NaN, 1, 1, 3, 3];
    const out = attentionRef(q, k, v, { ...shape, m: 1, pos0: 2, window: 2 });
    const w = 1 / (1 + Math.exp(1));
    expect(out[0]).toBeCloseTo(1 * w + 3 * (1 - w), 12);
    // A window of 1 is the query's own value.
    expect([...attentionRef(q, k, v, { ...shape, m: 1, pos0: 2, window: 1 })]).toEqual([3, 3]);
  });

  test('softcap bends the scaled scores before the softmax', () => {
    // Scores 0 and 4·0.5 = 2, capped at 1: 1·tanh(2) instead of 2.
    const q = [4, 0];
    const k = [0, 0, 1, 0];
    const v = [1, 1, 3, 3];
    const out = attentionRef(q, k, v, { ...shape, m: 1, pos0: 1, scale: 0.5, softcap: 1 });
    const w = 1 / (1 + Math.exp(Math.tanh(2)));
    expect(out[0]).toBeCloseTo(1 * w + 3 * (1 - w), 12);
  });

  test('query head h reads KV head floor(h / group)', () => {
    // 4 query heads over 2 KV heads, one position: each output is its KV head's V row.
    const q = new Array(4 * 2).fill(1);
    const k = [1, 1, 1, 1];
    const v = [5, 6, 7, 8];
    const out = attentionRef(q, k, v, { m: 1, pos0: 0, nHeads: 4, nKvHeads: 2, headDim: 2, scale: 1 });
    expect([...out]).toEqual([5, 6, 5, 6, 7, 8, 7, 8]);
  });
});
