import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { putPatternFile } from '../../test/storeContract.ts';
import { deleteModel, freeSpace, storageInfo } from './cache.ts';
import { fsStore } from './fsStore.ts';

test('files group into one model per revision, newest use first, and one revision deletes alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pocket-hub-cache-'));
  try {
    const store = fsStore(dir);
    await putPatternFile(store, { repo: 'org/a', commit: 'c1', path: 'model.safetensors' }, 100, 64, 5);
    await putPatternFile(store, { repo: 'org/a', commit: 'c1', path: 'config.json' }, 10, 64, 7);
    await putPatternFile(store, { repo: 'org/a', commit: 'c2', path: 'config.json' }, 10, 64, 9);
    // A download cut off after its first 64-byte chunk.
    await store.putRecord({ repo: 'org/b', commit: 'c1', path: 'm.gguf', size: 1000, chunkSize: 64, chunksDone: 1, complete: false, lastUsed: 1 });

    const origin = { estimate: async () => ({ usage: 4096, quota: 1 << 30 }), persisted: async () => true };
    const info = await storageInfo(store, origin);
    expect(info).toMatchObject({ usage: 4096, quota: 1 << 30, persisted: true });
    expect(info.models.map((m) => [m.repo, m.commit, m.bytes, m.complete, m.lastUsed])).toEqual([
      ['org/a', 'c2', 10, true, 9],
      ['org/a', 'c1', 110, true, 7],
      ['org/b', 'c1', 64, false, 1],
    ]);
    expect(info.models[1].files).toEqual([
      { path: 'config.json', size: 10, complete: true },
      { path: 'model.safetensors', size: 100, complete: true },
    ]);

    await deleteModel(store, 'org/a', 'c1');
    expect((await storageInfo(store, origin)).models.map((m) => `${m.repo}@${m.commit}`)).toEqual(['org/a@c2', 'org/b@c1']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('freeing space deletes whole revisions, least recently used first, and a dry run deletes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pocket-hub-evict-'));
  try {
    const store = fsStore(dir);
    // org/old is the least recently used model even though one of its files was written last.
    await putPatternFile(store, { repo: 'org/old', commit: 'c1', path: 'model.safetensors' }, 300, 64, 1);
    await putPatternFile(store, { repo: 'org/old', commit: 'c1', path: 'config.json' }, 10, 64, 2);
    await putPatternFile(store, { repo: 'org/mid', commit: 'c1', path: 'm.gguf' }, 200, 64, 5);
    await putPatternFile(store, { repo: 'org/new', commit: 'c1', path: 'm.gguf' }, 100, 64, 9);
    const names = (models: { repo: string }[]) => models.map((m) => m.repo);

    expect(names(await freeSpace(store, 400, true))).toEqual(['org/old', 'org/mid']);
    expect((await store.listFiles()).length).toBe(4);
    // 310 bytes of org/old already cover 300: org/mid stays.
    expect(names(await freeSpace(store, 300))).toEqual(['org/old']);
    expect(names((await storageInfo(store)).models)).toEqual(['org/new', 'org/mid']);
    expect(names(await freeSpace(store, Infinity))).toEqual(['org/mid', 'org/new']);
    expect(await store.listFiles()).toEqual([]);
    expect(await freeSpace(store, 1)).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
