// A trained model on real text against llama.cpp, for every weight type llama.cpp's quantizer
// writes: stories260K rewritten exactly at width 256 (scripts/widenedStories.ts) as llama, qwen2
// and phi3, quantized by llama.cpp itself, and teacher-forced through a short story. The random
// models of architectures.dawn.test.ts cover each family's layout; this is what users run: a
// model whose distributions were shaped by training, on text.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { storiesTokenizerMetadata, storiesWeights } from '../../scripts/randomGguf.ts';
import { widenedStories, type WidenedArchitecture } from '../../scripts/widenedStories.ts';
import { agreement, dense, expectWithin, type Bounds } from '../../test/agreement.ts';
import { STORIES_GGUF } from '../../test/embedded.ts';
import { referenceProbabilities, referenceTokenize } from '../../test/llamaCpp.ts';
import { quantizeWithLlamaCpp, type LlamaQuantType } from '../../test/llamaQuantize.ts';
import { diskLocation } from '../cli/nodeFiles.ts';
import { Engine } from './engine.ts';

const VOCAB = 512;

// Written for this test in TinyStories' style (163 tokens with BOS): text the model has not
// seen, on which it is sure of some next tokens and torn between others, as on a user's prompt.
const STORY =
  'Once upon a time, there was a little boy named Ben. Ben had a red ball that he liked to throw high into the sky. ' +
  'One day, the ball went over the fence and into the garden of an old woman. Ben was scared, but he knocked on her door ' +
  'and asked for his ball. The old woman smiled and gave it back. She said, "You can play in my garden any time." ' +
  'Ben was very happy, and they became good friends.';

type Type = 'F32' | LlamaQuantType;
// Every type on llama; on qwen2 (RoPE on halves, Q/K/V biases) and phi3 (fused QKV and gate+up)
// the F32 file checks the layout and one K-quant mix its packed kernels.
const TYPES: Record<WidenedArchitecture, Type[]> = {
  llama: ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K_M', 'Q5_K_M', 'Q6_K'],
  qwen2: ['F32', 'Q4_K_M'],
  phi3: ['F32', 'Q5_K_M'],
};

/*
 * The rewrite against the original, both in llama.cpp: the same function in another order of f32
 * sums (through the rotation) on logits of a few units, so ε ~1e-6 and TV ≤ 1e-4 (see F32 in
 * architectures.dawn.test.ts). Measured: 2.4e-6 at worst, 163/163.
 */
const REWRITE: Bounds = { minTop1: 0.99, maxTv: 1e-4 };

/*
 * F32: both engines compute in f32 and differ in the order of sums: TV ≤ 2e-4, as derived in
 * reference.dawn.test.ts. Measured: 4.3e-6 at worst.
 * F16: llama.cpp rounds each matmul's activations to f16 (2^−11 relative) where we keep f32; the
 * F16 rows of reference.dawn.test.ts bound that by TV 2e-2. Measured: 7.7e-4 at worst, and
 * llama.cpp's own token-by-token run parts from its batched run by as much (7.8e-4).
 */
const F32: Bounds = { minTop1: 0.99, maxTv: 2e-4 };
const F16: Bounds = { minTop1: 0.99, maxTv: 2e-2 };

/*
 * Quantized files: the same weights on both sides, but llama.cpp's CPU rounds each matmul's
 * activations to 8 bits first (Q8_0/Q8_1 blocks of 32, Q8_K of 256), where our kernels keep f32.
 * On this model that moves the distributions by TV 5.6e-3 to 1.3e-2 on average and 9.6e-2 at
 * worst (Q4_K_M). It is the size of llama.cpp's own noise: evaluated token by token instead of in
 * one batch, llama.cpp parts from itself by up to 4.5e-2 (Q4_K_M), because its GEMV and GEMM sum
 * in different orders and from then on round differently; and on Q5_1 it changed its own choice
 * at one position of these 163 (a near-tie, ln ratio 0.02). So per file, agreement of 99% (at
 * most one miss) would ask more than llama.cpp gives itself, and the bounds are on what can be
 * held:
 * - every miss is a near-tie: llama.cpp prefers its choice to ours by a ln ratio of at most 0.25,
 *   a 28% probability ratio (measured: at most 0.12). A real fault (a wrong scale, a misread
 *   block) moves whole distributions, and the misses with them;
 * - at most 4 misses in 163 per file (measured 0–3), and 99% over all the llama files together
 *   (below; measured 99.2%, 10 misses in 1304);
 * - TV at most twice the largest measured, 0.2, and 0.03 on average (measured ≤ 1.3e-2).
 */
