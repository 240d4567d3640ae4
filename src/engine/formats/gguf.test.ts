import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CorruptFileError, UnsupportedDtypeError } from '../../protocol/errors.ts';
import { ggmlTypeName, readGguf } from './gguf.ts';
import { type GgufInput, type GgufTypedValue, writeGguf } from './ggufWriter.ts';
import { type ByteSource, bytesSource, readTensorF32 } from './source.ts';

// stories260K.gguf is the app's embedded model in public/; the other GGUFs are test fixtures.
const fixture = (name: string) =>
  new Uint8Array(
    readFileSync(new URL(name === 'stories260K.gguf' ? `../../../hub/models/pocket-hub/stories260K-GGUF/${name}` : `../../../test/fixtures/gguf/${name}`, import.meta.url)),
  );

/** Records every read, to show the reader fetches only the header. */
function recordingSource(name: string, bytes: Uint8Array): ByteSource & { reads: [number, number][] } {
  const inner = bytesSource(name, bytes);
  const reads: [number, number][] = [];
  return {
    name,
    size: inner.size,
    reads,
    read(offset, length) {
      reads.push([offset, length]);
      return inner.read(offset, length);
    },
  };
}

const encoder = new TextEncoder();

/** Position of the first occurrence of `text` in `bytes`; fails the test when absent. */
function indexOfText(bytes: Uint8Array, text: string): number {
  const needle = encoder.encode(text);
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error(`'${text}' not found`);
}

function patchU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(at, value, true);
  return copy;
}

function patchU64(bytes: Uint8Array, at: number, value: bigint): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setBigUint64(at, value, true);
  return copy;
}

async function readError(name: string, bytes: Uint8Array): Promise<Error> {
  try {
    await readGguf(bytesSource(name, bytes));
  } catch (err) {
    return err as Error;
  }
  throw new Error('readGguf accepted a broken file');
}

const smallModel = {
  metadata: {
    'general.architecture': { type: 'string', value: 'llama' },
    'llama.block_count': { type: 'u32', value: 1 },
  },
  tensors: [
    { name: 'token_embd.weight', dtype: 'F32', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i - 5.5) },
    { name: 'blk.0.attn_q.weight', dtype: 'F16', shape: [2, 4], data: Float32Array.of(1, -2, 0.5, 65504, 2 ** -24, -0, 3, 7) },
    { name: 'output_norm.weight', dtype: 'F32', shape: [4], data: Float32Array.of(1, 2, 3, 4) },
  ],
} satisfies GgufInput;

