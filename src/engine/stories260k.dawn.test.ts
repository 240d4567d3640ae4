// The whole engine on the embedded stories260K model, in Node on Dawn, against llama.cpp.
// (src/cli/generate.dawn.test.ts checks the CLI against llama2.c's 200-step golden.)
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from './engine.ts';
import { diskLocation } from '../cli/nodeFiles.ts';
import { referenceGreedy } from '../../test/llamaCpp.ts';
import { STORIES_GGUF, STORIES_HF_DIR } from '../../test/embedded.ts';

const MODEL_DIR = STORIES_HF_DIR;
const GGUF = STORIES_GGUF;

const PROMPTS = ['Once upon a time', 'Tom and Sue went to the', 'She said, "I'];

describe.each([
  ['GGUF', GGUF],
  ['safetensors folder', MODEL_DIR],
])('stories260K from %s', (_, path) => {
  const engine = new Engine();
  beforeAll(async () => {
    await engine.loadFrom(await diskLocation(path), {});
  });
  afterAll(() => engine.unload());

  test.each(PROMPTS)('greedy continuation of %j equals llama.cpp', async (prompt) => {
    // 80 tokens per prompt; the CLI test's 200-step run covers long generations.
    const ours = await engine.generate({ prompt, temperature: 0, repetitionPenalty: 1, maxTokens: 80 });
    const reference = await referenceGreedy(GGUF, ours.promptIds, 80);
    expect(ours.ids).toEqual(reference);
  });

  test('the public golden continuation', async () => {
    const result = await engine.generate({ prompt: 'Once upon a time', temperature: 0, repetitionPenalty: 1, maxTokens: 40 });
    expect(result.text.startsWith(', there was a little girl named Lily. She loved to play outside in the park.')).toBe(true);
  });

  test('prefill in chunks equals prefill in one pass', async () => {
    // A prompt longer than the batch size (64) crosses a chunk boundary.
    const prompt = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. '.repeat(3);
    const result = await engine.generate({ prompt, temperature: 0, repetitionPenalty: 1, maxTokens: 30 });
    expect(result.promptIds.length).toBeGreaterThan(64);
    expect(result.ids).toEqual(await referenceGreedy(GGUF, result.promptIds, 30));
  });
});

describe('generation control', () => {
  const engine = new Engine();
  beforeAll(async () => {
    await engine.loadFrom(await diskLocation(GGUF), {});
  });
  afterAll(() => engine.unload());
  const greedy = { temperature: 0, repetitionPenalty: 1 };

  test('a seed makes sampling reproducible, and different seeds differ', async () => {
    const run = (seed: number) => engine.generate({ prompt: 'Once upon a time', temperature: 1, topK: 40, topP: 0.9, seed, maxTokens: 40 });
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(b.ids).toEqual(a.ids);
    expect(c.ids).not.toEqual(a.ids);
  });

  test('abort ends a generation after the current token', async () => {
    let tokens = 0;
    const result = await engine.generate({ prompt: 'Once upon a time', ...greedy, maxTokens: 400 }, (e) => {
      if (e.kind === 'token' && ++tokens === 3) engine.abort();
    });
    expect(result.reason).toBe('abort');
    expect(result.ids.length).toBe(3);
    // The engine is free again at once.
    expect((await engine.generate({ prompt: 'Once', ...greedy, maxTokens: 2 })).ids).toHaveLength(2);
  });

  test('a stop string ends generation and is not part of the text', async () => {
    const events: string[] = [];
    const result = await engine.generate({ prompt: 'Once upon a time', ...greedy, maxTokens: 60, stop: ['Lily'] }, (e) => {
      if (e.kind === 'token') events.push(e.text);
    });
    expect(result.reason).toBe('stop');
    expect(result.text).toBe(', there was a little girl named ');
    expect(events.join('')).toBe(result.text);
  });

  test('a lost GPU device turns into a DeviceLostError, and a new load recovers', async () => {
    const other = new Engine();
    await other.loadFrom(await diskLocation(GGUF), {});
    (other as unknown as { gpu: { device: GPUDevice } }).gpu.device.destroy();
    await expect(other.generate({ prompt: 'Once', ...greedy, maxTokens: 4 })).rejects.toMatchObject({ name: 'DeviceLostError' });
    await other.loadFrom(await diskLocation(GGUF), {});
    expect((await other.generate({ prompt: 'Once', ...greedy, maxTokens: 4 })).ids).toHaveLength(4);
    await other.unload();
  });
});

test('unloading during a generation stops it first and frees the model', async () => {
  const engine = new Engine();
  await engine.loadFrom(await diskLocation(GGUF), {});
  const running = engine.generate({ prompt: 'Once upon a time', temperature: 0, repetitionPenalty: 1, maxTokens: 500 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  await engine.unload();
  expect((await running).reason).toBe('abort');
  expect((await engine.stats()).loaded).toBe(false);
  await expect(engine.generate({ prompt: 'Once' })).rejects.toMatchObject({ name: 'NoModelLoadedError' });
});
