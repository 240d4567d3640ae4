// Model facts of quantized GGUFs: the engine runs their types, and the device fit counts the
// bytes they keep on the GPU (packed matrices, f32 norm vectors), not f32 copies. Also the
// sliding-window marks of a Gemma 3 GGUF, by which the device fit sizes its KV cache.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { randomLlamaGguf, storiesTokenizerMetadata, RANDOM_LLAMA_DEFAULTS } from '../../scripts/randomGguf.ts';
import { randomModel, RANDOM_MODELS } from '../../scripts/randomModel.ts';
import { kvCacheBytes } from '../engine/model/slidingCache.ts';
import { startHubServer, type HubServer } from '../../test/hubServer.ts';
import { HubClient } from './client.ts';
import { modelFacts } from './modelFacts.ts';

const REPO = 'test/random-GGUF';
const GEMMA3 = 'test/gemma3-GGUF';
let root: string;
let hub: HubServer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pocket-hub-quant-facts-'));
  await mkdir(join(root, REPO), { recursive: true });
  const tokenizer = await storiesTokenizerMetadata();
  await writeFile(join(root, REPO, 'random-Q4_K_M.gguf'), randomLlamaGguf(tokenizer, { type: 'Q4_K' }));
  await writeFile(join(root, REPO, 'random-Q8_0.gguf'), randomLlamaGguf(tokenizer, { type: 'Q8_0', tied: true }));
  await writeFile(join(root, REPO, 'README.md'), '---\nlibrary_name: gguf\n---\n');
  await mkdir(join(root, GEMMA3), { recursive: true });
  // As released Gemma 3 GGUFs are: no pattern key, so llama.cpp's default of one global layer in six.
  const gemma3 = { ...RANDOM_MODELS.gemma3, layers: 6, slidingWindowPattern: undefined };
  await writeFile(join(root, GEMMA3, 'gemma3-F32.gguf'), randomModel(tokenizer, gemma3).gguf());
  hub = await startHubServer({ root });
});

afterAll(async () => {
  await hub?.close();
  await rm(root, { recursive: true, force: true });
});

// The random model: hidden 256, feed-forward 768, 2 layers, 4 heads of 64 with 2 KV heads, 512 tokens.
const { hiddenSize: D, intermediateSize: F, layers } = RANDOM_LLAMA_DEFAULTS;
const perLayer = 2 * D * D + 2 * (D / 2) * D + 3 * F * D;
const norms = (2 * layers + 1) * D;

test.each([
  // Q4_K: 144 bytes per 256 values; token_embd, every layer and output.weight.
  ['random-Q4_K_M.gguf', 'Q4_K_M', 144 / 256, 512 * D + layers * perLayer + 512 * D, F * D],
  // Q8_0, tied: 34 bytes per 32 values; no output.weight, the embedding is the head.
  ['random-Q8_0.gguf', 'Q8_0', 34 / 32, 512 * D + layers * perLayer, F * D],
] as const)('%s runs, and its GPU bytes are its packed matrices plus f32 norms', async (file, quant, bytesPerValue, matrixValues, largest) => {
  const facts = await modelFacts(new HubClient({ endpoints: [hub.url] }), { hubs: [], repo: REPO, kind: 'model', file });
  expect(facts).toMatchObject({ supported: true, dtype: quant, parameters: matrixValues + norms });
  expect(facts.weightGpuBytes).toBe(matrixValues * bytesPerValue + norms * 4);
  expect(facts.largestBufferBytes).toBe(largest * bytesPerValue);
});

test('a Gemma 3 GGUF: five of six layers slide over 32 tokens, and keep rings of 32 + 63 rows', async () => {
  const facts = await modelFacts(new HubClient({ endpoints: [hub.url] }), { hubs: [], repo: GEMMA3, kind: 'model' });
  // One KV head of 128 dims in each of 6 layers, K and V, as f16.
  expect(facts).toMatchObject({ supported: true, architecture: 'gemma3', layers: 6, kvBytesPerToken: 6 * 2 * 128 * 2, slidingWindow: 32, slidingLayerCount: 5 });
  expect(kvCacheBytes(facts, 2048)).toBe((2048 + 5 * 95) * 512);
  const llama = await modelFacts(new HubClient({ endpoints: [hub.url] }), { hubs: [], repo: REPO, kind: 'model', file: 'random-Q8_0.gguf' });
  expect(llama.slidingWindow).toBeUndefined();
  expect(llama.slidingLayerCount).toBeUndefined();
});
