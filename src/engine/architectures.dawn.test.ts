// Every architecture the engine runs, on random-weight models with each family's real layout
// (scripts/randomModel.ts), against llama.cpp: the same teacher-forced tokens through our Engine
// and through llama.cpp (node-llama-cpp, CPU), compared position by position, for F32 and
// quantized GGUFs; and the Hugging Face twin of each model (config.json + model.safetensors, the
// converter's input) through our engine against its GGUF.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { storiesTokenizerMetadata, writeHfModel } from '../../scripts/randomGguf.ts';
import { RANDOM_MODELS, randomModel, type RandomModelType, type RandomPreset } from '../../scripts/randomModel.ts';
import { agreement, dense, expectWithin, sequence, type Bounds } from '../../test/agreement.ts';
import { referenceProbabilities } from '../../test/llamaCpp.ts';
import { diskLocation } from '../cli/nodeFiles.ts';
import { Engine } from './engine.ts';

const VOCAB = 512;

/*
 * Same weights, f32 arithmetic on both sides (an F32 file; or a quantized file through our
 * kernels, which decode it exactly and keep f32 activations, against llama.cpp on an F32 file of
 * the decoded values). The engines then differ only in the order of f32 sums: ~1e-6 relative
 * per matmul, a few 1e-6 through the layers, on logits that spread with standard deviation 6
 * (up to ~20 at the top): every logit within ε ≲ 1e-4 of llama.cpp's after a common shift, so
 * each probability ratio lies in [e^−2ε, e^2ε] and TV ≤ e^2ε − 1 ≈ 2e-4 (the Llama rows of
 * reference.dawn.test.ts measure 2.4e-5 at worst). A top-1 flip needs two logits closer than ε,
 * ~1e-4 per position: 99% allows a rare near-tie and nothing more. Measured: 1.6e-5 at worst
 * (llama3), 100% top-1, for every SiLU family in F32 and in Q4_K against the decoded weights.
 */
const F32: Bounds = { minTop1: 0.99, maxTv: 2e-4 };

/*
 * GELU families (gemma2, gemma3, gpt2): llama.cpp's CPU GELU rounds its input to f16 and returns
 * an f16 table value (ggml-cpu vec.h, GGML_GELU_FP16), a relative error of up to 2^−11 on every
 * FFN activation, which f32 arithmetic cannot follow. That is the F16 rows of
 * reference.dawn.test.ts on one matmul input per layer instead of all of them: their bound, TV ≤
 * 2e-2 (measured there 2.4e-3 at worst), with flips at gaps under 1e-2, a ~1% event. Measured
 * here: 1.1e-3 (gemma2), 2.0e-3 (gemma3), 1.4e-3 (gpt2) at worst, 100% top-1.
 */
const F32_GELU: Bounds = { minTop1: 0.99, maxTv: 2e-2 };

/*
 * The HF twin against its GGUF, both through our engine: the same f32 values through the same
 * kernels. What differs is the order of f32 sums where the layouts differ (llama's Q/K rows in
 * RoPE-pair order, gpt2's transposed Conv1D weights), gemma's 1 + w against the GGUF's stored
 * w + 1 (the same f32 value), and llama3's RoPE factors computed from config.json instead of
 * read from rope_freqs (both in f32 from the same formula): ε ~1e-6 relative on logits ≤ 20, so
 * TV ≤ 1e-4. Measured: 5.4e-6 (llama), 7.6e-6 (llama3), and identical distributions for the
 * other families.
 */
const TWIN: Bounds = { minTop1: 0.99, maxTv: 1e-4 };

/*
 * A Q4_K file against llama.cpp on that same file. llama.cpp's CPU dot products round the
 * activations to 8 bits (Q8_K blocks of 256), which our kernels do not; reference.dawn.test.ts
 * argues what that costs a 2-layer Llama: top-1 ≥ 87%, TV ≤ 0.2 at worst and 0.05 on average,
 * and for a tied head (which answers 2.2 times as strongly to any error) 78%, 0.4 and 0.11. Each
 * layer's rounding errors are independent of the others', so the logit error grows as
 * √layers: deeper models get each bound's distance from agreement (1 − top-1, TV) times
 * √(layers / 2). This is the comparison that would catch a quantized layout we and llama.cpp
 * read differently (against the decoded weights, our writer and our reader agree with each
 * other whatever the layout): such a bug moves whole distributions. Measured (72 positions):
 * untied 93–96% top-1, TV 0.11 at worst, 0.027 on average; tied 94–97%, 0.15, 0.055, exactly
 * what llama.cpp's own decoded run differs from its Q4_K run by. A six-layer tied gemma3 (100
 * positions) gave 92%, 0.35, 0.11: inside its √3 wider bounds.
 */
