import { describe, expect, test } from 'vitest';
import { rng } from '../../../test/gpu.ts';
import { CorruptFileError, DeviceLimitError, type PocketHubError } from '../../protocol/errors.ts';
import { bytesSource, type TensorInfo } from '../formats/source.ts';
import { checkDeviceLimits, planVocabChunks, vocabRowBytes, type BindingNeeds } from './vocabMatrix.ts';

const MiB128 = 128 * 2 ** 20;

/**
 * What is wrong with a plan, if anything: the chunks must tile the vocabulary in order, each fit
 * the limit once padded to a word, and start at a multiple of its own size.
 */
function planFaults(vocab: number, rowBytes: number, limit: number): { faults: string[]; count: number } {
  const chunks = planVocabChunks(vocab, rowBytes, limit);
  const faults: string[] = [];
  let next = 0;
  for (const { first, rows } of chunks) {
    if (first !== next) faults.push(`chunk at ${first}, expected ${next}`);
    if (!(rows > 0) || Math.ceil((rows * rowBytes) / 4) * 4 > limit) faults.push(`chunk of ${rows} rows at ${first}`);
    if (first % rows !== 0) faults.push(`chunk of ${rows} rows starts at ${first}`);
    next = first + rows;
  }
  if (next !== vocab) faults.push(`chunks end at ${next}`);
  return { faults: faults.map((f) => `vocab ${vocab}, rows of ${rowBytes} B, limit ${limit}: ${f}`), count: chunks.length };
}

function tensor(dtype: string, shape: number[], byteLength = 0): TensorInfo {
  return { name: 'token_embd.weight', dtype, shape, source: bytesSource('model.gguf', new Uint8Array(0)), offset: 0, byteLength };
}

describe('planVocabChunks', () => {
  test('a matrix that fits is one chunk', () => {
    expect(planVocabChunks(512, 1024, 512 * 1024)).toEqual([{ first: 0, rows: 512 }]);
    expect(planVocabChunks(32000, 288 * 4, MiB128)).toEqual([{ first: 0, rows: 32000 }]);
  });

  test('real vocabularies at 128 MiB split into the fewest chunks', () => {
    // Qwen2.5-0.5B, Q8_0 rows of 896 values (28 blocks of 34 bytes): 145 MB, and 151936 = 2^7 · 1187.
    expect(planVocabChunks(151936, 952, MiB128)).toEqual([
      { first: 0, rows: 75968 },
      { first: 75968, rows: 75968 },
    ]);
    // Llama 3.2-1B, F16 rows of 2048: 525 MB, four chunks of 131 MB.
    expect(planVocabChunks(128256, 4096, MiB128).map((c) => c.rows)).toEqual([32064, 32064, 32064, 32064]);
    // GPT-2's 50257 = 29 · 1733, F32 rows of 768 values (154 MB): no two equal halves, so a one-row piece ends it.
    expect(planVocabChunks(50257, 3072, MiB128).map((c) => c.rows)).toEqual([25128, 25128, 1]);
  });

  test('512 rows limited to 200 each: three uneven chunks', () => {
    expect(planVocabChunks(512, 1024, 200 * 1024)).toEqual([
      { first: 0, rows: 192 },
      { first: 192, rows: 192 },
      { first: 384, rows: 128 },
    ]);
  });

  test('random vocabularies, row sizes and limits give valid plans of few chunks', () => {
    const random = rng(11);
    const faults: string[] = [];
    for (let trial = 0; trial < 200; trial++) {
      const vocab = 1 + Math.floor(random() * 300000);
      const rowBytes = 2 + Math.floor(random() * 5000);
      const limit = rowBytes * (1 + Math.floor(random() * vocab)) + Math.floor(random() * rowBytes);
      const plan = planFaults(vocab, rowBytes, limit);
      // Full chunks of at least half a buffer each, then at most one piece per bit of the remainder.
      const maxRows = Math.floor((Math.floor(limit / 4) * 4) / rowBytes);
      const bound = Math.ceil(vocab / Math.ceil(maxRows / 2)) + Math.ceil(Math.log2(maxRows + 1));
      if (plan.count > bound) plan.faults.push(`vocab ${vocab}, limit ${limit}: ${plan.count} chunks, more than ${bound}`);
      faults.push(...plan.faults);
    }
    expect(faults).toEqual([]);
  });

  test('a row larger than the limit is a DeviceLimitError naming the matrix', () => {
    expect(() => planVocabChunks(100, 4096, 4095, 'Tensor output.weight')).toThrow(DeviceLimitError);
    expect(() => planVocabChunks(100, 4096, 4095, 'Tensor output.weight')).toThrow(/output\.weight: one row takes 4096 bytes/);
    // A row is padded to a whole word in its own buffer: 4094 bytes need 4096.
    expect(() => planVocabChunks(1, 4094, 4095)).toThrow(DeviceLimitError);
  });
});