describe('readGguf on real files', () => {
  it('reads stories260K.gguf: v3 llama, row-major shapes, F32 data equal to the llama2.c checkpoint', async () => {
    const bytes = fixture('stories260K.gguf');
    const source = recordingSource('stories260K.gguf', bytes);
    const gguf = await readGguf(source);
    expect(gguf.version).toBe(3);
    expect(gguf.alignment).toBe(32);
    expect(gguf.metadata['general.architecture']).toBe('llama');
    expect(gguf.metadata['llama.block_count']).toBe(5);
    expect(gguf.metadata['llama.embedding_length']).toBe(64);
    expect(gguf.metadata['llama.attention.head_count_kv']).toBe(4);
    expect(gguf.metadata['tokenizer.ggml.tokens']).toHaveLength(512);
    expect((gguf.metadata['tokenizer.ggml.tokens'] as string[])[1]).toBe('<s>');
    // 1e-5 is stored as an f32.
    expect(gguf.metadata['llama.attention.layer_norm_rms_epsilon']).toBe(Math.fround(1e-5));
    expect(gguf.tensors).toHaveLength(5 * 9 + 3);

    const byName = new Map(gguf.tensors.map((t) => [t.name, t]));
    expect(byName.get('token_embd.weight')).toMatchObject({ dtype: 'F32', shape: [512, 64], byteLength: 512 * 64 * 4 });
    expect(byName.get('blk.0.attn_k.weight')?.shape).toEqual([32, 64]);
    expect(byName.get('blk.0.ffn_down.weight')?.shape).toEqual([64, 172]);
    expect(byName.get('blk.0.ffn_up.weight')?.shape).toEqual([172, 64]);
    expect(byName.get('output_norm.weight')?.shape).toEqual([64]);
    // The last tensor ends exactly at the end of the file.
    const last = gguf.tensors.at(-1)!;
    expect(last.offset + last.byteLength).toBe(bytes.length);

    // Only the header was read (one 1 MiB chunk), never a byte of the tensor data.
    expect(source.reads).toEqual([[0, 1 << 20]]);

    // Reference values: the first floats of token_embedding and of layer 0's wq in
    // stories260K.bin, which PROVENANCE.md says is bit-identical to this file.
    const embd = await readTensorF32(byName.get('token_embd.weight')!);
    expect(Array.from(embd.subarray(0, 3))).toEqual([-0.29474878311157227, 0.5618956089019775, 0.1754225343465805]);
    const wq = await readTensorF32(byName.get('blk.0.attn_q.weight')!);
    expect(Array.from(wq.subarray(0, 3))).toEqual([0.04439278692007065, 0.07974770665168762, -0.008925346657633781]);
    // Row 1 of the embedding starts 64 floats in: checks the [vocab, dim] row-major reading.
    expect(embd[64]).not.toBe(embd[0]);
    for (const t of gguf.tensors.slice(0, 12)) expect((await readTensorF32(t)).every(Number.isFinite)).toBe(true);
  });

  it('reads llama-2-tiny-random.gguf: F16 weights decode to finite values, norms stay F32', async () => {
    const gguf = await readGguf(bytesSource('llama-2-tiny-random.gguf', fixture('llama-2-tiny-random.gguf')));
    expect(gguf.version).toBe(3);
    expect(gguf.metadata['llama.embedding_length']).toBe(8);
    expect(gguf.metadata['tokenizer.ggml.tokens']).toHaveLength(32000);
    const byName = new Map(gguf.tensors.map((t) => [t.name, t]));
    const q = byName.get('blk.0.attn_q.weight')!;
    expect(q).toMatchObject({ dtype: 'F16', shape: [8, 8], byteLength: 8 * 8 * 2 });
    expect(byName.get('token_embd.weight')).toMatchObject({ dtype: 'F16', shape: [32000, 8] });
    expect(byName.get('blk.0.attn_norm.weight')?.dtype).toBe('F32');
    expect(byName.has('output.weight')).toBe(true);
    for (const t of gguf.tensors) {
      const data = await readTensorF32(t);
      expect(data.length).toBe(t.shape.reduce((n, d) => n * d, 1));
      expect(data.every(Number.isFinite)).toBe(true);
      // Random weights are not all zero; an all-zero decode would mean a wrong offset.
      expect(data.some((x) => x !== 0)).toBe(true);
    }
  });
});

