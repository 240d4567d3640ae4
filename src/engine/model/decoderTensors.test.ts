import { describe, expect, test } from 'vitest';
import { storiesTokenizerMetadata } from '../../../scripts/randomGguf.ts';
import { llama3RopeFactors as converterFactors, RANDOM_MODELS, randomModel } from '../../../scripts/randomModel.ts';
import { CorruptFileError, UnsupportedArchitectureError } from '../../protocol/errors.ts';
import { configFromGguf } from '../configGguf.ts';
import { readGguf } from '../formats/gguf.ts';
import { bytesSource } from '../formats/source.ts';
import { checkShapes, llama3RopeFactors } from './decoderTensors.ts';
import { llamaTensors } from './weights.ts';

describe('llama3RopeFactors', () => {
  // Llama 3.1's rope_scaling, head dimension 128.
  const scaling = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 };
  const factors = llama3RopeFactors({ ropeDim: 128, ropeTheta: 500000, ropeScaling: scaling });

  test('keeps the fast pairs, slows the slow ones by the factor, and blends monotonically between', () => {
    // Pair 0 turns once in 2π positions (< 8192 / 4); pair 63 once in ~2.6e6 (> 8192).
    expect(factors[0]).toBe(1);
    expect(factors[63]).toBe(8);
    const blended = [...factors].filter((f) => f !== 1 && f !== 8);
    expect(blended.length).toBeGreaterThan(0);
    for (let j = 1; j < 64; j++) expect(factors[j]).toBeGreaterThanOrEqual(factors[j - 1]);
  });

  test("agrees with the writer's copy of convert_hf_to_gguf.py, which stays in f32 throughout", () => {
    const writer = converterFactors(scaling, 500000, 128);
    // The two round differently after the base frequency (float64 here, f32 there): a few f32 ulps.
    for (let j = 0; j < 64; j++) expect(Math.abs(factors[j] - writer[j])).toBeLessThanOrEqual(4 * 2 ** -23 * writer[j]);
  });
});

describe('checkShapes', () => {
  async function gpt2() {
    const gguf = await readGguf(bytesSource('gpt2.gguf', randomModel(await storiesTokenizerMetadata(), RANDOM_MODELS.gpt2).gguf()));
    const config = configFromGguf(gguf);
    return { config, tensors: llamaTensors('gguf', gguf.tensors, config) };
  }

  test('accepts a well-formed gpt2, and names a LayerNorm bias its config needs but the file lacks', async () => {
    const { config, tensors } = await gpt2();
    expect(() => checkShapes(config, tensors, 64)).not.toThrow();
    const { attnNormBias: _, ...layer } = tensors.layers[1];
    expect(() => checkShapes(config, { ...tensors, layers: [tensors.layers[0], layer] }, 64)).toThrow(CorruptFileError);
    expect(() => checkShapes(config, { ...tensors, layers: [tensors.layers[0], layer] }, 64)).toThrow('attention norm bias');
  });

  test('refuses a misshapen tensor, a context past the learned positions, and an ungated SiLU', async () => {
    const { config, tensors } = await gpt2();
    const up = { ...tensors.layers[0].up, shape: [config.intermediateSize + 1, config.hiddenSize] };
    expect(() => checkShapes(config, { ...tensors, layers: [{ ...tensors.layers[0], up }, tensors.layers[1]] }, 64)).toThrow(/ffn_up.*shape/);
    expect(() => checkShapes(config, tensors, config.contextLength + 1)).toThrow(RangeError);
    expect(() => checkShapes({ ...config, activation: 'silu' }, tensors, 64)).toThrow(UnsupportedArchitectureError);
  });
});
