// Model facts read from headers against what the engine reports once it has loaded the same
// model on a real device (Dawn), and the device description model pages compare them with.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { diskLocation } from '../cli/nodeFiles.ts';
import { Engine } from '../engine/engine.ts';
import { kvCacheBytes } from '../engine/model/slidingCache.ts';
import { EMBEDDED_HUB, STORIES_GGUF, STORIES_HF_DIR } from '../../test/embedded.ts';
import { startHubServer, type HubServer } from '../../test/hubServer.ts';
import { expectPocketHubError } from '../../test/storeContract.ts';
import { modelFacts } from './modelFacts.ts';
import { HubClient } from './client.ts';

let root: string;
let hub: HubServer;
const engine = new Engine();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'browse-dawn-'));
  await cp(join(EMBEDDED_HUB, 'models'), root, { recursive: true });
  hub = await startHubServer({ root });
});

afterAll(async () => {
  await engine.unload();
  await hub?.close();
  await rm(root, { recursive: true, force: true });
});

describe.each([
  ['pocket-hub/stories260K', STORIES_HF_DIR],
  ['pocket-hub/stories260K-GGUF', STORIES_GGUF],
])('%s', (repo, path) => {
  test('the facts agree with what the engine loads: parameters, shape, and weights plus KV cache within its GPU bytes', async () => {
    const facts = await modelFacts(new HubClient({ endpoints: [hub.url] }), { hubs: [hub.url], repo, kind: 'model' });
    const info = await engine.loadFrom(await diskLocation(path), { contextLength: 64 });
    expect(facts).toMatchObject({
      parameters: info.parameters,
      layers: info.layers,
      hiddenSize: info.hiddenSize,
      heads: info.heads,
      kvHeads: info.kvHeads,
      vocabSize: info.vocabSize,
      hasChatTemplate: info.hasChatTemplate,
    });
    // The engine's GPU bytes are the weights, the KV cache and activation scratch buffers.
    const weightsAndCache = facts.weightGpuBytes + kvCacheBytes(facts, info.contextLength);
    expect(info.gpuBytes).toBeGreaterThanOrEqual(weightsAndCache);
    // The scratch buffers hold a 64-token batch of activations and the logits: well under the weights of this model.
    expect(info.gpuBytes - weightsAndCache).toBeLessThan(facts.weightGpuBytes);
  });
});

test('gpuInfo: the adapter the engine loads on, and the limits its buffers are checked against', async () => {
  const gpu = await engine.gpuInfo();
  const stats = await engine.stats();
  expect(gpu.adapter).toBe(stats.adapter);
  expect(gpu.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(2 ** 27);
  expect(gpu.maxBufferSize).toBeGreaterThanOrEqual(gpu.maxStorageBufferBindingSize);
});

test('gpuInfo without a WebGPU adapter is WebGPUUnavailableError', async () => {
  const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
  await expectPocketHubError(new Engine({ gpu: noAdapter }).gpuInfo(), 'WebGPUUnavailableError');
});
