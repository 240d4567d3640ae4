import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ModelLocation } from '../engine/files.ts';
import type { LoadProgress, LoadRequest, ModelInfo } from '../protocol/index.ts';
import { fsStore } from '../storage/fsStore.ts';
import { expectPocketHubError } from '../../test/storeContract.ts';
import { startHubServer, type HubServer } from '../../test/hubServer.ts';
import { copyStoriesRepo } from '../../test/embedded.ts';
import { WorkerEngine, type WorkerEngineOptions } from './workerEngine.ts';

const REPO = 'pocket-hub/stories260K';
const GATED = 'pocket-hub/gated';
const TOKEN = 'hf_granted';
const GPU = { adapter: 'test adapter', features: ['shader-f16'], maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 27 };
let hub: HubServer;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pocket-hub-worker-'));
  await copyStoriesRepo(join(root, REPO));
  await copyStoriesRepo(join(root, GATED));
  hub = await startHubServer({ root, gated: { [GATED]: [TOKEN] } });
});
afterAll(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

/** Stands in for the GPU engine: records what it was asked to load and reads every file it is given. */
function fakeEngine() {
  const calls = { urls: [] as LoadRequest[], locations: [] as { name: string; bytes: number }[], aborts: 0 };
  const engine: WorkerEngineOptions['engine'] = {
    load: async (request) => (calls.urls.push(request), {} as ModelInfo),
    loadFrom: async (location: ModelLocation) => {
      if (location.kind !== 'folder') throw new Error('expected the safetensors folder');
      let bytes = 0;
      for (const path of ['config.json', 'model.safetensors', 'tokenizer.json']) bytes += (await location.files.open(path))?.size ?? 0;
      calls.locations.push({ name: location.name, bytes });
      return {} as ModelInfo;
    },
    generate: async () => {
      throw new Error('not used');
    },
    abort: () => void calls.aborts++,
    unload: async () => {},
    stats: async () => ({ loaded: false, gpuBytes: 0, adapter: '' }),
    gpuInfo: async () => GPU,
  };
  return { engine, calls };
}

test('a repo downloads with progress into the store, loads from it, and shows in storage; a URL goes straight to the engine', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pocket-hub-worker-store-'));
  try {
    const { engine, calls } = fakeEngine();
    const worker = new WorkerEngine({ engine, store: fsStore(dir), origin: { estimate: async () => ({}), persisted: async () => false } });
    const progress: LoadProgress[] = [];
    await worker.load({ repo: REPO, hubs: [hub.url] }, (p) => progress.push(p));
    expect(calls.locations).toEqual([{ name: REPO, bytes: 18760 + 1044992 + 471 }]);
    expect(progress.every((p) => p.kind === 'download')).toBe(true);
    expect(progress.at(-1)).toMatchObject({ loaded: progress.at(-1)!.total });

    const { models } = await worker.storage();
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ repo: REPO, complete: true });
    await worker.deleteCached(REPO, models[0].commit);
    expect((await worker.storage()).models).toEqual([]);

    await worker.load({ url: '/m.gguf' });
    expect(calls.urls).toEqual([{ url: '/m.gguf' }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('abort cancels a download in progress with AbortError and the next load finishes it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pocket-hub-worker-store-'));
  try {
    const { engine, calls } = fakeEngine();
    const worker = new WorkerEngine({ engine, store: fsStore(dir) });
    hub.faults.add({ kind: 'slow', delayMs: 20, match: '/cdn/' });
    const first = worker.load({ repo: REPO, hubs: [hub.url] }, (p) => {
      if (p.file === 'model.safetensors' && p.fileLoaded! > 0) worker.abort();
    });
    await expectPocketHubError(first, 'AbortError');
    expect(calls.locations).toEqual([]);
    expect(calls.aborts).toBe(1);
    hub.faults.clear();
    await worker.load({ repo: REPO, hubs: [hub.url] });
    expect(calls.locations).toHaveLength(1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('describeRepo, modelFacts and searchRepos ask the hubs of the request with its token; gpuInfo is the engine one', async () => {
  const { engine } = fakeEngine();
  // These calls never touch the weight store.
  const worker = new WorkerEngine({ engine, store: fsStore(join(tmpdir(), 'pocket-hub-worker-unused')) });
  const access = { hubs: [hub.url], token: TOKEN };
  hub.requests.length = 0;
  const details = await worker.describeRepo({ ...access, repo: GATED, kind: 'model' });
  expect(details).toMatchObject({ endpoint: hub.url, info: { id: GATED, gated: 'manual' }, readme: expect.stringContaining('stories260K') });
  expect(await worker.modelFacts({ ...access, repo: GATED, kind: 'model' })).toMatchObject({ format: 'safetensors', layers: 5, supported: true });
  // The README and the headers of a gated repo come only with the token, so every request carried it.
  for (const r of hub.requests.filter((r) => r.path.includes('/resolve/'))) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
  expect((await worker.searchRepos({ ...access, kind: 'model', search: 'gated' })).map((l) => l.info.id)).toEqual([GATED]);
  expect(await worker.gpuInfo()).toEqual(GPU);
});
