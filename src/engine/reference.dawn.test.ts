// The whole engine against llama.cpp on random-weight Llama GGUFs (scripts/randomGguf.ts):
// every next-token distribution of a teacher-forced sequence, weight type by weight type.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomLlamaGguf, storiesTokenizerMetadata, type RandomLlamaOptions } from '../../scripts/randomGguf.ts';
import { referenceProbabilities } from '../../test/llamaCpp.ts';
import { diskLocation } from '../cli/nodeFiles.ts';
import { Engine } from './engine.ts';
import { Rng } from './sampling.ts';

const VOCAB = 512;
// 200 positions: more than three chunks of the batch (64), and enough that 99% allows two misses.
const LENGTH = 200;

interface Case {
  name: string;
  model: Partial<RandomLlamaOptions>;
  /** Fraction of positions whose most likely token must be llama.cpp's. */
  minTop1: number;
  /** Largest total-variation distance allowed between our distribution and llama.cpp's at any position. */
  maxTv: number;
}

/*
 * If every logit of ours is within ε of llama.cpp's (after a common shift, which softmax
 * ignores), each probability ratio lies in [e^−2ε, e^2ε] and the total variation is at most
 * e^2ε − 1 ≈ 2ε. The bounds below are that, with ε the logit error each weight type implies
 * (logits spread with standard deviation 6; see scripts/randomGguf.ts):
 * - F32: both sides compute in f32 and differ only in summation order: ~1e-6 relative per
 *   matmul, a few 1e-6 through two layers, times logits of ~6 (up to ~20 at the top), so
 *   ε ≲ 1e-4 and TV ≤ 2e-4 (measured: 2.4e-5 at worst). A top-1 flip needs two logits closer
 *   than ε, odds of ~1e-4 per position for gaps of ~1: the 99% bound allows a rare near-tie
 *   and nothing more.
 * - F16: the weights are the same f16 values on both sides (we widen them to f32 exactly),
 *   but llama.cpp's CPU matmul rounds each activation to f16 before the dot product (2^−11
 *   relative, ~3e-4 per matmul after averaging), ~1e-3 relative after two layers and the head,
 *   so ε ≈ 1e-2 at worst on logits of up to ~20: TV ≤ 2e-2 (measured: 2.4e-3). Flips need a
 *   gap under 1e-2, a ~1% event; 99% of 200 positions allows two.
 * A real bug (a wrong RoPE pair, a skipped norm weight, an off-by-one in the KV cache) moves
 * whole distributions: TV of 0.3 or more and top-1 agreement near chance.
 */
const CASES: Case[] = [
  { name: 'F32', model: { type: 'F32' }, minTop1: 0.99, maxTv: 2e-4 },
  { name: 'F32, tied output', model: { type: 'F32', tied: true }, minTop1: 0.99, maxTv: 2e-4 },
  { name: 'F16', model: { type: 'F16' }, minTop1: 0.99, maxTv: 2e-2 },
];

/** BOS, then ids drawn from the ordinary tokens (3..511: past <unk>, <s>, </s>). */
function sequence(seed: number): number[] {
  const rng = new Rng(seed);
  return [1, ...Array.from({ length: LENGTH - 1 }, () => 3 + Math.floor(rng.next() * (VOCAB - 3)))];
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pocket-hub-random-gguf-'));
});

describe.each(CASES)('random Llama, $name weights, against llama.cpp', ({ name, model, minTop1, maxTv }) => {
  const engine = new Engine();
  let path: string;
  beforeAll(async () => {
    path = join(dir, `${name.replace(/\W+/g, '-')}.gguf`);
    await writeFile(path, randomLlamaGguf(await storiesTokenizerMetadata(), model));
    await engine.loadFrom(await diskLocation(path), {});
  });
  afterAll(() => engine.unload());

  test(`top-1 agrees at ≥ ${minTop1 * 100}% of ${LENGTH} positions, total variation ≤ ${maxTv} at each`, async () => {
    const ids = sequence(11);
    const ours = await engine.score(ids, { topK: VOCAB });
    const reference = await referenceProbabilities(path, ids, VOCAB);
    let agree = 0;
    let worst = { tv: 0, at: -1 };
    ours.positions.forEach((position, i) => {
      const theirs = new Float64Array(VOCAB);
      for (const [id, p] of reference[i]) theirs[id] = p;
      let tv = 0;
      for (const [id, p] of position.top) tv += Math.abs(p - theirs[id]);
      tv /= 2;
      if (tv > worst.tv) worst = { tv, at: i };
      if (position.top[0][0] === reference[i][0][0]) agree++;
    });
    console.log(`${name}: top-1 agreement ${agree}/${LENGTH}, max total variation ${worst.tv.toExponential(2)} at position ${worst.at}`);
    expect(agree / LENGTH).toBeGreaterThanOrEqual(minTop1);
    expect(worst.tv).toBeLessThanOrEqual(maxTv);
  });
});