const QUANTIZED: Bounds = { minTop1: 0.97, maxTv: 0.2, meanTv: 0.03, nearTie: 0.25 };

/** Top-1 agreement of each quantized llama file, for the total at the end. */
const quantizedLlama: number[] = [];

let dir: string;
let ids: number[];
// One engine for every file: pipelines compiled for one serve the next.
const engine = new Engine();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pocket-hub-trained-'));
  // llama.cpp's tokenization, so that the text is the same for both engines whatever ours does
  // (src/engine/tokenizer checks ours against llama.cpp's goldens).
  ids = [1, ...(await referenceTokenize(STORIES_GGUF, STORY))];
});
afterAll(() => engine.unload());

describe.each(Object.keys(TYPES) as WidenedArchitecture[])('stories260K rewritten as %s', (architecture) => {
  let f32Path: string;
  beforeAll(async () => {
    f32Path = join(dir, `${architecture}-F32.gguf`);
    const model = widenedStories(await storiesWeights(), await storiesTokenizerMetadata(), { architecture, type: 'F32', seed: 1 });
    await writeFile(f32Path, model.gguf());
  });

  test('is stories260K', async () => {
    const original = dense(await referenceProbabilities(STORIES_GGUF, ids, VOCAB), VOCAB);
    const rewritten = dense(await referenceProbabilities(f32Path, ids, VOCAB), VOCAB);
    const a = agreement(rewritten, original);
    console.log(`${architecture} rewrite against stories260K, both in llama.cpp: ${a.summary}`);
    expectWithin(a, REWRITE, 'stories260K');
  });

  test.each(TYPES[architecture])('%s: the story teacher-forced, position by position against llama.cpp', async (type) => {
    let path = f32Path;
    // Every type but F32 comes from llama.cpp's quantizer, with its own mixes (Q4_K_M keeps some
    // matrices in Q6_K).
    if (type !== 'F32') {
      path = join(dir, `${architecture}-${type}.gguf`);
      await quantizeWithLlamaCpp(f32Path, path, type);
    }
    const reference = dense(await referenceProbabilities(path, ids, VOCAB), VOCAB);
    // An f32 KV cache, as llama.cpp's here (test/llamaCpp.ts).
    await engine.loadFrom(await diskLocation(path), { kvCache: 'f32' });
    const a = agreement(dense((await engine.score(ids, { topK: VOCAB })).positions.map((p) => p.top), VOCAB), reference);
    console.log(`${architecture} ${type}: against llama.cpp ${a.summary}`);
    expectWithin(a, type === 'F32' ? F32 : type === 'F16' ? F16 : QUANTIZED, 'llama.cpp');
    if (architecture === 'llama' && type !== 'F32' && type !== 'F16') quantizedLlama.push(a.top1);
  });
});

test("over llama.cpp's quantized llama files together, our next-token choice is llama.cpp's at 99% of positions or more", () => {
  expect(quantizedLlama).toHaveLength(8);
  const total = quantizedLlama.reduce((a, b) => a + b, 0) / quantizedLlama.length;
  console.log(`top-1 over ${quantizedLlama.length} quantized files of the trained model: ${(100 * total).toFixed(1)}%`);
  expect(total).toBeGreaterThanOrEqual(0.99);
});
