// The whole engine on the embedded stories260K model, in Node on Dawn, against two
// independent references: llama2.c's published greedy output and llama.cpp.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from './engine.ts';
import { diskLocation } from '../cli/nodeFiles.ts';
import { referenceGreedy } from '../../test/llamaCpp.ts';
import { LLAMA2C_GREEDY_200 } from '../../test/goldens.ts';

const MODEL_DIR = join(import.meta.dirname, '..', '..', 'public', 'models', 'stories260K');
const GGUF = join(MODEL_DIR, 'stories260K.gguf');

const PROMPTS = ['Once upon a time', 'The little dog', 'Tom and Sue went to the', 'One day, a big red ball', 'She said, "I'];

describe.each([
  ['GGUF', GGUF],
  ['safetensors folder', MODEL_DIR],
])('stories260K from %s', (_, path) => {
  const engine = new Engine();
  beforeAll(async () => {
    await engine.loadFrom(await diskLocation(path), {});
  });
  afterAll(() => engine.unload());

  test('greedy from BOS reproduces llama2.c run.c for 200 steps', async () => {
    // run.c -t 0.0 -n 200 with an empty prompt: BOS, then 200 argmax tokens.
    const result = await engine.generate({ prompt: '', temperature: 0, repetitionPenalty: 1, maxTokens: 200 });
    expect(result.promptIds).toEqual([1]);
    expect(result.ids).toHaveLength(200);
    expect(result.text).toBe(LLAMA2C_GREEDY_200);
  });

  test.each(PROMPTS)('greedy continuation of %j equals llama.cpp', async (prompt) => {
    const ours = await engine.generate({ prompt, temperature: 0, repetitionPenalty: 1, maxTokens: 120 });
    const reference = await referenceGreedy(GGUF, ours.promptIds, 120);
    expect(ours.ids).toEqual(reference);
  });

  test('the public golden continuation', async () => {
    const result = await engine.generate({ prompt: 'Once upon a time', temperature: 0, repetitionPenalty: 1, maxTokens: 40 });
    expect(result.text.startsWith(', there was a little girl named Lily. She loved to play outside in the park.')).toBe(true);
  });

  test('a seed makes sampling reproducible, and different seeds differ', async () => {
    const run = (seed: number) => engine.generate({ prompt: 'Once upon a time', temperature: 1, topK: 40, topP: 0.9, seed, maxTokens: 40 });
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(b.ids).toEqual(a.ids);
    expect(c.ids).not.toEqual(a.ids);
  });

  test('prefill in chunks equals prefill in one pass', async () => {
    // A prompt longer than the batch size (64) crosses a chunk boundary.
    const prompt = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. '.repeat(3);
    const result = await engine.generate({ prompt, temperature: 0, repetitionPenalty: 1, maxTokens: 30 });
    expect(result.promptIds.length).toBeGreaterThan(64);
    expect(result.ids).toEqual(await referenceGreedy(GGUF, result.promptIds, 30));
  });
});
