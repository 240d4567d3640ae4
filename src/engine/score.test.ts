import { describe, expect, test } from 'vitest';
import { rng } from '../../test/gpu.ts';
import { perplexity, scoreIds, scoreRow } from './score.ts';

describe('scoreRow', () => {
  test('top-k equals a full sort of the softmax, for every k', () => {
    const random = rng(5);
    const logits = Float32Array.from({ length: 300 }, () => (random() - 0.5) * 20);
    const max = Math.max(...logits);
    const z = logits.reduce((s, l) => s + Math.exp(l - max), 0);
    const sorted = [...logits].map((l, id) => [id, Math.exp(l - max) / z] as [number, number]).sort((a, b) => b[1] - a[1]);
    for (const k of [1, 2, 5, 64, 300, 1000]) {
      const { top } = scoreRow(logits, k);
      expect(top.map(([id]) => id)).toEqual(sorted.slice(0, k).map(([id]) => id));
      // float64 throughout on both sides; only the summation order differs.
      top.forEach(([, p], j) => expect(p).toBeCloseTo(sorted[j][1], 14));
    }
  });

  test('equal logits keep ascending ids', () => {
    expect(scoreRow([1, 3, 3, 0, 3], 4).top.map(([id]) => id)).toEqual([1, 2, 4, 0]);
  });

  test('the log-probability of the next token stays finite where its probability underflows', () => {
    const { top, nextLogProbability } = scoreRow([0, 800], 2, 0);
    expect(top).toEqual([
      [1, 1],
      [0, 0],
    ]);
    expect(nextLogProbability).toBe(-800);
  });
});

test('perplexity is exp of the mean negative log-probability', () => {
  expect(perplexity([Math.log(0.5), Math.log(0.125)])).toBeCloseTo(4, 14);
  expect(() => perplexity([])).toThrow(RangeError);
});

describe('scoreIds', () => {
  // A model whose logits favour (id + 1) mod 4 after reading id, independent of position.
  const vocab = 4;
  const calls: [number[], number][] = [];
  const model = {
    maxBatch: 3,
    contextLength: 16,
    config: { vocabSize: vocab } as never,
    async forwardAll(tokens: ArrayLike<number>, pos0: number) {
      calls.push([[...Array.from(tokens)], pos0]);
      const out = new Float32Array(tokens.length * vocab);
      for (let r = 0; r < tokens.length; r++) out[r * vocab + ((tokens[r] + 1) % vocab)] = Math.log(5);
      return out;
    },
  };

  test('feeds chunks of maxBatch at their positions and scores each row against the next id', async () => {
    calls.length = 0;
    const ids = [0, 1, 2, 0, 3, 0, 1];
    const result = await scoreIds(model, ids, 2, { aborted: false });
    expect(calls).toEqual([
      [[0, 1, 2], 0],
      [[0, 3, 0], 3],
      [[1], 6],
    ]);
    // p = 5/8 for the favoured token, 1/8 for each other; ln 5 as an f32 logit is off by ~1e-7, so 6 digits.
    const expected = ids.slice(1).map((id, i) => (id === (ids[i] + 1) % vocab ? 5 / 8 : 1 / 8));
    expect(result.positions.map((p) => p.nextProbability)).toEqual([...expected.map((p) => expect.closeTo(p, 6)), undefined]);
    expect(result.positions[3].top).toEqual([
      [1, expect.closeTo(5 / 8, 6)],
      [0, expect.closeTo(1 / 8, 6)],
    ]);
    expect(result.perplexity).toBeCloseTo(Math.exp(-expected.reduce((s, p) => s + Math.log(p), 0) / expected.length), 6);
  });

  test('refuses ids it cannot score', async () => {
    const flag = { aborted: false };
    await expect(scoreIds(model, [1], 1, flag)).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    await expect(scoreIds(model, [1, 4], 1, flag)).rejects.toThrow(/Token id 4 is outside the vocabulary of 4/);
    await expect(scoreIds(model, [1, 2], 0, flag)).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    await expect(scoreIds(model, new Array(17).fill(0), 1, flag)).rejects.toMatchObject({ name: 'ContextOverflowError' });
    await expect(scoreIds(model, [1, 2], 1, { aborted: true })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
