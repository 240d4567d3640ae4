import { expect, test } from 'vitest';
import type { ModelConfig } from '../engine/config.ts';
import { kvBytesRead } from './e2e.ts';

// Only the fields the KV term reads; the rest of a config does not enter it.
const config = (over: Partial<ModelConfig>) => ({ layers: 2, kvHeads: 3, headDim: 64, ...over }) as ModelConfig;

test('the KV term counts the f16 cache the engine keeps, 2 bytes a value', () => {
  // 2 layers × K and V × 192 positions × 3 heads × 64 dims × 2 bytes.
  expect(kvBytesRead(config({}), 192)).toBe(2 * 2 * 192 * 3 * 64 * 2);
});

test('a head size the f16 kernels cannot take keeps f32, 4 bytes a value', () => {
  expect(kvBytesRead(config({ headDim: 6 }), 10)).toBe(2 * 2 * 10 * 3 * 6 * 4);
});

test('a sliding layer reads only its window', () => {
  const gemma = config({ slidingWindow: 32, slidingLayers: [true, false] });
  expect(kvBytesRead(gemma, 100)).toBe((32 + 100) * 2 * 3 * 64 * 2);
});
