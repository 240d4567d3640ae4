// A quantized GGUF through the whole Engine (load, warm-up, greedy decode) on this run's device,
// Chromium's WebGPU or Dawn: the decoded tokens are the float64 model's greedy choices, so both
// runs produce the same ones. The model is made here (scripts/randomLlama.ts needs no Node).
import { afterAll, describe, expect, test } from 'vitest';
import { randomLlamaGguf, tokenizerMetadata, type RandomLlamaOptions } from '../../scripts/randomLlama.ts';
import { argmax } from '../../test/reference/linalg.ts';
import { llamaLogitsRef } from '../../test/reference/llama.ts';
import { configFromGguf } from './configGguf.ts';
import { Engine } from './engine.ts';
import { readGguf } from './formats/gguf.ts';
import { bytesSource } from './formats/source.ts';
import { llamaTensors } from './model/weights.ts';

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
const TOKENS = 8;

const engine = new Engine();
afterAll(() => engine.unload());

describe.each<[string, Partial<RandomLlamaOptions>]>([
  // Q4_K, tied: the embedding is gathered from K-quant blocks, and the same buffer is the LM head.
  ['Q4_K, tied output', { type: 'Q4_K', tied: true, layers: 1 }],
  // Q8_0: a 32-element block type through matmul_packed.wgsl, with its own output matrix.
  ['Q8_0', { type: 'Q8_0', layers: 1 }],
  // F16: half the bytes of f32 on the GPU, every matrix and the embedding decoded in registers.
  ['F16', { type: 'F16', layers: 1 }],
])('%s', (_, options) => {
  test(`greedy decoding gives the float64 model's ${TOKENS} choices`, async () => {
    const bytes = randomLlamaGguf(tokenizer, options);
    const name = 'random.gguf';
    // An f32 KV cache, as the float64 model keeps: this test is about the packed weights.
    await engine.loadFrom({ kind: 'gguf', name, open: async () => bytesSource(name, bytes) }, { contextLength: 16, kvCache: 'f32' });
    const result = await engine.generate({ prompt: '', maxTokens: TOKENS, temperature: 0, repetitionPenalty: 1 });
    expect(result.promptIds).toEqual([1]);
    expect(result.ids).toHaveLength(TOKENS);

    const gguf = await readGguf(bytesSource(name, bytes));
    const config = configFromGguf(gguf);
    const ids = [...result.promptIds, ...result.ids.slice(0, -1)];
    const logits = await llamaLogitsRef(config, llamaTensors('gguf', gguf.tensors, config), ids, 'adjacent');
    // f32 against float64 moves logits by ~1e-5 (reference.dawn.test.ts), and a random model's
    // top two lie that close about once in 10^5 positions: equal choices, not near ones.
    expect(result.ids).toEqual(ids.map((_, i) => argmax(logits, i * VOCAB, VOCAB)));
  });
});
