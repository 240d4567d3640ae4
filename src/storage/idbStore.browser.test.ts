import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import { describe, expect, inject, it, type ProvidedContext } from 'vitest';
import { HubClient } from '../hub/client.ts';
import { downloadFile } from './download.ts';
import { openHubModel, withStoreRepair } from './hubModel.ts';
import { checkQuota, idbStore, requestPersistence, withFileLock } from './idbStore.ts';
import { expectPocketHubError, flipStoredBit, pattern, storeContractTests } from '../../test/storeContract.ts';
import type { FileKey, WeightStore } from './store.ts';
import { damagedStoredFile, storedSource } from './storedSource.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The local hub (test/hubServer.ts) the browser project's global setup starts; `files` hold pattern bytes of these sizes. */
    tinyHub: { url: string; repo: string; files: Record<string, number> };
  }
}

const MiB = 2 ** 20;
let databases = 0;

/** A fresh pair of databases per test, so tests never see each other's files. */
function freshStore() {
  return idbStore(`pocket-hub-test-${Date.now()}-${databases++}`);
}

describe('idbStore', () => {
  storeContractTests(async () => freshStore());
});

describe('withFileLock', () => {
  const key: FileKey = { repo: 'org/name', commit: 'abc', path: 'model.gguf' };

  it('runs two callers on the same file one after the other', async () => {
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = withFileLock(key, async () => {
      events.push('first start');
      await gate;
      events.push('first end');
      return 1;
    });
    const second = withFileLock(key, async () => {
      events.push('second start');
      return 2;
    });
    // Other files are not held up by this one.
    expect(await withFileLock({ ...key, path: 'other.gguf' }, async () => 'other')).toBe('other');
    expect(events).toEqual(['first start']);
    release();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(events).toEqual(['first start', 'first end', 'second start']);
  });

  it('releases the lock when the holder throws', async () => {
    await expect(withFileLock(key, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await withFileLock(key, async () => 'next')).toBe('next');
  });
});

describe('quota', () => {
  it('throws QuotaError with the numbers when asked for more than is free', async () => {
    const { quota, usage } = await navigator.storage.estimate();
    const free = quota! - usage!;
    const err = await expectPocketHubError(checkQuota(free + 64 * MiB), 'QuotaError');
    expect(err.message).toContain(`${((free + 64 * MiB) / MiB).toFixed(1)} MiB`);
    expect(err.message).toContain(`${(quota! / MiB).toFixed(1)} MiB`);
    await checkQuota(MiB);
  });

  it('asks for persistence once', async () => {
    const asked = requestPersistence();
    expect(requestPersistence()).toBe(asked);
    expect(typeof (await asked)).toBe('boolean');
  });
});

describe('download into IndexedDB', () => {
  const key: FileKey = { repo: 'org/tiny', commit: '0123abcd', path: 'model.safetensors' };
  const size = 300_007;
  const chunkSize = 32 * 1024;
  const hash = bytesToHex(sha256(pattern(0, size)));

  /**
   * Serves pattern bytes from memory. The stream is pulled piece by piece (no queue
   * ahead of the reader), so a drop loses nothing already enqueued and the resume
   * offset follows from the drop offset exactly.
   */
  function memoryOpen(drops: number[], starts: number[], corruptAt?: number) {
    return async (start: number) => {
      starts.push(start);
      const drop = drops.filter((d) => d > start).sort((a, b) => a - b)[0];
      if (drop !== undefined) drops.splice(drops.indexOf(drop), 1);
      let at = start;
      const body = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (at === drop) return controller.error(new TypeError('network error: connection dropped'));
            if (at >= size) return controller.close();
            const end = Math.min(size, at + 8192, drop ?? Infinity);
            const piece = pattern(at, end - at);
            if (corruptAt !== undefined && corruptAt >= at && corruptAt < end) piece[corruptAt - at] ^= 1;
            controller.enqueue(piece);
            at = end;
          },
        },
        { highWaterMark: 0 },
      );
      return new Response(body, { status: 206 });
    };
  }

  it('resumes after drops at chunk boundaries and reads back the same bytes', async () => {
    const store = freshStore();
    const starts: number[] = [];
    const drops = [50_000, 65_536, 200_001];
    const record = await downloadFile({ store, key, size, sha256: hash, chunkSize, retryDelayMs: 0, open: memoryOpen([...drops], starts) });
    // A drop exactly on a boundary (65_536 = 2 chunks) keeps both chunks before it.
    expect(starts).toEqual([0, 32_768, 65_536, 196_608]);
    expect(record).toMatchObject({ complete: true, chunksDone: Math.ceil(size / chunkSize) });
    expect(await store.usage()).toBe(size);
    const got = await storedSource(store, record).read(0, size);
    expect(bytesToHex(sha256(got))).toBe(hash);
    const across = await storedSource(store, record).read(chunkSize - 5, chunkSize + 10);
    expect(Array.from(across)).toEqual(Array.from(pattern(chunkSize - 5, chunkSize + 10)));
  });

  it('keeps a partial file on abort and resumes it, under the file lock', async () => {
    const store = freshStore();
    const controller = new AbortController();
    const starts: number[] = [];
    const aborted = withFileLock(key, () =>
      downloadFile({
        store,
        key,
        size,
        sha256: hash,
        chunkSize,
        signal: controller.signal,
        open: memoryOpen([], starts),
        onProgress: (loaded) => loaded >= 100_000 && controller.abort(),
      }),
    );
    await expectPocketHubError(aborted, 'AbortError');
    const partial = (await store.getRecord(key))!;
    expect(partial).toMatchObject({ complete: false, chunksDone: 3 });
    starts.length = 0;
    await withFileLock(key, () => downloadFile({ store, key, size, sha256: hash, chunkSize, open: memoryOpen([], starts) }));
    expect(starts).toEqual([3 * chunkSize]);
    expect((await store.getRecord(key))!.complete).toBe(true);
  });

  it('re-fetches from chunk 0 when a bit of stored chunk 0 flipped before the resume', async () => {
    const store = freshStore();
    const controller = new AbortController();
    const onProgress = (loaded: number) => loaded >= 100_000 && controller.abort();
    const aborted = downloadFile({ store, key, size, sha256: hash, chunkSize, signal: controller.signal, open: memoryOpen([], []), onProgress });
    await expectPocketHubError(aborted, 'AbortError');
    expect((await store.getRecord(key))!.chunksDone).toBe(3);
    await flipStoredBit(store, key, 0, 1000);

    const starts: number[] = [];
    const record = await downloadFile({ store, key, size, sha256: hash, chunkSize, open: memoryOpen([], starts) });
    expect(starts).toEqual([0]);
    expect(bytesToHex(sha256(await storedSource(store, record).read(0, size)))).toBe(hash);
  });

  it('discards a corrupted download', async () => {
    const store = freshStore();
    await expectPocketHubError(downloadFile({ store, key, size, sha256: hash, chunkSize, open: memoryOpen([], [], 123_456) }), 'IntegrityError');
    expect(await store.listFiles()).toEqual([]);
    expect(await store.getChunk(key, 0)).toBeUndefined();
  });
});

