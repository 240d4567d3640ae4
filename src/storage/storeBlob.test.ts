import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { pattern } from '../../test/storeContract.ts';
import { fsStore } from './fsStore.ts';
import { storeBlob } from './store.ts';
import { storedSource } from './storedSource.ts';

test('a stored blob reads back through storedSource, across chunk boundaries, hashes checked', async () => {
  const store = fsStore(await mkdtemp(join(tmpdir(), 'pocket-hub-blob-')));
  const key = { repo: 'bench/models', commit: 'local', path: 'model.gguf' };
  // Three whole chunks of 1000 bytes and a short fourth one.
  const bytes = pattern(0, 3500);
  const record = await storeBlob(store, key, new Blob([bytes]), 1000);
  expect(record).toMatchObject({ size: 3500, chunksDone: 4, complete: true });
  expect(await store.getRecord(key)).toEqual(record);
  const source = storedSource(store, record);
  expect(await source.read(0, 3500)).toEqual(bytes);
  expect(await source.read(990, 1020)).toEqual(bytes.subarray(990, 2010));
});
