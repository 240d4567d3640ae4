// The whole engine on random-weight Llama GGUFs (scripts/randomGguf.ts), weight type by weight
// type, for files our writer quantizes and files llama.cpp's own quantizer makes: every
// next-token distribution of a teacher-forced sequence, against the float64 forward pass of the
// same weights (test/reference/llama.ts) and against llama.cpp.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomLlamaGguf, storiesTokenizerMetadata, type RandomLlamaOptions } from '../../scripts/randomGguf.ts';
import { agreement, dense, expectWithin, sequence, type Bounds } from '../../test/agreement.ts';
import { referenceProbabilities } from '../../test/llamaCpp.ts';
import { quantizeWithLlamaCpp, type LlamaQuantType } from '../../test/llamaQuantize.ts';
import { llamaLogitsRef } from '../../test/reference/llama.ts';
import { diskLocation } from '../cli/nodeFiles.ts';
import { Engine } from './engine.ts';
import { llamaTensors } from './model/weights.ts';
import { openModel } from './open.ts';
import { scoreRow } from './score.ts';

const VOCAB = 512;

interface Case {
  name: string;
  /** A model from scripts/randomGguf.ts, written as it is or put through llama.cpp's quantizer. */
  model: Partial<RandomLlamaOptions>;
  quantize?: LlamaQuantType;
  positions: number;
  llamaCpp: Bounds;
}

/*
 * Against the float64 forward pass of the weights the file decodes to, every type is held to the
 * F32 bounds below: our kernels decode the same f32 weights (dequantizeRow's products) and differ
 * from float64 only by f32 rounding of sums (measured: TV ≤ 1.2e-5 and 100% top-1 for every
 * type, from both quantizers).
 */
const EXACT: Bounds = { minTop1: 0.99, maxTv: 2e-4 };

/*
 * Against llama.cpp. If every logit of ours is within ε of llama.cpp's (after a common shift,
 * which softmax ignores), each probability ratio lies in [e^−2ε, e^2ε] and the total variation is
 * at most e^2ε − 1 ≈ 2ε (logits spread with standard deviation 6; see scripts/randomGguf.ts):
 * - F32: both sides compute in f32 and differ only in summation order: ~1e-6 relative per
 *   matmul, a few 1e-6 through two layers, times logits of ~6 (up to ~20 at the top), so
 *   ε ≲ 1e-4 and TV ≤ 2e-4 (measured: 2.4e-5 at worst). A top-1 flip needs two logits closer
 *   than ε, odds of ~1e-4 per position for gaps of ~1: the 99% bound allows a rare near-tie
 *   and nothing more.
 * - F16: the weights are the same f16 values on both sides (our kernels decode them exactly),
 *   but llama.cpp's CPU matmul rounds each activation to f16 before the dot product (2^−11
 *   relative, ~3e-4 per matmul after averaging), ~1e-3 relative after two layers and the head,
 *   so ε ≈ 1e-2 at worst on logits of up to ~20: TV ≤ 2e-2 (measured: 2.4e-3 at worst, 7.1e-4
 *   on average). Flips need a gap under 1e-2, a ~1% event; 99% of 200 positions allows two.
 * A real bug (a wrong RoPE pair, a skipped norm weight, an off-by-one in the KV cache) moves
 * whole distributions: TV of 0.3 or more and top-1 agreement near chance.
 */
const F32: Bounds = { minTop1: 0.99, maxTv: 2e-4 };
const F16: Bounds = { minTop1: 0.99, maxTv: 2e-2 };

