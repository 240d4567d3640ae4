import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { putPatternFile } from '../../test/storeContract.ts';
import { deleteModel, storageInfo } from './cache.ts';
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
