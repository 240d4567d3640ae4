// The vocabulary split through the whole forward pass: LlamaModel on a device that reports a
// binding limit below its vocabulary matrices gives the logits of the same model on the real
// limit, and says what is short when the KV cache cannot fit.
import { describe, expect, test } from 'vitest';
import { randomLlamaGguf, tokenizerMetadata } from '../../../scripts/randomLlama.ts';
import { testGpu, withGpuErrors } from '../../../test/gpu.ts';
import type { Gpu } from '../../gpu/device.ts';
import { DeviceLimitError } from '../../protocol/errors.ts';
import { configFromGguf } from '../configGguf.ts';
import { readGguf } from '../formats/gguf.ts';
import { bytesSource } from '../formats/source.ts';
import { LlamaModel } from './llama.ts';
import { planVocabChunks } from './vocabMatrix.ts';
import { llamaTensors } from './weights.ts';

/** The same device, reporting `limit` bytes as the most one buffer may hold and bind. */
function withBindingLimit(gpu: Gpu, limit: number): Gpu {
  const limits = new Proxy(gpu.device.limits, {
    get: (t, p) => (p === 'maxStorageBufferBindingSize' || p === 'maxBufferSize' ? limit : t[p as keyof GPUSupportedLimits]),
  });
  const device = new Proxy(gpu.device, {
    get: (t, p) => {
      if (p === 'limits') return limits;
      const v = t[p as keyof GPUDevice];
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { ...gpu, device };
}

describe('LlamaModel with a vocabulary split by the device limit', () => {
  // A made-up SentencePiece vocabulary of 300 pieces: <unk>, <s>, </s>, then ▁t3 .. ▁t299.
  const VOCAB = 300;
  const tokenizer = tokenizerMetadata({
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': ['<unk>', '<s>', '</s>', ...Array.from({ length: VOCAB - 3 }, (_, i) => `\u2581t${i + 3}`)],
    'tokenizer.ggml.scores': Array.from({ length: VOCAB }, (_, i) => -i),
    'tokenizer.ggml.token_type': [2, 3, 3, ...new Array(VOCAB - 3).fill(1)],
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.unknown_token_id': 0,
  });
  // F32 [300, 256] vocabulary matrices (300 KiB) above a 280000-byte limit that every other
  // buffer fits: [256, 256] matrices of 256 KiB, and activations of at most 32 rows.
  const LIMIT = 280_000;
  const options = { contextLength: 16, ropeMode: 'adjacent', maxBatch: 32 } as const;

  test.each([false, true])('tied %s: every logit equals the unsplit model’s, bit for bit', async (tied) => {
    const gpu = await testGpu();
    expect(planVocabChunks(VOCAB, 4 * 256, LIMIT)).toEqual([
      { first: 0, rows: 150 },
      { first: 150, rows: 150 },
    ]);
    const gguf = await readGguf(bytesSource('random.gguf', randomLlamaGguf(tokenizer, { tied, layers: 1, intermediateSize: 256 })));
    const config = configFromGguf(gguf);
    const tensors = llamaTensors('gguf', gguf.tensors, config);
    const tokens = [1, 17, 299, 150, 149, 3];
    // Each logit is the same dot product by the same kernel whichever chunk holds its row: equal, not close.
    const run = async (device: Gpu) => {
      const model = await LlamaModel.create(device, config, tensors, options);
      try {
        const all = await model.forwardAll(tokens.slice(0, 5), 0);
        model.forward(tokens.slice(5), 5);
        return { all: [...all], last: [...(await model.readLogits())], argmax: await model.argmaxLast() };
      } finally {
        model.destroy();
      }
    };
    await withGpuErrors(gpu, async () => {
      const whole = await run(gpu);
      const split = await run(withBindingLimit(gpu, LIMIT));
      expect(split.all).toEqual(whole.all);
      expect(split.last).toEqual(whole.last);
      expect(split.argmax).toBe(whole.argmax);
    });
  });

  test('a device that cannot hold the KV cache is told the longest context that fits', async () => {
    const gpu = await testGpu();
    const gguf = await readGguf(bytesSource('random.gguf', randomLlamaGguf(tokenizer, { layers: 1, intermediateSize: 256 })));
    const config = configFromGguf(gguf);
    // kvHeads 2 × headDim 64 × 2 bytes (the default f16 cache) = 256 bytes per token and layer
    // for K (and as many for V): 2048 tokens take 512 KiB, over the limit.
    const create = LlamaModel.create(withBindingLimit(gpu, LIMIT), config, llamaTensors('gguf', gguf.tensors, config), { ...options, contextLength: 2048 });
    await expect(create).rejects.toThrow(DeviceLimitError);
    await expect(create).rejects.toMatchObject({ hint: `Use a context of at most ${Math.floor(LIMIT / 256)} tokens.` });
  });
});
