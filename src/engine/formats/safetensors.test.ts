import { describe, expect, it } from 'vitest';
import { CorruptFileError, MissingFileError, UnsupportedDtypeError } from '../../protocol/errors.ts';
import { readSafetensors, readShardedSafetensors } from './safetensors.ts';
import { writeSafetensors } from './safetensorsWriter.ts';
import { type ByteSource, bytesSource, readTensorF32 } from './source.ts';

const tensors = [
  { name: 'model.embed_tokens.weight', dtype: 'F32' as const, shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
  { name: 'model.norm.weight', dtype: 'F16' as const, shape: [3], data: Float32Array.of(0.5, -65504, 2 ** -24) },
  { name: 'lm_head.weight', dtype: 'BF16' as const, shape: [1, 3], data: Float32Array.of(-3.140625, 1, 2 ** -133) },
];

/** A file with the given raw JSON header (padded like the writer pads) and `dataBytes` zero bytes after it. */
function withHeader(header: unknown, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

async function readError(bytes: Uint8Array, name = 'model.safetensors'): Promise<Error> {
  try {
    await readSafetensors(bytesSource(name, bytes));
  } catch (err) {
    return err as Error;
  }
  throw new Error('readSafetensors accepted a broken file');
}

describe('writeSafetensors then readSafetensors', () => {
  it('round-trips F32, F16 and BF16 tensors and the metadata', async () => {
    const bytes = writeSafetensors(tensors, { format: 'pt' });
    const file = await readSafetensors(bytesSource('model.safetensors', bytes));
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength])).toEqual([
      ['model.embed_tokens.weight', 'F32', [3, 2], 24],
      ['model.norm.weight', 'F16', [3], 6],
      ['lm_head.weight', 'BF16', [1, 3], 6],
    ]);
    // Every value is exactly representable in its dtype, so the round trip is exact.
    for (const [i, t] of file.tensors.entries()) expect(await readTensorF32(t)).toEqual(tensors[i].data);
  });

  it('pads the header with spaces to a multiple of 8', () => {
    for (const name of ['a', 'ab', 'abc', 'abcdefgh']) {
      const bytes = writeSafetensors([{ name, dtype: 'F32', shape: [1], data: Float32Array.of(1) }]);
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      expect(headerLength % 8).toBe(0);
      const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
      expect(header).toMatch(/^\{.*\} *$/);
      expect(JSON.parse(header)).toEqual({ [name]: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    }
  });

  it('lists dtypes it cannot widen, and readTensorF32 refuses them', async () => {
    const bytes = withHeader({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, 16);
    const { tensors: [ids] } = await readSafetensors(bytesSource('ids.safetensors', bytes));
    expect(ids).toMatchObject({ dtype: 'I64', shape: [2], byteLength: 16 });
    await expect(readTensorF32(ids)).rejects.toThrow(UnsupportedDtypeError);
  });
});

describe('readSafetensors on broken files', () => {
  const entry = (extra: object) => ({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16], ...extra } });

  it('rejects a file too short for the header length', async () => {
    const err = await readError(new Uint8Array(5), 'tiny.safetensors');
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/tiny\.safetensors: truncated/);
  });

  it('rejects a header length past the end of the file', async () => {
    const bytes = withHeader(entry({}), 16);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
    const err = await readError(bytes);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/model\.safetensors: truncated: the header claims/);
  });

  it('rejects a header length above 100 MB before reading it', async () => {
    const bytes = withHeader(entry({}), 16);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 63n, true);
    const err = await readError(bytes);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/exceeds the 100 MB limit/);
  });

  it('rejects a header that is not JSON, or not a JSON object', async () => {
    for (const header of ['{"w": {"dtype": "F32"', '[1, 2]', '\xff\xfe']) {
      const err = await readError(withHeader(header, 0));
      expect(err, header).toBeInstanceOf(CorruptFileError);
      expect(err.message, header).toMatch(/model\.safetensors: the header is not (valid JSON|a JSON object)/);
    }
  });

  it('rejects an unknown dtype', async () => {
    const err = await readError(withHeader(entry({ dtype: 'Q4_K' }), 16));
    expect(err).toBeInstanceOf(UnsupportedDtypeError);
    expect(err.message).toMatch(/model\.safetensors: tensor 'w' has unknown dtype Q4_K/);
  });

  it('rejects data_offsets outside the data, reversed, or not matching dtype x shape', async () => {
    const cases: [object, number, RegExp][] = [
      [entry({ data_offsets: [0, 32] }), 16, /tensor 'w' data_offsets \[0, 32\] lie outside the 16 data bytes/],
      [entry({ data_offsets: [16, 0] }), 16, /lie outside/],
      [entry({ data_offsets: [0, 12] }), 16, /tensor 'w' spans 12 bytes but F32\[2, 2\] needs 16/],
      [entry({ dtype: 'F16' }), 16, /spans 16 bytes but F16\[2, 2\] needs 8/],
      [entry({ data_offsets: [0] }), 16, /invalid data_offsets/],
      [entry({ data_offsets: [-4, 12] }), 16, /invalid data_offsets/],
      [entry({ shape: [2, -2] }), 16, /invalid shape/],
      [entry({ shape: [2.5] }), 16, /invalid shape/],
      [{ w: 'F32' }, 0, /tensor 'w' is not an object/],
      [{ __metadata__: { n: 1 } }, 0, /__metadata__\.n is not a string/],
    ];
    for (const [header, dataBytes, pattern] of cases) {
      const err = await readError(withHeader(header, dataBytes));
      expect(err, JSON.stringify(header)).toBeInstanceOf(CorruptFileError);
      expect(err.message, JSON.stringify(header)).toMatch(pattern);
    }
  });
});