/*
 * Quantized weights. Both engines read the same weights, but llama.cpp's CPU dot products of a
 * quantized type first round the activations to 8 bits (Q8_0 or Q8_1 blocks of 32 for the
 * 32-element types, Q8_K blocks of 256 for the K-quants): that, not the weights, is where the
 * engines part (the float64 model, which rounds no activations, differs from llama.cpp exactly
 * as we do). The bounds scale the F16 case, which measures this model's response to rounding
 * its activations, by the size of the rounding:
 * - f16 rounding has an RMS error of ~2.0e-4 of the value; 8-bit rounding with a step of
 *   amax/127 has amax/(127·√12) ≈ 5.5e-3 of a block's RMS for blocks of 32 (amax ≈ 2.4 RMS) and
 *   ≈ 6.8e-3 for blocks of 256 (amax ≈ 3 RMS): 28 and 35 times f16's. The F16 case's TV of
 *   7.1e-4 on average and 2.4e-3 at worst then predicts 0.020 and 0.068 for the 32-element
 *   types (measured 0.018–0.023 and 0.053–0.084; llama.cpp's own files add a Q6_K output) and
 *   0.025 and 0.085 for the K-quants (measured 0.025–0.032 and 0.084–0.12). maxTv and meanTv
 *   are twice the predictions, rounded up.
 * - A tied head answers 2.2 times as strongly to any error (the F32 cases: TV 4.7e-6 tied
 *   against 2.2e-6 untied on average), so a tied K-quant model gets 2.2 times the K-quant bounds.
 * - The logit error σ is the F16 case's (2.6e-3, from its mean KL divergence of 3.3e-6 ≈ σ²/2)
 *   times the same factors: 0.07, 0.09, and 0.2 tied. Two logits' errors differ by more than
 *   5√2·σ once in millions, so wherever our choice differs, llama.cpp's own choice leads ours by
 *   less than that: nearTie 0.5, 0.65 and 1.5 (measured at most 0.29, 0.22 and 0.53).
 * - Choices flip where the top two logits lie within the error of each other: with a density of
 *   ~0.5 top-two gaps per unit near zero (7–11% of the float64 model's positions have their top
 *   two within 0.2) and a mean |difference of two errors| of 1.13σ, ~4%, ~5% and ~11% of
 *   positions (measured up to 4%, 6% and 8%). minTop1 allows the 99.9th percentile of those
 *   counts over 100 positions: 11, 13 and 22 misses.
 */
const BLOCK32: Bounds = { minTop1: 0.89, maxTv: 0.15, meanTv: 0.04, nearTie: 0.5 };
const KQUANT: Bounds = { minTop1: 0.87, maxTv: 0.2, meanTv: 0.05, nearTie: 0.65 };
const KQUANT_TIED: Bounds = { minTop1: 0.78, maxTv: 0.4, meanTv: 0.11, nearTie: 1.5 };

// 100 positions for the quantized cases (two chunks of the 64-token batch, one of them partial)
// keep the table's time down; the F32 and F16 cases keep 200, where 99% allows two misses.
const QUANTIZED_POSITIONS = 100;
// llama.cpp's quantizer gets another model than ours, so its files are not ours byte for byte
// (as its Q8_0 and Q6_K would be) and each row tests something new.
const LLAMA_CPP_SEED = 2;

const CASES: Case[] = [
  { name: 'F32', model: { type: 'F32' }, positions: 200, llamaCpp: F32 },
  { name: 'F32, tied output', model: { type: 'F32', tied: true }, positions: 200, llamaCpp: F32 },
  { name: 'F16', model: { type: 'F16' }, positions: 200, llamaCpp: F16 },
  // Our quantizer writes llama.cpp's bytes for every type (quant.test.ts, kquant.test.ts), and the
  // llama.cpp rows below decode Q4_0, Q4_1, Q5_0, Q5_1 and Q5_K: our files of those types would
  // repeat that check at a minute of test time, so only these three stay.
  ...(['Q8_0', 'Q4_K', 'Q6_K'] as const).map(
    (type): Case => ({ name: `${type} (ours)`, model: { type }, positions: QUANTIZED_POSITIONS, llamaCpp: type.endsWith('_K') ? KQUANT : BLOCK32 }),
  ),
  { name: 'Q4_K, tied output (ours)', model: { type: 'Q4_K', tied: true }, positions: QUANTIZED_POSITIONS, llamaCpp: KQUANT_TIED },
  // Outside Q8_0 and the K-quant mixes, llama.cpp stores the output as Q6_K: these rows mix types.
  ...(['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K_M', 'Q5_K_M', 'Q6_K'] as const).map(
    (type): Case => ({
      name: `${type} (llama.cpp)`,
      model: { type: 'F32', seed: LLAMA_CPP_SEED },
      quantize: type,
      positions: QUANTIZED_POSITIONS,
      llamaCpp: type.includes('_K') ? KQUANT : BLOCK32,
    }),
  ),
  // The tied embedding becomes Q6_K and is both the table the embedding gathers from and the head.
  {
    name: 'Q4_K_M, tied output (llama.cpp)',
    model: { type: 'F32', seed: LLAMA_CPP_SEED, tied: true },
    quantize: 'Q4_K_M',
    positions: QUANTIZED_POSITIONS,
    llamaCpp: KQUANT_TIED,
  },
];

