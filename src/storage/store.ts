// The weight store: files from the Hub kept as numbered chunks plus one record per
// file. Two back ends share this interface and layout: IndexedDB in the browser
// (idbStore.ts) and the file system for the CLI (fsStore.ts).
import { bytesToHex } from '@noble/hashes/utils';

/**
 * Chromium refuses single IndexedDB values above ~128 MiB, and a chunk is the most a
 * download or a read holds in memory at once; 64 MiB keeps both comfortable.
 */
export const CHUNK_SIZE = 64 * 2 ** 20;

/** A file at a fixed revision: the commit is part of every key, so a new push never mixes with old bytes. */
export interface FileKey {
  repo: string;
  commit: string;
  path: string;
}

export interface FileRecord extends FileKey {
  size: number;
  /** Hex SHA-256 the Hub published (LFS files); without it a file is complete once all bytes arrived. */
  sha256?: string;
  chunkSize: number;
  /**
   * Chunks 0..chunksDone-1 are stored in full. A resumed download re-hashes them rather
   * than saving the hash state: @noble/hashes has no public way to serialise it, and
   * reading back stored chunks is far cheaper than fetching them again.
   */
  chunksDone: number;
  /**
   * Hex SHA-256 of each stored chunk (`chunkHashes[i]` for chunk i, one per chunk done),
   * taken from the bytes as they were stored, so a flipped bit found at load or on resume
   * sends that file back to the Hub instead of into a model. Records written before this
   * field existed lack it; such a file counts as damaged (`hasChunkHashes` is false) and
   * is downloaded again: nothing else can vouch for its stored bytes.
   */
  chunkHashes?: string[];
  /** Set only after every byte arrived and the hash matched. */
  complete: boolean;
  /** Milliseconds since the epoch; eviction drops the smallest first. */
  lastUsed: number;
}

export interface WeightStore {
  getRecord(key: FileKey): Promise<FileRecord | undefined>;
  putRecord(record: FileRecord): Promise<void>;
  /** Has copied or written `bytes` once it resolves, so the caller may reuse the buffer. */
  putChunk(key: FileKey, index: number, bytes: Uint8Array): Promise<void>;
  /** Never a view of shared memory, so it can go straight to `crypto.subtle`. */
  getChunk(key: FileKey, index: number): Promise<Uint8Array<ArrayBuffer> | undefined>;
  /** The record and all chunks. */
  deleteFile(key: FileKey): Promise<void>;
  listFiles(): Promise<FileRecord[]>;
  /** Bytes used by this store (sum of chunk sizes). */
  usage(): Promise<number>;
}

/** One string per file: the Web Locks name and the key both stores file things under. */
export function fileId(key: FileKey): string {
  return `${key.repo}@${key.commit}/${key.path}`;
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** Length of chunk `index`; only the last one is short. */
export function chunkLength(record: Pick<FileRecord, 'size' | 'chunkSize'>, index: number): number {
  return Math.min(record.chunkSize, record.size - index * record.chunkSize);
}

/** A record with a hash for every stored chunk, as this version writes them. */
export type HashedRecord = FileRecord & { chunkHashes: string[] };

/** Whether every stored chunk of the record has a hash to be checked against (see `chunkHashes`). */
export function hasChunkHashes(record: FileRecord): record is HashedRecord {
  return Array.isArray(record.chunkHashes) && record.chunkHashes.length === record.chunksDone;
}

/** Hex SHA-256 of a chunk, as `chunkHashes` holds it. */
export async function chunkHash(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  // Native in Node, browsers and workers: about 90 ms per 64 MiB chunk in Node 20 here, five
  // times faster than @noble/hashes. WebCrypto copies its input when called (outside the JS
  // heap in Node), so a chunk being checked is briefly held twice.
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

/** Bytes a record's stored chunks take. */
export function storedBytes(record: FileRecord): number {
  return Math.min(record.size, record.chunksDone * record.chunkSize);
}

/** Records a use of the file so eviction keeps it longer. */
export async function markUsed(store: WeightStore, record: FileRecord, now = Date.now()): Promise<FileRecord> {
  const used = { ...record, lastUsed: now };
  await store.putRecord(used);
  return used;
}

/**
 * Puts a file the caller already holds into `store` as a complete record with every chunk's
 * hash, as a finished download leaves it; the bench stores its models this way so that it times
 * loading from the weight store, as a returning user's load is.
 */
export async function storeBlob(store: WeightStore, key: FileKey, blob: Blob, chunkSize = CHUNK_SIZE): Promise<HashedRecord> {
  const chunks = chunkCount(blob.size, chunkSize);
  const chunkHashes: string[] = [];
  for (let index = 0; index < chunks; index++) {
    const bytes = new Uint8Array(await blob.slice(index * chunkSize, (index + 1) * chunkSize).arrayBuffer());
    const [digest] = await Promise.all([chunkHash(bytes), store.putChunk(key, index, bytes)]);
    chunkHashes.push(digest);
  }
  const record: HashedRecord = { ...key, size: blob.size, chunkSize, chunksDone: chunks, chunkHashes, complete: true, lastUsed: Date.now() };
  await store.putRecord(record);
  return record;
}
