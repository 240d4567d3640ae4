import { describe, expect, test } from 'vitest';
import { configFromGguf } from '../src/engine/configGguf.ts';
import { readGguf, type GgufFile } from '../src/engine/formats/gguf.ts';
import { quantizeRowK } from '../src/engine/formats/kquant.ts';
import { quantizeRow } from '../src/engine/formats/quant.ts';
import { bytesSource, readTensorF32 } from '../src/engine/formats/source.ts';
import { llamaTensors } from '../src/engine/model/weights.ts';
import { tokenizerFromGguf } from '../src/engine/tokenizer/index.ts';
import { randomLlamaGguf, storiesTokenizerMetadata, type RandomLlamaOptions, type RandomLlamaType } from './randomGguf.ts';

async function random(options: Partial<RandomLlamaOptions> = {}): Promise<{ bytes: Uint8Array; gguf: GgufFile }> {
  const bytes = randomLlamaGguf(await storiesTokenizerMetadata(), options);
  return { bytes, gguf: await readGguf(bytesSource('random.gguf', bytes)) };
}

function std(values: Float32Array): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

describe('randomLlamaGguf', () => {
  test('reads back as a 2-layer Llama with the shapes and metadata of llama.cpp’s converter', async () => {
    const { gguf } = await random();
    expect(configFromGguf(gguf)).toMatchObject({
      hiddenSize: 256,
      intermediateSize: 768,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 64,
      ropeDim: 64,
      vocabSize: 512,
      contextLength: 2048,
      tieEmbeddings: false,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
    expect(gguf.metadata['general.file_type']).toBe(0);
    expect(gguf.metadata['llama.vocab_size']).toBe(512);
    const t = llamaTensors('gguf', gguf.tensors, configFromGguf(gguf));
    expect(t.output?.shape).toEqual([512, 256]);
    expect(t.layers[1].k.shape).toEqual([128, 256]);
    expect(t.layers[1].down.shape).toEqual([256, 768]);
    // Nothing beyond what the forward pass reads.
    expect(gguf.tensors).toHaveLength(3 + 2 * 9);
    for (const tensor of gguf.tensors) expect(tensor.dtype).toBe('F32');
  });

  test('F16 stores every matrix as F16 and keeps the norm weights F32', async () => {
    const { gguf } = await random({ type: 'F16' });
    expect(gguf.metadata['general.file_type']).toBe(1);
    for (const tensor of gguf.tensors) expect(tensor.dtype, tensor.name).toBe(tensor.shape.length === 1 ? 'F32' : 'F16');
  });

  // llama_ftype numbers from llama.h; the K types as llama.cpp's loader names an all-K file.
  test.each([
    ['Q8_0', 7],
    ['Q4_0', 2],
    ['Q4_1', 3],
    ['Q5_0', 8],
    ['Q5_1', 9],
    ['Q4_K', 15],
    ['Q5_K', 17],
    ['Q6_K', 18],
  ] as [RandomLlamaType, number][])('%s: every matrix in that type, general.file_type %i, norm weights kept F32', async (type, fileType) => {
    const { gguf } = await random({ type });
    expect(gguf.metadata['general.file_type']).toBe(fileType);
    for (const tensor of gguf.tensors) expect(tensor.dtype, tensor.name).toBe(tensor.shape.length === 1 ? 'F32' : type);
  });

  test('quantized matrices are the F32 model’s values through quantizeRow / quantizeRowK', async () => {
    const f32 = (await random({ seed: 5 })).gguf;
    for (const type of ['Q5_1', 'Q4_K'] as const) {
      const { bytes, gguf } = await random({ seed: 5, type });
      for (const t of gguf.tensors.filter((t) => t.shape.length === 2)) {
        const values = await readTensorF32(f32.tensors.find((s) => s.name === t.name)!);
        const expected = type === 'Q4_K' ? quantizeRowK(type, values) : quantizeRow(type, values);
        expect(Buffer.compare(bytes.subarray(t.offset, t.offset + t.byteLength), expected), `${type} ${t.name}`).toBe(0);
      }
    }
  });

  test('tied: no output.weight, and the model says so', async () => {
    const { gguf } = await random({ tied: true });
    expect(gguf.tensors.some((t) => t.name === 'output.weight')).toBe(false);
    expect(configFromGguf(gguf).tieEmbeddings).toBe(true);
  });

  test('the seed fixes every byte', async () => {
    const a = (await random({ seed: 3 })).bytes;
    expect(Buffer.compare(a, (await random({ seed: 3 })).bytes)).toBe(0);
    expect(Buffer.compare(a, (await random({ seed: 4 })).bytes)).not.toBe(0);
  });

  test('the weights have the scales the script documents', async () => {
    const { gguf } = await random();
    const tensor = (name: string) => readTensorF32(gguf.tensors.find((t) => t.name === name)!);
    // Sample standard deviations of ≥ 65k uniform values land within 1% of the true one;
    // toBeCloseTo(1, 1) allows 5%, and a wrong scale (√3, or fan-out for fan-in) is off by 40% or more.
    expect(std(await tensor('token_embd.weight'))).toBeCloseTo(1, 1);
    expect(std(await tensor('blk.0.attn_q.weight')) / (1.5 / 16)).toBeCloseTo(1, 1);
    expect(std(await tensor('blk.0.ffn_down.weight')) / (1 / Math.sqrt(768))).toBeCloseTo(1, 1);
    expect(std(await tensor('output.weight')) / (6 / 16)).toBeCloseTo(1, 1);
    const norm = await tensor('blk.1.ffn_norm.weight');
    expect(Math.min(...norm)).toBeGreaterThanOrEqual(0.75);
    expect(Math.max(...norm)).toBeLessThanOrEqual(1.25);
  });

  test('carries stories260K’s tokenizer, which our tokenizer reads as for the original', async () => {
    const { gguf } = await random();
    expect(tokenizerFromGguf(gguf.metadata).encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
  });

  // Sizes that are not whole super-blocks are written in llama.cpp's fallback types
  // (randomModelFallback.test.ts); a head layout that does not divide has no file at all.
  test('refuses KV heads that do not divide the heads', async () => {
    const tokenizer = await storiesTokenizerMetadata();
    expect(() => randomLlamaGguf(tokenizer, { heads: 4, kvHeads: 3 })).toThrow(RangeError);
  });
});