describe('writeGguf then readGguf', () => {
  it('round-trips every metadata type, including nested arrays and 64-bit values', async () => {
    const metadata: Record<string, GgufTypedValue> = {
      u8: { type: 'u8', value: 255 },
      i8: { type: 'i8', value: -128 },
      u16: { type: 'u16', value: 65535 },
      i16: { type: 'i16', value: -32768 },
      u32: { type: 'u32', value: 4294967295 },
      i32: { type: 'i32', value: -2147483648 },
      u64: { type: 'u64', value: 2n ** 64n - 1n },
      u64small: { type: 'u64', value: 12345 },
      i64: { type: 'i64', value: -(2n ** 63n) },
      i64small: { type: 'i64', value: -7 },
      f32: { type: 'f32', value: 0.1 },
      f64: { type: 'f64', value: 0.1 },
      t: { type: 'bool', value: true },
      f: { type: 'bool', value: false },
      text: { type: 'string', value: 'héllo ▁wörld 🦙' },
      empty: { type: 'string', value: '' },
      strings: { type: 'array', itemType: 'string', value: ['a', '', '<0x0A>'] },
      floats: { type: 'array', itemType: 'f32', value: [0.5, -1.25] },
      bools: { type: 'array', itemType: 'bool', value: [true, false] },
      ids: { type: 'array', itemType: 'i64', value: [1, -2, 2n ** 62n] },
      none: { type: 'array', itemType: 'u8', value: [] },
      nested: {
        type: 'array',
        itemType: 'array',
        value: [
          { type: 'array', itemType: 'i32', value: [1, 2] },
          { type: 'array', itemType: 'string', value: ['x'] },
        ],
      },
    };
    const gguf = await readGguf(bytesSource('synthetic.gguf', writeGguf({ metadata, tensors: [] })));
    expect(gguf.metadata).toEqual({
      u8: 255,
      i8: -128,
      u16: 65535,
      i16: -32768,
      u32: 4294967295,
      i32: -2147483648,
      u64: 2n ** 64n - 1n,
      u64small: 12345,
      i64: -(2n ** 63n),
      i64small: -7,
      f32: Math.fround(0.1),
      f64: 0.1,
      t: true,
      f: false,
      text: 'héllo ▁wörld 🦙',
      empty: '',
      strings: ['a', '', '<0x0A>'],
      floats: [0.5, -1.25],
      bools: [true, false],
      ids: [1, -2, 2n ** 62n],
      none: [],
      nested: [[1, 2], ['x']],
    });
    expect(gguf.tensors).toEqual([]);
  });

  it('round-trips F32 and F16 tensors at the default alignment', async () => {
    const bytes = writeGguf(smallModel);
    const gguf = await readGguf(bytesSource('small.gguf', bytes));
    expect(gguf.metadata).toEqual({ 'general.architecture': 'llama', 'llama.block_count': 1 });
    expect(gguf.alignment).toBe(32);
    expect(gguf.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(smallModel.tensors.map((t) => [t.name, t.dtype, t.shape]));
    for (const [i, t] of gguf.tensors.entries()) {
      expect(t.offset % 32).toBe(0);
      // Every value above is exactly representable in its dtype, so the round trip is exact.
      expect(await readTensorF32(t)).toEqual(smallModel.tensors[i].data);
    }
  });

  it('honours general.alignment for the data section and every tensor', async () => {
    const metadata = { ...smallModel.metadata, 'general.alignment': { type: 'u32', value: 256 } } as const;
    const gguf = await readGguf(bytesSource('aligned.gguf', writeGguf({ ...smallModel, metadata })));
    expect(gguf.alignment).toBe(256);
    expect(gguf.dataOffset % 256).toBe(0);
    for (const t of gguf.tensors) expect(t.offset % 256).toBe(0);
    expect(await readTensorF32(gguf.tensors[2])).toEqual(Float32Array.of(1, 2, 3, 4));
  });

  it('reads version 2, whose little-endian layout equals version 3', async () => {
    const gguf = await readGguf(bytesSource('v2.gguf', patchU32(writeGguf(smallModel), 4, 2)));
    expect(gguf.version).toBe(2);
    expect(await readTensorF32(gguf.tensors[0])).toEqual(smallModel.tensors[0].data);
  });

  it('grows its reads when the header is larger than the first chunk', async () => {
    // About 2.3 MB of vocabulary outgrows the first 1 MiB read and the next doubling.
    const tokens = Array.from({ length: 150_000 }, (_, i) => `token-${i}`);
    const n = 1 << 20;
    const bytes = writeGguf({
      metadata: { 'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: tokens } },
      tensors: [{ name: 'w', dtype: 'F32', shape: [n], data: new Float32Array(n).fill(0.25) }],
    });
    const source = recordingSource('big-header.gguf', bytes);
    const gguf = await readGguf(source);
    const read = gguf.metadata['tokenizer.ggml.tokens'] as string[];
    expect(read.length === tokens.length && read.every((t, i) => t === tokens[i])).toBe(true);
    expect(gguf.dataOffset).toBeGreaterThan(2 << 20);
    // Each read continues where the last ended and the total doubles, stopping well
    // short of the 4 MiB of tensor data at the end.
    const MiB = 1 << 20;
    expect(source.reads).toEqual([
      [0, MiB],
      [MiB, MiB],
      [2 * MiB, 2 * MiB],
    ]);
    expect(4 * MiB).toBeLessThan(bytes.length);
    expect((await readTensorF32(gguf.tensors[0])).every((x) => x === 0.25)).toBe(true);
  });
});

describe('ggmlTypeName', () => {
  it('names the ggml type ids', () => {
    const names = { 0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K' };
    for (const [id, name] of Object.entries(names)) expect(ggmlTypeName(Number(id))).toBe(name);
    expect([12, 14, 15, 24, 27, 28, 30].map(ggmlTypeName)).toEqual(['Q4_K', 'Q6_K', 'Q8_K', 'I8', 'I64', 'F64', 'BF16']);
    expect(ggmlTypeName(999)).toBeUndefined();
  });
});

describe('readGguf on broken files', () => {
  const good = writeGguf(smallModel);

  it('rejects a bad magic', async () => {
    const bytes = good.slice();
    bytes.set(encoder.encode('GGML'), 0);
    const err = await readError('model.bin', bytes);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/model\.bin.*bad magic/);
  });

  it('rejects version 1 and byte-swapped files', async () => {
    for (const version of [1, 0x03000000]) {
      const err = await readError('old.gguf', patchU32(good, 4, version));
      expect(err).toBeInstanceOf(CorruptFileError);
      expect(err.message).toMatch(/old\.gguf.*unsupported GGUF version/);
    }
  });

  it('reports "truncated" wherever the header is cut', async () => {
    const { dataOffset } = await readGguf(bytesSource('x', good));
    // The header ends in padding before dataOffset; cuts inside the padding do not
    // truncate the header and are caught as tensor data past the end instead.
    for (let cut = 0; cut < dataOffset; cut++) {
      const err = await readError('cut.gguf', good.subarray(0, cut));
      expect(err, `cut at ${cut}`).toBeInstanceOf(CorruptFileError);
      expect(err.message, `cut at ${cut}`).toMatch(/^cut\.gguf: (truncated|tensor .* past the end)/);
    }
  });

  it('rejects tensor data that runs past the end of the file', async () => {
    const err = await readError('short.gguf', good.subarray(0, good.length - 1));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/short\.gguf: tensor 'output_norm\.weight' data .* past the end/);
  });

  it('rejects a tensor offset outside the file', async () => {
    // The u64 offset is the last field of a tensor's directory entry, after its type.
    const at = indexOfText(good, 'output_norm.weight') + 'output_norm.weight'.length + 4 + 8 + 4;
    const err = await readError('offset.gguf', patchU64(good, at, 1n << 40n));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/offset\.gguf: tensor 'output_norm\.weight' data .* past the end/);
  });

  it('rejects absurd string lengths and counts without allocating them', async () => {
    const keyLength = indexOfText(good, 'general.architecture') - 8;
    const valueLength = indexOfText(good, 'llama\x11') - 8;
    const cases: [string, Uint8Array][] = [
      ['key length', patchU64(good, keyLength, 1n << 40n)],
      ['string value length', patchU64(good, valueLength, 2n ** 64n - 1n)],
      ['tensor count', patchU64(good, 8, 1n << 50n)],
      ['metadata count', patchU64(good, 16, 1n << 33n)],
    ];
    for (const [what, bytes] of cases) {
      const err = await readError('absurd.gguf', bytes);
      expect(err, what).toBeInstanceOf(CorruptFileError);
      expect(err.message, what).toMatch(/absurd\.gguf: (truncated|.* impossibly large)/);
    }
    const huge = writeGguf({ metadata: { a: { type: 'array', itemType: 'u32', value: [1, 2] } }, tensors: [] });
    const err = await readError('array.gguf', patchU64(huge, indexOfText(huge, 'a') + 1 + 4 + 4, 1n << 45n));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/array\.gguf: truncated: array count 35184372088832 does not fit/);
  });

  it('rejects arrays nested deeper than any real file', async () => {
    let value: GgufTypedValue = { type: 'array', itemType: 'u8', value: [1] };
    for (let depth = 1; depth < 9; depth++) value = { type: 'array', itemType: 'array', value: [value] };
    const err = await readError('deep.gguf', writeGguf({ metadata: { deep: value }, tensors: [] }));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/deep\.gguf: arrays nested more than 8 deep/);
    // One level less is still read.
    const ok = await readGguf(bytesSource('ok.gguf', writeGguf({ metadata: { deep: value.value[0] as GgufTypedValue }, tensors: [] })));
    expect(JSON.stringify(ok.metadata.deep)).toBe('[[[[[[[[1]]]]]]]]');
  });

  it('rejects an unknown metadata value type and duplicate keys', async () => {
    const typeAt = indexOfText(good, 'llama.block_count') + 'llama.block_count'.length;
    const err = await readError('type.gguf', patchU32(good, typeAt, 13));
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/type\.gguf: unknown metadata value type 13/);

    const twice = writeGguf({ metadata: { k: { type: 'u8', value: 1 }, l: { type: 'u8', value: 2 } }, tensors: [] });
    twice[indexOfText(twice, 'l\x00')] = 'k'.charCodeAt(0);
    const dupErr = await readError('dup.gguf', twice);
    expect(dupErr).toBeInstanceOf(CorruptFileError);
    expect(dupErr.message).toMatch(/dup\.gguf: duplicate metadata key 'k'/);
  });

  it('rejects unknown and removed tensor type ids with UnsupportedDtypeError', async () => {
    const typeAt = indexOfText(good, 'output_norm.weight') + 'output_norm.weight'.length + 4 + 8;
    for (const [id, pattern] of [
      [99, /unknown\.gguf: tensor 'output_norm\.weight' has unknown ggml type id 99/],
      [4, /unknown\.gguf: tensor 'output_norm\.weight' uses ggml type Q4_2 \(4\)/],
    ] as const) {
      const err = await readError('unknown.gguf', patchU32(good, typeAt, id));
      expect(err).toBeInstanceOf(UnsupportedDtypeError);
      expect(err.message).toMatch(pattern);
    }
  });

  it('lists quantized tensors with their block-based size, and refuses to widen them', async () => {
    // Q4_K: 256 elements per 144-byte block, so a [2, 512] tensor takes 2 * 2 * 144 bytes.
    const typeAt = indexOfText(good, 'output_norm.weight') + 'output_norm.weight'.length;
    let bytes = patchU32(good, typeAt, 2);
    bytes = patchU64(bytes, typeAt + 4, 512n);
    bytes = patchU64(bytes, typeAt + 12, 2n);
    bytes = patchU32(bytes, typeAt + 20, 12);
    const padded = new Uint8Array(bytes.length + 2 * 2 * 144);
    padded.set(bytes);
    const gguf = await readGguf(bytesSource('q.gguf', padded));
    const q = gguf.tensors[2];
    expect(q).toMatchObject({ dtype: 'Q4_K', shape: [2, 512], byteLength: 576 });
    await expect(readTensorF32(q)).rejects.toThrow(UnsupportedDtypeError);

    const ragged = patchU32(patchU64(bytes, typeAt + 4, 100n), typeAt + 20, 12);
    const err = await readError('ragged.gguf', ragged);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/rows of 100 elements are not whole Q4_K blocks of 256/);
  });

  it('rejects a non-power-of-two alignment', async () => {
    const bytes = writeGguf({ metadata: { 'general.alignment': { type: 'u32', value: 24 } }, tensors: [] });
    const err = await readError('align.gguf', bytes);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/align\.gguf: general\.alignment 24 is not a power of two/);
  });
});