describe('repair against the local hub', () => {
  // Small chunks so the weights span several, as 64 MiB chunks do for real weights.
  const chunkSize = 16 * 1024;

  /** Loads the repo as the worker does and reads every byte of the weights; `fetched` gets the name of each file requested. */
  function loader(hub: ProvidedContext['tinyHub'], store: WeightStore, fetched: string[]) {
    const client = new HubClient({
      endpoints: [hub.url],
      fetch: (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        if (url.includes('/resolve/')) fetched.push(url.split('/').at(-1)!);
        return fetch(input, init);
      },
    });
    return async () => {
      const location = await openHubModel(client, store, hub.repo, { chunkSize, lock: withFileLock });
      if (location.kind !== 'folder') throw new Error('expected a folder');
      const weights = (await location.files.open('model.safetensors'))!;
      return weights.read(0, weights.size);
    };
  }

  it('finds a bit flipped inside a stored chunk, fetches only that file again, and reads the original bytes', async () => {
    const hub = inject('tinyHub');
    expect(hub, 'the browser project starts the local hub in its global setup (test/hubGlobalSetup.ts)').toBeDefined();
    const store = freshStore();
    const fetched: string[] = [];
    const readWeights = loader(hub, store, fetched);
    const original = bytesToHex(sha256(pattern(0, hub.files['model.safetensors'])));
    expect(bytesToHex(sha256(await readWeights()))).toBe(original);
    expect(fetched.sort()).toEqual(Object.keys(hub.files).sort());

    const weights = (await store.listFiles()).find((r) => r.path === 'model.safetensors')!;
    expect(weights.chunksDone).toBeGreaterThan(5);
    // Mid-chunk, same length: only the content gives the damage away.
    await flipStoredBit(store, weights, 5, 1234);
    fetched.length = 0;
    const err = await expectPocketHubError(readWeights(), 'CorruptFileError');
    expect(err.message).toContain('chunk 5');
    expect(damagedStoredFile(err)).toEqual({ repo: weights.repo, commit: weights.commit, path: weights.path });
    // The cached copy is read without asking the hub; the damage is found in the store alone.
    expect(fetched).toEqual([]);

    const bytes = await withStoreRepair(store, readWeights);
    expect(bytesToHex(sha256(bytes))).toBe(original);
    expect(fetched).toEqual(['model.safetensors']);
  });
});