function quantizedBounds(tied: boolean, layers: number): Bounds {
  const [miss, maxTv, meanTv] = tied ? [0.22, 0.4, 0.11] : [0.13, 0.2, 0.05];
  const depth = Math.sqrt(Math.max(layers, 2) / 2);
  return { minTop1: 1 - miss * depth, maxTv: maxTv * depth, meanTv: meanTv * depth };
}

const GELU = new Set<RandomPreset>(['gemma2', 'gemma3', 'gpt2']);
const PRESETS = Object.keys(RANDOM_MODELS) as RandomPreset[];
// F32, and Q4_K for what people run (Q4_K_M files are mostly Q4_K). The other types take the
// same path through each family's code and are held to llama.cpp type by type on Llama in
// reference.dawn.test.ts; here they would only add minutes.
const TYPES: RandomModelType[] = ['F32', 'Q4_K'];
// A full 64-token prefill chunk and 8 tokens of a second, so the KV cache carries across a chunk
// boundary and gemma's 32-token window cuts into both, at little more than one chunk's cost on
// a software GPU. 99% of 72 allows no miss: measured, none of the F32-bounded comparisons has
// one in 100 positions.
const POSITIONS = 72;

let dir: string;
// One engine for every case: pipelines compiled for one serve the next.
const engine = new Engine();
const ids = sequence(11, POSITIONS, VOCAB);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pocket-hub-architectures-'));
});
afterAll(() => engine.unload());

async function ours(path: string): Promise<Float64Array[]> {
  await engine.loadFrom(await diskLocation(path), {});
  return dense((await engine.score(ids, { topK: VOCAB })).positions.map((p) => p.top), VOCAB);
}

describe.each(PRESETS)('%s', (preset) => {
  const exact = GELU.has(preset) ? F32_GELU : F32;
  const ggufPath = (type: RandomModelType, suffix = '') => join(dir, `${preset}-${type}${suffix}.gguf`);
  let f32Ours: Float64Array[] | undefined;

  test.each(TYPES)(`%s GGUF: ${POSITIONS} teacher-forced positions against llama.cpp`, async (type) => {
    const model = randomModel(await storiesTokenizerMetadata(), { ...RANDOM_MODELS[preset], type });
    await writeFile(ggufPath(type), model.gguf());
    const mine = await ours(ggufPath(type));
    if (type === 'F32') f32Ours = mine;
    const reference = dense(await referenceProbabilities(ggufPath(type), ids, VOCAB), VOCAB);
    const vsFile = agreement(mine, reference);
    if (type === 'F32') {
      console.log(`${preset} ${type}: against llama.cpp ${vsFile.summary}`);
      expectWithin(vsFile, exact, 'llama.cpp');
      return;
    }
    // llama.cpp rounds the activations of a quantized file to 8 bits; on an F32 file of the
    // decoded weights it computes what our kernels compute on the quantized one.
    await writeFile(ggufPath(type, '-decoded'), model.decodedGguf());
    const decoded = dense(await referenceProbabilities(ggufPath(type, '-decoded'), ids, VOCAB), VOCAB);
    const vsDecoded = agreement(mine, decoded);
    const rounding = agreement(decoded, reference);
    console.log(`${preset} ${type}: against llama.cpp on the decoded weights ${vsDecoded.summary}; on the file ${vsFile.summary} (llama.cpp's own activation rounding: ${rounding.summary})`);
    expectWithin(vsDecoded, exact, 'llama.cpp on the decoded weights');
    const bounds = quantizedBounds(model.options.tied, model.options.layers);
    expectWithin(vsFile, bounds, 'llama.cpp on the file');
  });

  test('the safetensors twin scores as its F32 GGUF', async () => {
    const model = randomModel(await storiesTokenizerMetadata(), RANDOM_MODELS[preset]);
    const folder = join(dir, `${preset}-hf`);
    await mkdir(folder, { recursive: true });
    await writeHfModel(folder, model);
    if (!f32Ours) {
      await writeFile(ggufPath('F32'), model.gguf());
      f32Ours = await ours(ggufPath('F32'));
    }
    const twin = agreement(await ours(folder), f32Ours);
    console.log(`${preset} safetensors twin: against its GGUF ${twin.summary}`);
    expectWithin(twin, TWIN, 'the GGUF');
  });
});
