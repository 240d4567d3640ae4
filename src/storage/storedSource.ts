import { CorruptFileError } from '../protocol/errors.ts';
import type { ByteSource } from '../engine/formats/source.ts';
import { chunkHash, chunkLength, fileId, hasChunkHashes, type FileKey, type FileRecord, type WeightStore } from './store.ts';

/** The stored file behind each damage error, so a loader can delete and fetch just that file. */
const damaged = new WeakMap<Error, FileKey>();

/** The stored file a CorruptFileError from a stored source is about, if it is one. */
export function damagedStoredFile(err: unknown): FileKey | undefined {
  return err instanceof Error ? damaged.get(err) : undefined;
}

function damage(record: FileRecord, message: string): Error {
  const err = new CorruptFileError(message);
  damaged.set(err, { repo: record.repo, commit: record.commit, path: record.path });
  return err;
}

/**
 * A ByteSource over a complete stored file. Each read fetches only the chunks its range
 * spans (a tensor may span several) and copies just the asked-for bytes out of them.
 * The last chunk read is kept, since parsers read a header in several small pieces and
 * then tensors in file order; that is the one chunk of memory this source holds
 * (and, while it is checked, the copy `crypto.subtle.digest` takes of it).
 * Each chunk is checked against its recorded SHA-256 before any byte of it is handed
 * out. A missing, short or altered chunk is a CorruptFileError that `damagedStoredFile`
 * recognises, so the caller can delete the file and download it again.
 */
export function storedSource(store: WeightStore, record: FileRecord): ByteSource {
  const name = fileId(record);
  if (!record.complete) throw damage(record, `${name}: the download is not complete.`);
  if (!hasChunkHashes(record)) throw damage(record, `${name}: stored without chunk hashes (by an older version), so it cannot be checked.`);
  const hashes = record.chunkHashes;
  let cached: { index: number; bytes: Uint8Array } | undefined;

  async function chunk(index: number): Promise<Uint8Array> {
    if (cached?.index === index) return cached.bytes;
    // Dropped first so a failed read does not keep the old chunk alive beside the new one.
    cached = undefined;
    const bytes = await store.getChunk(record, index);
    const want = chunkLength(record, index);
    if (!bytes || bytes.byteLength !== want) {
      const found = bytes ? `${bytes.byteLength} bytes` : 'nothing';
      throw damage(record, `${name}: chunk ${index} should hold ${want} bytes but the store has ${found}.`);
    }
    const actual = await chunkHash(bytes);
    if (actual !== hashes[index]) {
      throw damage(record, `${name}: chunk ${index} has SHA-256 ${actual} but ${hashes[index]} was recorded when it was stored.`);
    }
    cached = { index, bytes };
    return bytes;
  }

  /** Its own function so no reference to the chunk outlives the copy in a suspended frame. */
  async function copyPart(index: number, out: Uint8Array, offset: number): Promise<void> {
    const bytes = await chunk(index);
    const from = Math.max(offset, index * record.chunkSize);
    const to = Math.min(offset + out.byteLength, (index + 1) * record.chunkSize);
    out.set(bytes.subarray(from - index * record.chunkSize, to - index * record.chunkSize), from - offset);
  }

  return {
    name,
    size: record.size,
    async read(offset, length) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
        throw new RangeError(`${name}: invalid read of ${length} bytes at ${offset}`);
      }
      if (offset + length > record.size) {
        throw new CorruptFileError(`${name}: truncated: needed bytes ${offset}..${offset + length} but the file has ${record.size} bytes`);
      }
      if (length === 0) return new Uint8Array(0);
      const first = Math.floor(offset / record.chunkSize);
      const last = Math.floor((offset + length - 1) / record.chunkSize);
      if (first === last) {
        const at = offset - first * record.chunkSize;
        return (await chunk(first)).subarray(at, at + length);
      }
      const out = new Uint8Array(length);
      for (let index = first; index <= last; index++) await copyPart(index, out, offset);
      return out;
    },
  };
}
