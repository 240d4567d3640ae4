import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QuotaError } from '../protocol/errors.ts';
import { downloadFile, type DownloadOptions } from './download.ts';
import { fsStore } from './fsStore.ts';
import { expectPocketHubError, flipStoredBit, pattern } from '../../test/storeContract.ts';
import type { FileKey, WeightStore } from './store.ts';
import { storedSource } from './storedSource.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** What the test server serves and how it misbehaves; tests change it between downloads. */
interface Served {
  size: number;
  /** Generated on demand so a large file never sits in the test's memory. */
  bytes: (offset: number, length: number) => Uint8Array;
  /** Absolute offsets at which the next response passing them is cut off; each fires once. */
  dropAt: number[];
  corruptAt?: number;
  ignoreRange?: boolean;
  status?: number;
  /** First byte of every request, in order. */
  starts: number[];
}

function serve(size: number, bytes = pattern): Served {
  return { size, bytes, dropAt: [], starts: [] };
}

let served: Served;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range && !served.ignoreRange ? Number(range[1]) : 0;
    served.starts.push(start);
    if (served.status) {
      res.writeHead(served.status).end();
      return;
    }
    res.writeHead(range && !served.ignoreRange ? 206 : 200, {
      'content-length': String(served.size - start),
      ...(range && !served.ignoreRange ? { 'content-range': `bytes ${start}-${served.size - 1}/${served.size}` } : {}),
    });
    const drop = served.dropAt.filter((d) => d > start).sort((a, b) => a - b)[0];
    if (drop !== undefined) served.dropAt.splice(served.dropAt.indexOf(drop), 1);
    let at = start;
    const pump = () => {
      while (at < served.size) {
        const end = Math.min(served.size, at + 16 * KiB, drop ?? Infinity);
        const piece = served.bytes(at, end - at);
        if (served.corruptAt !== undefined && served.corruptAt >= at && served.corruptAt < end) piece[served.corruptAt - at] ^= 0xff;
        at = end;
        const more = res.write(piece);
        if (at === drop) {
          // Let the bytes before the drop reach the client, then cut the connection.
          res.once('drain', () => res.destroy());
          if (more) setImmediate(() => res.destroy());
          return;
        }
        if (!more) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/file`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempStore(): Promise<WeightStore> {
  const dir = await mkdtemp(join(tmpdir(), 'pocket-hub-download-'));
  dirs.push(dir);
  return fsStore(dir);
}

const key: FileKey = { repo: 'org/tiny', commit: '0123abcd', path: 'model.safetensors' };

function open(start: number, signal?: AbortSignal): Promise<Response> {
  return fetch(baseUrl, { headers: { range: `bytes=${start}-` }, signal });
}

function hashOf(s: Served): string {
  const h = sha256.create();
  for (let at = 0; at < s.size; at += MiB) h.update(s.bytes(at, Math.min(MiB, s.size - at)));
  return bytesToHex(h.digest());
}

function options(store: WeightStore, extra: Partial<DownloadOptions> = {}): DownloadOptions {
  return { store, key, size: served.size, sha256: hashOf(served), open, chunkSize: 64 * KiB, retryDelayMs: 0, ...extra };
}

async function expectStoredPattern(store: WeightStore, size: number): Promise<void> {
  const record = (await store.getRecord(key))!;
  expect(record.complete).toBe(true);
  const got = await storedSource(store, record).read(0, size);
  expect(bytesToHex(sha256(got))).toBe(bytesToHex(sha256(pattern(0, size))));
}

describe('downloadFile', () => {
  const size = 1_000_003; // not a multiple of the chunk size, so the last chunk is short

  it('downloads into chunks and verifies the hash', async () => {
    served = serve(size);
    const store = await tempStore();
    const seen: number[] = [];
    const record = await downloadFile(options(store, { onProgress: (loaded, total) => (expect(total).toBe(size), seen.push(loaded)) }));
    expect(record).toMatchObject({ ...key, size, chunkSize: 64 * KiB, chunksDone: 16, complete: true });
    // Checked against a second SHA-256 implementation, so the recorded form (hex of each chunk) is pinned down.
    const chunkHashes = Array.from({ length: 16 }, (_, i) => bytesToHex(sha256(pattern(i * 64 * KiB, Math.min(64 * KiB, size - i * 64 * KiB)))));
    expect(record.chunkHashes).toEqual(chunkHashes);
    expect((await store.getRecord(key))!.chunkHashes).toEqual(chunkHashes);
    expect(served.starts).toEqual([0]);
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(size);
    expect(seen.every((v, i) => i === 0 || v >= seen[i - 1])).toBe(true);
    expect(await store.usage()).toBe(size);
    await expectStoredPattern(store, size);

    // Already complete: nothing is fetched, and the file counts as used.
    const again = await downloadFile(options(store));
    expect(served.starts).toEqual([0]);
    expect(again.lastUsed).toBeGreaterThanOrEqual(record.lastUsed);
  });

  /**
   * A drop can lose bytes the client had buffered but not read (an errored stream
   * discards its queue), so a resume may start a chunk earlier than the drop offset
   * alone implies; what must hold is that it starts on a chunk boundary at or before
   * the drop and never before the previous start.
   */
  function expectResumes(starts: number[], drops: number[], chunk: number): void {
    expect(starts).toHaveLength(drops.length + 1);
    expect(starts[0]).toBe(0);
    drops.forEach((drop, i) => {
      const resume = starts[i + 1];
      expect(resume % chunk, `resume ${resume} after the drop at ${drop}`).toBe(0);
      expect(resume).toBeLessThanOrEqual(Math.floor(drop / chunk) * chunk);
      expect(resume).toBeGreaterThanOrEqual(starts[i]);
    });
  }

  it('resumes at the last complete chunk after dropped connections', async () => {
    served = serve(size);
    const drops = [100_000, 300_001, 65_536 * 10 + 5, 999_999];
    served.dropAt = [...drops];
    const store = await tempStore();
    await downloadFile(options(store));
    expectResumes(served.starts, drops, 64 * KiB);
    await expectStoredPattern(store, size);
  });

  it('gives up after maxRetries drops without progress, keeping what it stored', async () => {
    served = serve(size);
    served.dropAt = [30_000, 30_001, 30_002, 30_003];
    const store = await tempStore();
    const err = await expectPocketHubError(downloadFile(options(store, { maxRetries: 2 })), 'NetworkError');
    expect(err.message).toContain('after 2 retries');
    expect(served.starts).toEqual([0, 0, 0]);
    expect(await store.getRecord(key)).toMatchObject({ chunksDone: 0, complete: false });
  });

  it('discards a corrupted download with IntegrityError', async () => {
    served = serve(size);
    served.corruptAt = 777_777;
    const store = await tempStore();
    await expectPocketHubError(downloadFile(options(store)), 'IntegrityError');
    expect(await store.getRecord(key)).toBeUndefined();
    expect(await store.listFiles()).toEqual([]);
    expect(await store.usage()).toBe(0);
  });

  it('discards a download longer than the listed size with IntegrityError', async () => {
    served = serve(size);
    const store = await tempStore();
    const err = await expectPocketHubError(downloadFile(options(store, { size: size - 10, sha256: undefined })), 'IntegrityError');
    expect(err.message).toContain('more than');
    expect(await store.listFiles()).toEqual([]);
  });

  it('keeps a resumable partial file on abort and resumes it later', async () => {
    served = serve(size);
    const store = await tempStore();
    const controller = new AbortController();
    const aborted = downloadFile(
      options(store, {
        signal: controller.signal,
        onProgress: (loaded) => {
          if (loaded > 500_000) controller.abort();
        },
      }),
    );
    await expectPocketHubError(aborted, 'AbortError');
    const partial = (await store.getRecord(key))!;
    expect(partial.complete).toBe(false);
    expect(partial.chunksDone).toBeGreaterThanOrEqual(7);

    served.starts = [];
    await downloadFile(options(store));
    expect(served.starts).toEqual([partial.chunksDone * 64 * KiB]);
    await expectStoredPattern(store, size);
  });

  it('re-fetches from the first stored chunk that went missing', async () => {
    served = serve(size);
    const store = await tempStore();
    const controller = new AbortController();
    const abortAt = (loaded: number) => loaded > 400_000 && controller.abort();
    await expectPocketHubError(downloadFile(options(store, { signal: controller.signal, onProgress: abortAt })), 'AbortError');
    const partial = (await store.getRecord(key))!;
    expect(partial.chunksDone).toBeGreaterThan(3);
    // Chunk 2 lost while the record still claims it: chunks 0 and 1 are re-hashed, the rest fetched.
    const kept = [(await store.getChunk(key, 0))!, (await store.getChunk(key, 1))!];
    await store.deleteFile(key);
    await store.putChunk(key, 0, kept[0]);
    await store.putChunk(key, 1, kept[1]);
    await store.putRecord(partial);

    served.starts = [];
    await downloadFile(options(store));
    expect(served.starts).toEqual([2 * 64 * KiB]);
    await expectStoredPattern(store, size);
  });

  /** Aborts a download of the served file once more than `bytes` arrived; returns the partial record. */
  async function partialDownload(store: WeightStore, bytes: number, extra: Partial<DownloadOptions> = {}) {
    const controller = new AbortController();
    const abortAt = (loaded: number) => loaded > bytes && controller.abort();
    await expectPocketHubError(downloadFile(options(store, { ...extra, signal: controller.signal, onProgress: abortAt })), 'AbortError');
    return (await store.getRecord(key))!;
  }

  it('re-fetches from chunk 0 when a bit of stored chunk 0 flipped before the resume', async () => {
    served = serve(size);
    const store = await tempStore();
    const partial = await partialDownload(store, 400_000);
    expect(partial.chunksDone).toBeGreaterThan(3);
    await flipStoredBit(store, key, 0, 4321);

    served.starts = [];
    const record = await downloadFile(options(store));
    expect(served.starts).toEqual([0]);
    expect(record.chunkHashes).toHaveLength(16);
    await expectStoredPattern(store, size);
  });

  it('re-fetches from the first damaged chunk of a file without a published hash', async () => {
    // Without the Hub's SHA-256 nothing checks the whole file at the end: the chunk hashes alone keep a damaged chunk out.
    served = serve(size);
    const store = await tempStore();
    const partial = await partialDownload(store, 400_000, { sha256: undefined });
    expect(partial.chunksDone).toBeGreaterThan(4);
    await flipStoredBit(store, key, 2, 0);
    await flipStoredBit(store, key, 4, 65_535);

    served.starts = [];
    await downloadFile(options(store, { sha256: undefined }));
    expect(served.starts).toEqual([2 * 64 * KiB]);
    await expectStoredPattern(store, size);
  });

  it('starts over on a partial file stored without chunk hashes (by an older version)', async () => {
    served = serve(size);
    const store = await tempStore();
    const { chunkHashes, ...older } = await partialDownload(store, 400_000);
    expect(chunkHashes).toHaveLength(older.chunksDone);
    await store.putRecord(older);

    served.starts = [];
    await downloadFile(options(store));
    expect(served.starts).toEqual([0]);
    await expectStoredPattern(store, size);
  });

  it('starts over when the stored record describes other bytes', async () => {
    served = serve(size);
    const store = await tempStore();
    await downloadFile(options(store, { chunkSize: 128 * KiB }));
    served.starts = [];
    const record = await downloadFile(options(store));
    expect(served.starts).toEqual([0]);
    expect(record.chunkSize).toBe(64 * KiB);
    await expectStoredPattern(store, size);
  });

  it('skips ahead when the server ignores Range and sends the whole file', async () => {
    served = serve(size);
    served.dropAt = [200_000];
    served.ignoreRange = true;
    const store = await tempStore();
    await downloadFile(options(store));
    expect(served.starts).toEqual([0, 0]);
    await expectStoredPattern(store, size);
  });

  it('does not retry a client error', async () => {
    served = serve(size);
    served.status = 404;
    const store = await tempStore();
    const err = await expectPocketHubError(downloadFile(options(store)), 'NetworkError');
    expect(err.message).toContain('404');
    expect(served.starts).toEqual([0]);
  });

  it('leaves nothing behind when the store runs out of space', async () => {
    served = serve(size);
    const store = await tempStore();
    const full: WeightStore = {
      ...store,
      async putChunk(k, index, bytes) {
        if (index === 5) throw new QuotaError('test: disk full at chunk 5');
        return store.putChunk(k, index, bytes);
      },
    };
    await expectPocketHubError(downloadFile(options(full)), 'QuotaError');
    expect(await store.listFiles()).toEqual([]);
    expect(await store.usage()).toBe(0);
  });

  it('downloads a file without a published hash by size alone', async () => {
    served = serve(size);
    const store = await tempStore();
    served.dropAt = [500_000];
    await downloadFile(options(store, { sha256: undefined }));
    await expectStoredPattern(store, size);
  });

  it('downloads an empty file', async () => {
    served = serve(0);
    const store = await tempStore();
    const record = await downloadFile(options(store));
    expect(record).toMatchObject({ size: 0, chunksDone: 0, complete: true });
    expect(await storedSource(store, record).read(0, 0)).toHaveLength(0);
  });
});

describe('memory', () => {
  // Issue 3 asks for a 300 MB file eventually; 48 MiB with 8 MiB chunks (6 chunks) shows
  // the same bound in a few seconds on a shared two-core machine. Chunks this size keep
  // the few MiB of I/O buffers in flight small beside the bound being checked.
  const size = 48 * MiB;
  const chunkSize = 8 * MiB;

  it('holds about one chunk while downloading and reading back a file 6 chunks long', async () => {
    // Collecting before each sample measures what is still referenced; without it the
    // number is mostly garbage (network pieces, file reads) that V8 has not yet collected.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    served = serve(size);
    const store = await tempStore();
    const expected = hashOf(served);
    gc();
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const timer = setInterval(() => {
      gc();
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 5);
    try {
      const record = await downloadFile({ store, key, size, sha256: expected, open, chunkSize, retryDelayMs: 0 });
      const source = storedSource(store, record);
      const h = sha256.create();
      // Reads of 5 MiB + 1 so that most of them straddle a chunk boundary.
      const step = 5 * MiB + 1;
      // In its own function so the previous read's bytes do not stay referenced from this
      // suspended frame while the next read runs.
      const hashRange = async (at: number) => h.update(await source.read(at, Math.min(step, size - at)));
      for (let at = 0; at < size; at += step) await hashRange(at);
      expect(bytesToHex(h.digest())).toBe(expected);
    } finally {
      clearInterval(timer);
    }
    const grown = peak - baseline;
    // Two chunks: the download holds one buffer; a read holds one cached chunk and its
    // output (5 MiB here). Plus 4 MiB for I/O buffers in flight. Holding the file whole
    // would add 48 MiB. The copy crypto.subtle.digest takes of each chunk it hashes is
    // native memory in Node, outside what arrayBuffers counts.
    console.log(`peak live arrayBuffers growth: ${(grown / MiB).toFixed(1)} MiB (chunk ${chunkSize / MiB} MiB, file ${size / MiB} MiB)`);
    expect(grown).toBeLessThan(2 * chunkSize + 4 * MiB);
  });
});
