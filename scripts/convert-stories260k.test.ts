import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { adjacentToHalves, convertStories260k, MODEL_DIR, readEmbeddedGguf } from './convert-stories260k.ts';

test('the committed HF-format stories260K is exactly what the script writes', async () => {
  const files = await convertStories260k(await readEmbeddedGguf());
  expect([...files.keys()].sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  for (const [name, bytes] of files) {
    const committed = new Uint8Array(await readFile(join(MODEL_DIR, name)));
    expect(Buffer.compare(committed, bytes), `${name} differs: run npx tsx scripts/convert-stories260k.ts`).toBe(0);
  }
});

test('adjacentToHalves moves rotary pair members half a head apart', () => {
  // One head of dimension 4 with 1 column: rows (pairs) [a0 a1 | b0 b1] → [a0 b0 | a1 b1].
  expect([...adjacentToHalves(new Float32Array([10, 11, 20, 21]), 1, 4, 1)]).toEqual([10, 20, 11, 21]);
  // Two heads, two columns each: the permutation stays within each head and moves whole rows.
  const w = Float32Array.from({ length: 16 }, (_, i) => i);
  expect([...adjacentToHalves(w, 2, 4, 2)]).toEqual([0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]);
});
