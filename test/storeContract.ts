// The WeightStore contract as tests, run against the file-system store in Node and the
// IndexedDB store in Chromium so both back ends behave the same.
import { expect, it } from 'vitest';
import { isPocketHubError } from '../src/protocol/errors.ts';
import { chunkHash, type FileKey, type FileRecord, type WeightStore } from '../src/storage/store.ts';
import { damagedStoredFile, storedSource } from '../src/storage/storedSource.ts';

/** Deterministic bytes that differ at every nearby offset, so a misplaced copy shows. */
export function pattern(offset: number, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.imul((offset + i) ^ ((offset + i) >>> 9), 0x9e3779b1) >>> 24;
  return out;
}

/** Writes `size` pattern bytes as a complete file, chunk by chunk, as a download would. */
export async function putPatternFile(store: WeightStore, key: FileKey, size: number, chunkSize: number, lastUsed = 1): Promise<FileRecord> {
  const chunks = Math.ceil(size / chunkSize);
  const chunkHashes: string[] = [];
  for (let i = 0; i < chunks; i++) {
    const bytes = pattern(i * chunkSize, Math.min(chunkSize, size - i * chunkSize));
    await store.putChunk(key, i, bytes);
    chunkHashes.push(await chunkHash(bytes));
  }
  const record: FileRecord = { ...key, size, chunkSize, chunksDone: chunks, chunkHashes, complete: true, lastUsed };
  await store.putRecord(record);
  return record;
}

/**
 * Flips the lowest bit of byte `at` of a stored chunk, through the store, as failing
 * storage would: same length, so only the content can give it away.
 */
export async function flipStoredBit(store: WeightStore, key: FileKey, index: number, at: number): Promise<void> {
  const bytes = (await store.getChunk(key, index))!.slice();
  bytes[at] ^= 1;
  await store.putChunk(key, index, bytes);
}

