import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { configFromGguf } from '../src/engine/configGguf.ts';
import { readGguf, type GgufFile } from '../src/engine/formats/gguf.ts';
import { bytesSource } from '../src/engine/formats/source.ts';
import { llamaTensors } from '../src/engine/model/weights.ts';
import { ggufRopeMode } from '../src/engine/open.ts';
import { llamaLogitsRef } from '../test/reference/llama.ts';
import { STORIES_GGUF } from '../test/embedded.ts';
import { storiesTokenizerMetadata, storiesWeights } from './randomGguf.ts';
import { widenedStories, type WidenedArchitecture } from './widenedStories.ts';

async function logits(gguf: GgufFile, ids: number[]): Promise<Float64Array> {
  const config = configFromGguf(gguf);
  return llamaLogitsRef(config, llamaTensors('gguf', gguf.tensors, config), ids, ggufRopeMode(config));
}

// BOS and "Once upon a time, there was a little girl" in stories260K's tokens.
const IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421];

describe.each(['llama', 'qwen2', 'phi3'] as WidenedArchitecture[])('stories260K rewritten as %s', (architecture) => {
  test('computes what stories260K computes (float64 forward passes of both files)', async () => {
    const original = await logits(await readGguf(bytesSource('stories260K.gguf', new Uint8Array(await readFile(STORIES_GGUF)))), IDS);
    const model = widenedStories(await storiesWeights(), await storiesTokenizerMetadata(), { architecture, type: 'F32', seed: 1 });
    const rewritten = await logits(await readGguf(bytesSource('widened.gguf', model.gguf())), IDS);
    // The rewrite is exact in real arithmetic; storing its weights in f32 moves each by up to
    // 2^−24 of itself, a few 1e-7 of the logits (which spread over ±15) through five layers
    // (measured: 5.6e-7). Queries scaled 1% off moved them by 2.4e-2.
    let worst = 0;
    for (let i = 0; i < original.length; i++) worst = Math.max(worst, Math.abs(rewritten[i] - original[i]));
    expect(worst).toBeLessThan(1e-5);
    expect(worst).toBeGreaterThan(0);
  });
});

test('every matrix of the rewrite is whole K-quant super-blocks: a Q4_K file holds Q4_K matrices only', async () => {
  const model = widenedStories(await storiesWeights(), await storiesTokenizerMetadata(), { architecture: 'llama', type: 'Q4_K', seed: 1 });
  const gguf = await readGguf(bytesSource('widened-q4_k.gguf', model.gguf()));
  const types = new Set(gguf.tensors.map((t) => `${t.shape.length === 1 ? 'vector' : 'matrix'} ${t.dtype}`));
  expect([...types].sort()).toEqual(['matrix Q4_K', 'vector F32']);
});
