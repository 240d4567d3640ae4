import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import { AbortError, IntegrityError, isPocketHubError, NetworkError } from '../protocol/errors.ts';
import {
  CHUNK_SIZE,
  chunkHash,
  chunkLength,
  fileId,
  hasChunkHashes,
  markUsed,
  storedBytes,
  type FileKey,
  type FileRecord,
  type HashedRecord,
  type WeightStore,
} from './store.ts';

export interface DownloadOptions {
  store: WeightStore;
  key: FileKey;
  size: number;
  /** Hex SHA-256 the Hub published; without it only the size is checked. */
  sha256?: string;
  /** Resolves to the file's bytes from `start` on: 206 with that range, or 200 with the whole file. */
  open: (start: number, signal?: AbortSignal) => Promise<Response>;
  /** Bytes held so far; goes back to the last chunk boundary when a connection drops. */
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
  chunkSize?: number;
  /** Failed connections in a row (without a chunk stored in between) before giving up. */
  maxRetries?: number;
  /** Wait before the first retry, doubled for each further one in a row. */
  retryDelayMs?: number;
}

type Hash = ReturnType<typeof sha256.create>;

interface Progress {
  record: HashedRecord;
  hash: Hash;
  /** Reused for every chunk so a download holds one chunk of memory, not one per chunk. */
  buffer: Uint8Array<ArrayBuffer>;
}

function abortError(key: FileKey): InstanceType<typeof AbortError> {
  return new AbortError(`Download of ${fileId(key)} was cancelled; what was stored is kept and resumes next time.`);
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** NetworkErrors for answers that another try would not change (4xx). */
const notRetryable = new WeakSet<Error>();

/**
 * A dropped or refused connection (a TypeError from fetch, a stream error, a NetworkError)
 * is worth another try; a typed Hub error (auth, rate limit, missing file) is not.
 */
function isRetryable(err: unknown): boolean {
  if (!(err instanceof Error) || notRetryable.has(err)) return false;
  return !isPocketHubError(err) || isPocketHubError(err, 'NetworkError');
}

/**
 * The stored record if it describes the same bytes in the same layout with a hash for each
 * stored chunk; otherwise a fresh one. A record from before chunk hashes (complete or not)
 * starts over, since none of its chunks can be checked.
 */
async function startRecord(o: DownloadOptions, chunkSize: number): Promise<HashedRecord> {
  const existing = await o.store.getRecord(o.key);
  const same = existing && existing.size === o.size && existing.sha256 === o.sha256 && existing.chunkSize === chunkSize;
  if (same && hasChunkHashes(existing)) return existing;
  if (existing) await o.store.deleteFile(o.key);
  const { repo, commit, path } = o.key;
  const record: HashedRecord = {
    repo,
    commit,
    path,
    size: o.size,
    sha256: o.sha256,
    chunkSize,
    chunksDone: 0,
    chunkHashes: [],
    complete: false,
    lastUsed: Date.now(),
  };
  await o.store.putRecord(record);
  return record;
}

/**
 * Feeds the stored chunks back into the hash. The first chunk missing, cut short or not
 * matching its recorded hash ends what counts as stored, so the download goes on from
 * there and never builds on a damaged chunk.
 */
async function rehashStored(store: WeightStore, record: HashedRecord, hash: Hash): Promise<HashedRecord> {
  for (let index = 0; index < record.chunksDone; index++) {
    const chunk = await store.getChunk(record, index);
    if (!chunk || chunk.byteLength !== chunkLength(record, index) || (await chunkHash(chunk)) !== record.chunkHashes[index]) {
      const truncated = { ...record, chunksDone: index, chunkHashes: record.chunkHashes.slice(0, index) };
      await store.putRecord(truncated);
      return truncated;
    }
    if (record.sha256) hash.update(chunk);
  }
  return record;
}

/**
 * One connection: opens the file at the first missing chunk and stores chunks until the
 * body ends. Bytes of a chunk cut off by a drop are thrown away; the next connection
 * starts again at that chunk's first byte.
 */
async function streamChunks(o: DownloadOptions, p: Progress): Promise<void> {
  const { store, key, size, signal } = o;
  const start = storedBytes(p.record);
  const response = await o.open(start, signal);
  if (response.status !== 206 && response.status !== 200) {
    await response.body?.cancel();
    const err = new NetworkError(`${fileId(key)}: the server answered ${response.status} ${response.statusText} to a request from byte ${start}.`);
    // A server error may pass; a client error will be the same next time.
    if (response.status < 500) notRetryable.add(err);
    throw err;
  }
  // A 200 ignored the Range header and sends the file from byte 0.
  let skip = response.status === 200 ? start : 0;
  if (!response.body) throw new NetworkError(`${fileId(key)}: the response from byte ${start} has no body.`);
  const reader = response.body.getReader();
  let filled = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (signal?.aborted) throw abortError(key);
      if (done) break;
      let piece = value;
      if (skip > 0) {
        const dropped = Math.min(skip, piece.byteLength);
        piece = piece.subarray(dropped);
        skip -= dropped;
      }
      while (piece.byteLength > 0) {
        const index = p.record.chunksDone;
        const at = index * p.record.chunkSize;
        if (at >= size) {
          throw new IntegrityError(`${fileId(key)}: the server sent more than the ${size} bytes the Hub lists.`);
        }
        const want = chunkLength(p.record, index);
        const take = Math.min(want - filled, piece.byteLength);
        p.buffer.set(piece.subarray(0, take), filled);
        filled += take;
        piece = piece.subarray(take);
        if (filled === want) {
          const chunk = p.buffer.subarray(0, want);
          // Hashed beside the write: both only read the buffer, which is refilled after both end.
          const [digest] = await Promise.all([chunkHash(chunk), store.putChunk(key, index, chunk)]);
          const next = { ...p.record, chunksDone: index + 1, chunkHashes: [...p.record.chunkHashes, digest] };
          await store.putRecord(next);
          // Hashed only once stored: a failed write is retried from this chunk and must not count twice.
          p.hash.update(chunk);
          p.record = next;
          filled = 0;
        }
        o.onProgress?.(storedBytes(p.record) + filled, size);
      }
    }
  } finally {
    // Leaves the connection closed whether the loop ended, failed or was aborted.
    reader.cancel().catch(() => {});
  }
  if (storedBytes(p.record) < size) {
    throw new NetworkError(`${fileId(key)}: the connection ended at byte ${storedBytes(p.record) + filled} of ${size}.`);
  }
}