let dir: string;
// One engine for every row: pipelines compiled for one row serve the next.
const engine = new Engine();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pocket-hub-random-gguf-'));
});
afterAll(() => engine.unload());

async function scored(ids: number[]): Promise<Float64Array[]> {
  return dense((await engine.score(ids, { topK: VOCAB })).positions.map((p) => p.top), VOCAB);
}

describe.each(CASES)('random Llama, $name weights', ({ name, model, quantize, positions, llamaCpp }) => {
  let path: string;
  beforeAll(async () => {
    const file = (suffix: string) => join(dir, `${name.replace(/\W+/g, '-')}${suffix}.gguf`);
    path = file('');
    const bytes = randomLlamaGguf(await storiesTokenizerMetadata(), model);
    if (quantize) {
      await writeFile(file('-source'), bytes);
      await quantizeWithLlamaCpp(file('-source'), path, quantize);
    } else {
      await writeFile(path, bytes);
    }
    // An f32 KV cache, as llama.cpp's here (test/llamaCpp.ts) and the float64 model's.
    await engine.loadFrom(await diskLocation(path), { kvCache: 'f32' });
  });

  test(`${positions} teacher-forced positions against the float64 model and against llama.cpp`, async () => {
    const ids = sequence(11, positions, VOCAB);
    const ours = await scored(ids);
    const opened = await openModel(await diskLocation(path));
    const logits = await llamaLogitsRef(opened.config, llamaTensors('gguf', opened.tensors, opened.config), ids, opened.ropeMode);
    const exact = dense(ids.map((_, i) => scoreRow(logits.subarray(i * VOCAB, (i + 1) * VOCAB), VOCAB).top), VOCAB);
    const reference = dense(await referenceProbabilities(path, ids, VOCAB), VOCAB);
    const [vsExact, vsLlamaCpp] = [agreement(ours, exact), agreement(ours, reference)];
    console.log(`${name}: against float64 ${vsExact.summary}; against llama.cpp ${vsLlamaCpp.summary}`);
    expectWithin(vsExact, EXACT, 'float64');
    expectWithin(vsLlamaCpp, llamaCpp, 'llama.cpp');
    // Our own files of Q8_0, Q4_K and Q6_K repeat types llama.cpp's files below hold.
    if (name.startsWith('F32') || name.endsWith('(ours)')) return;
    // The same file with llama.cpp's rounding of the activations on our side too: where both
    // engines round the same value they agree, and where their f32 sums put a value on either
    // side of a rounding boundary they part as before (architectures.dawn.test.ts), so the
    // bounds are the same and the measured distance is what to watch.
    await engine.loadFrom(await diskLocation(path), { kvCache: 'f32', numerics: 'llama.cpp' });
    const matched = agreement(await scored(ids), reference);
    const asF32 = matched.tvs.filter((tv) => tv <= F32.maxTv).length;
    console.log(`${name}: with llama.cpp's numerics, against llama.cpp ${matched.summary}; ${asF32} positions within the F32 bound`);
    expectWithin(matched, llamaCpp, "llama.cpp (its numerics)");
    // Until the first rounding lands on the other side of a boundary, the two engines round the
    // same values and agree as closely as F32 weights do (llama.cpp's repacked and tinyBLAS paths
    // round their inputs as quantize_row_* does, checked on the library). The first such flip
    // came at positions 5 to 68 across these files, and every later position that attends to it
    // differs, so the count of F32-close positions was 13–88; without the emulation it was 0–3.
    expect(asF32, `${name}: positions within the F32 bound`).toBeGreaterThanOrEqual(5);
  });
});
