import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import { HubClient } from '../hub/client.ts';
import { QuotaError } from '../protocol/errors.ts';
import { expectPocketHubError, flipStoredBit, pattern } from '../../test/storeContract.ts';
import { startHubServer, type HubServer } from '../../test/hubServer.ts';
import { fsStore } from './fsStore.ts';
import { openHubModel, withStoreRepair, type HubDownloadProgress } from './hubModel.ts';
import type { FileKey, WeightStore } from './store.ts';
import { damagedStoredFile } from './storedSource.ts';

const REPO = 'org/tiny';
const KiB = 1024;
// Small chunks so a cancelled download leaves some stored, as 64 MiB chunks do for real weights.
const CHUNK = 16 * KiB;
const SIZES = { 'config.json': 40, 'model.safetensors': 200 * KiB, 'tokenizer.json': 300 };
const TOTAL = Object.values(SIZES).reduce((a, b) => a + b, 0);

let hub: HubServer;
let root: string;
let dir: string;
let store: WeightStore;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pocket-hub-hubmodel-'));
  await mkdir(join(root, REPO), { recursive: true });
  // The contents are never parsed here: openHubModel only chooses, downloads and verifies files.
  for (const [path, size] of Object.entries(SIZES)) await writeFile(join(root, REPO, path), pattern(0, size));
  hub = await startHubServer({ root });
});
afterAll(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pocket-hub-hubmodel-store-'));
  store = fsStore(dir);
  hub.faults.clear();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function client(): HubClient {
  return new HubClient({ endpoints: [hub.url] });
}

test('progress counts every needed file, space is checked once before any download, and each file is locked', async () => {
  const events: HubDownloadProgress[] = [];
  const space: number[] = [];
  const locked: string[] = [];
  const location = await openHubModel(client(), store, REPO, {
    chunkSize: CHUNK,
    onDownload: (p) => events.push(p),
    checkSpace: async (bytes) => {
      expect(hub.requests.filter((r) => r.path.includes('/resolve/'))).toEqual([]);
      space.push(bytes);
    },
    lock: (key: FileKey, fn) => (locked.push(key.path), fn()),
  });
  expect(location.name).toBe(REPO);
  expect(space).toEqual([TOTAL]);
  expect(locked.sort()).toEqual(Object.keys(SIZES).sort());
  expect(events.every((e) => e.total === TOTAL)).toBe(true);
  expect(events.map((e) => e.loaded)).toEqual([...events.map((e) => e.loaded)].sort((a, b) => a - b));
  expect(events.at(-1)).toMatchObject({ loaded: TOTAL, fileLoaded: SIZES[events.at(-1)!.file as keyof typeof SIZES] });
  const weights = events.filter((e) => e.file === 'model.safetensors');
  expect(weights.at(-1)).toMatchObject({ fileLoaded: SIZES['model.safetensors'], fileTotal: SIZES['model.safetensors'] });

  // Everything stored: not a single request (no API call, no HEAD), nothing to check.
  let checked = false;
  const before = hub.requests.length;
  await openHubModel(client(), store, REPO, { chunkSize: CHUNK, checkSpace: async () => void (checked = true) });
  expect(checked).toBe(false);
  expect(hub.requests.slice(before)).toEqual([]);
});

test('a cached copy missing a file goes back to the hub for just that file', async () => {
  await openHubModel(client(), store, REPO, { chunkSize: CHUNK });
  const weights = (await store.listFiles()).find((r) => r.path === 'model.safetensors')!;
  await store.deleteFile(weights);
  const before = hub.requests.length;
  const events: HubDownloadProgress[] = [];
  await openHubModel(client(), store, REPO, { chunkSize: CHUNK, onDownload: (p) => events.push(p) });
  const fetched = hub.requests.slice(before).filter((r) => r.path.includes('/resolve/') || r.path.includes('/cdn/'));
  expect(fetched.length).toBeGreaterThan(0);
  expect(fetched.every((r) => r.path.includes('model.safetensors') || r.path.includes('/cdn/'))).toBe(true);
  // The files still cached count as already loaded; only the weights download.
  expect(new Set(events.filter((e) => e.fileLoaded! < e.fileTotal!).map((e) => e.file))).toEqual(new Set(['model.safetensors']));
  expect(events.filter((e) => e.file !== 'model.safetensors').every((e) => e.fileLoaded === e.fileTotal)).toBe(true);
});

test('a cancelled download resumes from its stored chunks and asks for only the missing space', async () => {
  hub.faults.add({ kind: 'slow', delayMs: 20, match: '/cdn/' });
  const abort = new AbortController();
  const cancelled = openHubModel(client(), store, REPO, {
    chunkSize: CHUNK,
    signal: abort.signal,
    onDownload: (p) => {
      if (p.file === 'model.safetensors' && p.fileLoaded >= 3 * CHUNK) abort.abort();
    },
  });
  await expectPocketHubError(cancelled, 'AbortError');

  const space: number[] = [];
  const events: HubDownloadProgress[] = [];
  await openHubModel(client(), store, REPO, { chunkSize: CHUNK, checkSpace: async (b) => void space.push(b), onDownload: (p) => events.push(p) });
  expect(space).toHaveLength(1);
  const stored = TOTAL - space[0];
  // The small files come whole before the weights; of those, at least the three chunks seen before the abort.
  const weightsStored = stored - SIZES['config.json'] - SIZES['tokenizer.json'];
  expect(weightsStored).toBeGreaterThanOrEqual(3 * CHUNK);
  expect(weightsStored % CHUNK).toBe(0);
  expect(events[0].loaded).toBe(stored);
  const resumed = hub.requests.filter((r) => r.path.startsWith('/cdn/')).at(-1);
  expect(resumed?.headers.range).toBe(`bytes=${weightsStored}-`);
});

test('a refused quota stops before any file is fetched', async () => {
  const before = hub.requests.length;
  const refused = openHubModel(client(), store, REPO, {
    checkSpace: async (bytes) => {
      throw new QuotaError(`no room for ${bytes}`);
    },
  });
  await expectPocketHubError(refused, 'QuotaError');
  expect(hub.requests.slice(before).filter((r) => r.path.includes('/resolve/') || r.path.includes('/cdn/'))).toEqual([]);
  expect(await store.listFiles()).toEqual([]);
});

test('a stored chunk found missing while loading fetches that file again, and only that file', async () => {
  await openHubModel(client(), store, REPO, { chunkSize: CHUNK });
  // The store loses one chunk of the weights, as a cleared or damaged disk would.
  let lost = true;
  const damaged: WeightStore = {
    ...store,
    getChunk: async (key, index) => (lost && key.path === 'model.safetensors' && index === 3 ? undefined : store.getChunk(key, index)),
    deleteFile: async (key) => {
      lost = false;
      await store.deleteFile(key);
    },
  };
  const before = hub.requests.length;
  const readAll = async () => {
    const location = await openHubModel(client(), damaged, REPO, { chunkSize: CHUNK });
    if (location.kind !== 'folder') throw new Error('expected a folder');
    const weights = (await location.files.open('model.safetensors'))!;
    return weights.read(0, weights.size);
  };
  const bytes = await withStoreRepair(damaged, readAll);
  expect(Buffer.compare(bytes, pattern(0, SIZES['model.safetensors']))).toBe(0);
  const fetched = hub.requests.slice(before).filter((r) => r.path.includes('/resolve/'));
  expect(fetched.map((r) => r.path.split('/').at(-1))).toEqual(['model.safetensors']);
});

/** Every byte of the weights, read through a fresh openHubModel as a loader would. */
async function readWeights(target: WeightStore): Promise<Uint8Array> {
  const location = await openHubModel(client(), target, REPO, { chunkSize: CHUNK });
  if (location.kind !== 'folder') throw new Error('expected a folder');
  const weights = (await location.files.open('model.safetensors'))!;
  return weights.read(0, weights.size);
}

/** Hub requests since `before` that fetch file bytes, by file name ('cdn' for an LFS object). */
function fetchedSince(before: number): string[] {
  return hub.requests
    .slice(before)
    .filter((r) => r.path.includes('/resolve/') || r.path.startsWith('/cdn/'))
    .map((r) => (r.path.startsWith('/cdn/') ? 'cdn' : r.path.split('/').at(-1)!));
}

test('a bit flipped inside a stored chunk is found at load, and only that file is fetched again', async () => {
  await openHubModel(client(), store, REPO, { chunkSize: CHUNK });
  const weights = (await store.listFiles()).find((r) => r.path === 'model.safetensors')!;
  // Chunk 5 of 13, mid-chunk: same length, so only its content gives the damage away.
  await flipStoredBit(store, weights, 5, 1234);

  const first = await expectPocketHubError(readWeights(store), 'CorruptFileError');
  expect(first.message).toContain('chunk 5');
  expect(damagedStoredFile(first)).toEqual({ repo: weights.repo, commit: weights.commit, path: weights.path });

  const deleted: string[] = [];
  const watched: WeightStore = { ...store, deleteFile: (key) => (deleted.push(key.path), store.deleteFile(key)) };
  const before = hub.requests.length;
  const bytes = await withStoreRepair(watched, () => readWeights(watched));
  expect(Buffer.compare(bytes, pattern(0, SIZES['model.safetensors']))).toBe(0);
  expect(deleted).toEqual(['model.safetensors']);
  // One resolve and the one CDN download it redirects to: no other file, no second try.
  expect(fetchedSince(before)).toEqual(['model.safetensors', 'cdn']);
  // The repaired copy is whole again: the next load asks the hub for nothing.
  const again = hub.requests.length;
  expect(Buffer.compare(await readWeights(store), bytes)).toBe(0);
  expect(hub.requests.length).toBe(again);
});

test('files stored without chunk hashes (by an older version) are downloaded again in one load', async () => {
  await openHubModel(client(), store, REPO, { chunkSize: CHUNK });
  for (const { chunkHashes, ...older } of await store.listFiles()) {
    expect(chunkHashes!.length).toBe(older.chunksDone);
    await store.putRecord(older);
  }
  const before = hub.requests.length;
  const bytes = await readWeights(store);
  expect(Buffer.compare(bytes, pattern(0, SIZES['model.safetensors']))).toBe(0);
  expect(fetchedSince(before).filter((f) => f !== 'cdn').sort()).toEqual(Object.keys(SIZES).sort());
  expect((await store.listFiles()).every((r) => r.complete && r.chunkHashes!.length === r.chunksDone)).toBe(true);
});

test('a resumed download starts again from a stored chunk found damaged', async () => {
  hub.faults.add({ kind: 'slow', delayMs: 20, match: '/cdn/' });
  const abort = new AbortController();
  const cancelled = openHubModel(client(), store, REPO, {
    chunkSize: CHUNK,
    signal: abort.signal,
    onDownload: (p) => {
      if (p.file === 'model.safetensors' && p.fileLoaded >= 3 * CHUNK) abort.abort();
    },
  });
  await expectPocketHubError(cancelled, 'AbortError');
  const partial = (await store.listFiles()).find((r) => r.path === 'model.safetensors')!;
  expect(partial.complete).toBe(false);
  expect(partial.chunksDone).toBeGreaterThanOrEqual(3);
  await flipStoredBit(store, partial, 0, 7);

  const before = hub.requests.length;
  const bytes = await readWeights(store);
  expect(Buffer.compare(bytes, pattern(0, SIZES['model.safetensors']))).toBe(0);
  // One request for the whole file (from byte 0 the client sends no Range): the damaged chunk 0 is not built on.
  const resumed = hub.requests.slice(before).filter((r) => r.path.startsWith('/cdn/'));
  expect(resumed.map((r) => r.headers.range)).toEqual([undefined]);
});