describe('vocabRowBytes', () => {
  test('is the stored row: f32 for F32, file bytes for packed and K-quant types', () => {
    expect(vocabRowBytes(tensor('F32', [10, 96]))).toBe(384);
    expect(vocabRowBytes(tensor('F16', [10, 96]))).toBe(192);
    expect(vocabRowBytes(tensor('Q8_0', [10, 96]))).toBe(102);
    expect(vocabRowBytes(tensor('Q6_K', [10, 256]))).toBe(210);
  });

  test('rows that end inside a block are a CorruptFileError', () => {
    expect(() => vocabRowBytes(tensor('Q4_K', [10, 96]))).toThrow(CorruptFileError);
    expect(() => vocabRowBytes(tensor('Q8_0', [10, 100]))).toThrow(CorruptFileError);
  });
});

describe('checkDeviceLimits', () => {
  const needs = (over: Partial<BindingNeeds>): BindingNeeds => ({
    tensors: [tensor('F32', [64, 64])],
    vocab: [tensor('Q8_0', [151936, 896])],
    kvBytesPerToken: 2 * 64 * 4,
    contextLength: 4096,
    tensorBytes: (t) => t.shape[0] * t.shape[1] * 4,
    ...over,
  });

  test('passes when only the vocabulary matrix is larger than a binding', () => {
    expect(() => checkDeviceLimits(MiB128, needs({}))).not.toThrow();
  });

  test('names a whole tensor that does not fit', () => {
    const big = { ...tensor('F32', [8192, 8192]), name: 'blk.0.ffn_up.weight' };
    expect(() => checkDeviceLimits(MiB128, needs({ tensors: [big] }))).toThrow(/blk\.0\.ffn_up\.weight needs 256 MiB in one buffer, but this GPU binds at most 128 MiB/);
  });

  test('says how long a context fits when the KV cache does not', () => {
    let error: unknown;
    try {
      checkDeviceLimits(2 ** 20, needs({ contextLength: 4096 }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DeviceLimitError);
    expect((error as PocketHubError).message).toMatch(/KV cache of 4096 tokens needs 2 MiB per layer/);
    // 1 MiB / 512 bytes per token.
    expect((error as PocketHubError).hint).toBe('Use a context of at most 2048 tokens.');
  });

  test('counts a ring, not the context, when every layer slides', () => {
    // 512 bytes per token: a 4096-token context needs 2 MiB a layer, a ring of 1087 rows 0.531 MiB.
    expect(() => checkDeviceLimits(2 ** 20, needs({ contextLength: 4096, cacheRows: 1087 }))).not.toThrow();
    expect(() => checkDeviceLimits(2 ** 19, needs({ contextLength: 4096, cacheRows: 1087 }))).toThrow(
      /sliding-window KV cache of 1087 rows needs 0\.531 MiB per layer/,
    );
  });

  test('refuses a vocabulary whose single row is over the limit', () => {
    expect(() => checkDeviceLimits(900, needs({ tensors: [], kvBytesPerToken: 1, contextLength: 1 }))).toThrow(DeviceLimitError);
  });
});
