import { createStore, del, get, promisifyRequest, set, values, type UseStore } from 'idb-keyval';
import { QuotaError } from '../protocol/errors.ts';
import { fileId, storedBytes, type FileKey, type FileRecord, type WeightStore } from './store.ts';

// Two idb-keyval stores, each its own database because idb-keyval's createStore makes
// one object store per database: records keyed by fileId, chunks keyed by
// [fileId, index] so one key range covers every chunk of a file.

const MiB = 2 ** 20;

function chunkKey(key: FileKey, index: number): [string, number] {
  return [fileId(key), index];
}

function allChunks(key: FileKey): IDBKeyRange {
  return IDBKeyRange.bound([fileId(key), 0], [fileId(key), Infinity]);
}

function isQuotaExceeded(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'QuotaExceededError';
}

/** A weight store in IndexedDB; `name` prefixes the two databases (tests use their own). */
export function idbStore(name = 'pocket-hub-weights'): WeightStore {
  const records: UseStore = createStore(`${name}-records`, 'records');
  const chunks: UseStore = createStore(`${name}-chunks`, 'chunks');

  return {
    getRecord: (key) => get<FileRecord>(fileId(key), records),

    async putRecord(record) {
      const { repo, commit, path, size, sha256, chunkSize, chunksDone, chunkHashes, complete, lastUsed } = record;
      await set(fileId(record), { repo, commit, path, size, sha256, chunkSize, chunksDone, chunkHashes, complete, lastUsed }, records);
    },

    async putChunk(key, index, bytes) {
      // Structured clone copies a view's whole ArrayBuffer, so a short view (the last
      // chunk, cut from a full-size buffer) is copied to its own length first.
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      try {
        await set(chunkKey(key, index), whole, chunks);
      } catch (err) {
        if (!isQuotaExceeded(err)) throw err;
        throw new QuotaError(`The browser refused to store ${(bytes.byteLength / MiB).toFixed(1)} MiB more of ${fileId(key)}: storage is full.`);
      }
    },

    getChunk: (key, index) => get<Uint8Array<ArrayBuffer>>(chunkKey(key, index), chunks),

    async deleteFile(key) {
      // Chunks go first: a record left without them reads as corrupt and is fetched
      // again, while chunks left without a record would never be found or freed.
      await chunks('readwrite', (s) => {
        s.delete(allChunks(key));
        return promisifyRequest(s.transaction);
      });
      await del(fileId(key), records);
    },

    listFiles: () => values<FileRecord>(records),

    /**
     * Counted from the records, since summing stored chunks would read every byte
     * back. The one chunk a download has written but not yet recorded is missed.
     */
    async usage() {
      return (await values<FileRecord>(records)).reduce((sum, r) => sum + storedBytes(r), 0);
    },
  };
}

const heldInProcess = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` while holding the file's lock, so two tabs (Web Locks) or two callers in
 * one process (the fallback where navigator.locks is missing, as in Node) never
 * download the same file at once. The second caller runs after the first and finds
 * the file complete.
 */
export async function withFileLock<T>(key: FileKey, fn: () => Promise<T>): Promise<T> {
  const name = `pocket-hub:${fileId(key)}`;
  const locks = globalThis.navigator?.locks;
  if (locks) return locks.request(name, fn);
  const previous = heldInProcess.get(name) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.then(
    () => {},
    () => {},
  );
  heldInProcess.set(name, settled);
  try {
    return await run;
  } finally {
    if (heldInProcess.get(name) === settled) heldInProcess.delete(name);
  }
}

let persistence: Promise<boolean> | undefined;

/**
 * Asks once per page for persistent storage, so the browser does not evict the
 * weights under storage pressure. Resolves to whether it was granted.
 */
export function requestPersistence(): Promise<boolean> {
  const storage = globalThis.navigator?.storage;
  persistence ??= storage?.persist ? storage.persist().catch(() => false) : Promise.resolve(false);
  return persistence;
}

/**
 * Throws QuotaError when the origin's free quota is below `bytesNeeded`. Where the
 * browser gives no estimate there is nothing to check, and a full disk surfaces as a
 * QuotaError from the store during the download.
 */
export async function checkQuota(bytesNeeded: number): Promise<void> {
  const storage = globalThis.navigator?.storage;
  if (!storage?.estimate) return;
  const { quota, usage } = await storage.estimate();
  if (quota === undefined || usage === undefined) return;
  const free = quota - usage;
  if (bytesNeeded > free) {
    throw new QuotaError(
      `This download needs ${(bytesNeeded / MiB).toFixed(1)} MiB but only ${(free / MiB).toFixed(1)} MiB of the ${(quota / MiB).toFixed(1)} MiB this site may use is free.`,
    );
  }
}