/**
 * Downloads a file into the store, or returns its record if it is already complete.
 * Streams into an incremental SHA-256 and into chunks, holding at most one chunk in
 * memory; resumes from the last complete chunk after a drop, an abort or a reload;
 * marks the record complete only when the hash matches. On a hash mismatch, or a quota
 * error from the store, deletes everything written for the file and rethrows, so no
 * partial copy is left behind. An abort keeps the stored chunks for the next call.
 */
export async function downloadFile(o: DownloadOptions): Promise<FileRecord> {
  const { store, key, size, signal } = o;
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`${fileId(key)}: invalid size ${size}`);
  const chunkSize = o.chunkSize ?? CHUNK_SIZE;
  const maxRetries = o.maxRetries ?? 5;
  const retryDelayMs = o.retryDelayMs ?? 500;
  if (signal?.aborted) throw abortError(key);

  const first = await startRecord(o, chunkSize);
  if (first.complete) return markUsed(store, first);
  const hash = sha256.create();
  const p: Progress = { record: await rehashStored(store, first, hash), hash, buffer: new Uint8Array(Math.min(chunkSize, size)) };
  o.onProgress?.(storedBytes(p.record), size);

  try {
    let failures = 0;
    while (storedBytes(p.record) < size) {
      const before = p.record.chunksDone;
      try {
        await streamChunks(o, p);
      } catch (err) {
        if (signal?.aborted) throw abortError(key);
        if (!isRetryable(err)) throw err;
        failures = p.record.chunksDone > before ? 1 : failures + 1;
        if (failures > maxRetries) {
          const reason = err instanceof Error ? err.message : String(err);
          throw new NetworkError(`${fileId(key)}: gave up after ${maxRetries} retries at byte ${storedBytes(p.record)} of ${size}: ${reason}`);
        }
        await pause(retryDelayMs * 2 ** (failures - 1), signal);
        if (signal?.aborted) throw abortError(key);
      }
    }
    if (o.sha256) {
      const actual = bytesToHex(hash.digest());
      if (actual !== o.sha256.toLowerCase()) {
        throw new IntegrityError(`${fileId(key)}: SHA-256 is ${actual} but the Hub lists ${o.sha256}.`);
      }
    }
  } catch (err) {
    if (isPocketHubError(err, 'IntegrityError') || isPocketHubError(err, 'QuotaError')) await store.deleteFile(key);
    throw err;
  }
  const complete: FileRecord = { ...p.record, complete: true, lastUsed: Date.now() };
  await store.putRecord(complete);
  return complete;
}