describe('readShardedSafetensors', () => {
  const shard1 = writeSafetensors([tensors[0], tensors[1]]);
  const shard2 = writeSafetensors([tensors[2]]);
  const files = new Map([
    ['model-00001-of-00002.safetensors', shard1],
    ['model-00002-of-00002.safetensors', shard2],
  ]);
  const index = {
    metadata: { total_size: 36 },
    weight_map: {
      'lm_head.weight': 'model-00002-of-00002.safetensors',
      'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
      'model.norm.weight': 'model-00001-of-00002.safetensors',
    },
  };

  function opener(available: Map<string, Uint8Array>) {
    const opened: string[] = [];
    const open = async (file: string): Promise<ByteSource> => {
      opened.push(file);
      const bytes = available.get(file);
      if (!bytes) throw new MissingFileError(`test model lists shard ${file} in its index, but the file is missing.`);
      return bytesSource(file, bytes);
    };
    return { open, opened };
  }

  it('reads every tensor from its shard, opening each shard once', async () => {
    const { open, opened } = opener(files);
    const result = await readShardedSafetensors(index, open);
    expect(result.map((t) => [t.name, t.source.name])).toEqual(Object.entries(index.weight_map));
    expect(opened.sort()).toEqual([...files.keys()]);
    const byName = new Map(result.map((t) => [t.name, t]));
    for (const t of tensors) expect(await readTensorF32(byName.get(t.name)!)).toEqual(t.data);
  });

  it('passes on the error of a missing shard', async () => {
    const { open } = opener(new Map([...files].slice(0, 1)));
    await expect(readShardedSafetensors(index, open)).rejects.toThrow(MissingFileError);
    await expect(readShardedSafetensors(index, open)).rejects.toThrow(/model-00002-of-00002\.safetensors/);
  });

  it('rejects a tensor that the index places in a shard which lacks it', async () => {
    const { open } = opener(files);
    const wrong = { weight_map: { ...index.weight_map, 'model.norm.weight': 'model-00002-of-00002.safetensors' } };
    const err = await readShardedSafetensors(wrong, open).catch((e: Error) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as Error).message).toMatch(
      /model-00002-of-00002\.safetensors: the index places tensor 'model\.norm\.weight' in this shard, but it is not there/,
    );
  });

  it('rejects an index without a weight_map of file names', async () => {
    const { open } = opener(files);
    for (const bad of [null, [], {}, { weight_map: [] }, { weight_map: { w: 3 } }]) {
      await expect(readShardedSafetensors(bad, open), JSON.stringify(bad)).rejects.toThrow(CorruptFileError);
    }
  });
});