export async function expectPocketHubError(promise: Promise<unknown>, name: Parameters<typeof isPocketHubError>[1]): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ${name}`).toBeInstanceOf(Error);
  expect((err as Error).name).toBe(name);
  expect(isPocketHubError(err, name)).toBe(true);
  return err as Error;
}

/** `makeStore` returns an empty store each time. */
export function storeContractTests(makeStore: () => Promise<WeightStore>): void {
  // Keys chosen so that naive joining would collide: 'a/b' + 'c' vs 'a' + 'b/c'.
  const model: FileKey = { repo: 'org/name', commit: 'c0ffee', path: 'sub/model.safetensors' };
  const twin: FileKey = { repo: 'org', commit: 'c0ffee', path: 'name/sub/model.safetensors' };
  const other: FileKey = { repo: 'org/name', commit: 'beef', path: 'sub/model.safetensors' };
  const chunkSize = 1000;

  it('keeps records and chunks per file, and deletes one file whole', async () => {
    const store = await makeStore();
    expect(await store.getRecord(model)).toBeUndefined();
    expect(await store.getChunk(model, 0)).toBeUndefined();
    const a = await putPatternFile(store, model, 2500, chunkSize, 10);
    const b = await putPatternFile(store, twin, 1200, chunkSize, 20);
    const c = await putPatternFile(store, other, 999, chunkSize, 30);
    expect(await store.getRecord(model)).toEqual(a);
    expect(await store.getRecord(twin)).toEqual(b);
    expect(Array.from((await store.getChunk(model, 2))!)).toEqual(Array.from(pattern(2000, 500)));
    expect(Array.from((await store.getChunk(twin, 1))!)).toEqual(Array.from(pattern(1000, 200)));
    expect(await store.getChunk(model, 3)).toBeUndefined();
    const listed = (await store.listFiles()).map((r) => `${r.repo}@${r.commit}/${r.path}`).sort();
    expect(listed).toEqual(['org/name@beef/sub/model.safetensors', 'org/name@c0ffee/sub/model.safetensors', 'org@c0ffee/name/sub/model.safetensors']);
    expect(await store.usage()).toBe(2500 + 1200 + 999);

    await store.deleteFile(model);
    expect(await store.getRecord(model)).toBeUndefined();
    expect(await store.getChunk(model, 0)).toBeUndefined();
    expect(await store.getRecord(twin)).toEqual(b);
    expect(await store.getRecord(other)).toEqual(c);
    expect(await store.usage()).toBe(1200 + 999);
  });

  it('stores a short view of a larger buffer at its own length', async () => {
    const store = await makeStore();
    const big = pattern(0, 4096);
    await store.putChunk(model, 0, big.subarray(100, 400));
    big.fill(0);
    const back = (await store.getChunk(model, 0))!;
    expect(back.byteLength).toBe(300);
    expect(Array.from(back)).toEqual(Array.from(pattern(100, 300)));
  });

  it('reads ranges within one chunk and across two and three chunks', async () => {
    const store = await makeStore();
    const record = await putPatternFile(store, model, 3500, chunkSize);
    const source = storedSource(store, record);
    expect(source.size).toBe(3500);
    const ranges: [number, number][] = [
      [0, 8], // header-sized read at the start
      [1000, 1000], // exactly one whole chunk
      [990, 20], // two chunks
      [500, 2100], // three chunks
      [999, 2002], // three chunks, one byte in each end chunk
      [3400, 100], // the short last chunk, to its end
      [3500, 0],
    ];
    for (const [offset, length] of ranges) {
      const got = await source.read(offset, length);
      expect(got.byteLength, `read(${offset}, ${length})`).toBe(length);
      expect(Array.from(got), `read(${offset}, ${length})`).toEqual(Array.from(pattern(offset, length)));
    }
    await expectPocketHubError(source.read(3000, 501), 'CorruptFileError');
  });

  it('reports a missing chunk as CorruptFileError', async () => {
    const store = await makeStore();
    const record = await putPatternFile(store, model, 3500, chunkSize);
    // Simulates chunk 1 lost (cleared by the browser, deleted on disk): the record still claims it.
    const chunk0 = (await store.getChunk(model, 0))!;
    await store.deleteFile(model);
    await store.putChunk(model, 0, chunk0);
    await store.putRecord(record);
    const source = storedSource(store, record);
    expect(Array.from(await source.read(10, 20))).toEqual(Array.from(pattern(10, 20)));
    const err = await expectPocketHubError(source.read(900, 200), 'CorruptFileError');
    expect(err.message).toContain('chunk 1');
  });

  it('reports a chunk whose bytes changed in the store as damage to that file, and hands out none of them', async () => {
    const store = await makeStore();
    const record = await putPatternFile(store, model, 3500, chunkSize);
    await putPatternFile(store, twin, 3500, chunkSize);
    await flipStoredBit(store, model, 1, 500);
    const source = storedSource(store, record);
    expect(Array.from(await source.read(10, 20))).toEqual(Array.from(pattern(10, 20)));
    // A read inside the chunk, one ending in it, and the byte itself: none may return.
    for (const [offset, length] of [[1100, 10], [900, 200], [1500, 1]]) {
      const err = await expectPocketHubError(source.read(offset, length), 'CorruptFileError');
      expect(err.message).toContain('chunk 1');
      expect(damagedStoredFile(err)).toEqual(model);
    }
    expect(Array.from(await source.read(2000, 1500))).toEqual(Array.from(pattern(2000, 1500)));
    // The twin file, with the same bytes under a key a naive join would confuse, is untouched.
    const twinRecord = (await store.getRecord(twin))!;
    expect(Array.from(await storedSource(store, twinRecord).read(1000, 1000))).toEqual(Array.from(pattern(1000, 1000)));
  });

  it('reports a complete file stored without chunk hashes as damaged', async () => {
    const store = await makeStore();
    const { chunkHashes, ...older } = await putPatternFile(store, model, 2500, chunkSize);
    expect(chunkHashes).toHaveLength(3);
    await store.putRecord(older);
    const stored = (await store.getRecord(model))!;
    expect(stored.chunkHashes).toBeUndefined();
    const err = await expectPocketHubError(Promise.resolve().then(() => storedSource(store, stored)), 'CorruptFileError');
    expect(err.message).toContain('without chunk hashes');
    expect(damagedStoredFile(err)).toEqual(model);
  });

  it('refuses a source over an incomplete file', async () => {
    const store = await makeStore();
    expect(() => storedSource(store, { ...model, size: 10, chunkSize, chunksDone: 0, complete: false, lastUsed: 0 })).toThrow(/not complete/);
  });
}
