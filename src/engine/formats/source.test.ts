import { describe, expect, it } from 'vitest';
import { CorruptFileError, UnsupportedDtypeError } from '../../protocol/errors.ts';
import { blobSource, bytesSource, readTensorF32, type TensorInfo } from './source.ts';

const bytes = Uint8Array.from({ length: 16 }, (_, i) => i);

describe('bytesSource and blobSource', () => {
  for (const [kind, source] of [
    ['bytes', bytesSource('a.bin', bytes)],
    ['blob', blobSource('a.bin', new Blob([bytes]))],
  ] as const) {
    it(`${kind}: reads exact ranges and rejects reads past the end`, async () => {
      expect(source.size).toBe(16);
      expect(Array.from(await source.read(3, 4))).toEqual([3, 4, 5, 6]);
      expect(await source.read(16, 0)).toHaveLength(0);
      await expect(source.read(10, 7)).rejects.toThrow(CorruptFileError);
      await expect(source.read(10, 7)).rejects.toThrow(/a\.bin: truncated/);
    });
  }
});

describe('readTensorF32', () => {
  const data = new Uint8Array(new Float32Array([1.5, -2, 3, 4]).buffer);
  const source = bytesSource('w.bin', data);
  const tensor = (t: Partial<TensorInfo>): TensorInfo => ({
    name: 'w',
    dtype: 'F32',
    shape: [2, 2],
    source,
    offset: 0,
    byteLength: 16,
    ...t,
  });

  it('reads from the tensor offset', async () => {
    expect(await readTensorF32(tensor({ shape: [2], offset: 4, byteLength: 8 }))).toEqual(Float32Array.of(-2, 3));
  });

  it('refuses dtypes it cannot widen', async () => {
    for (const dtype of ['Q4_K', 'I64', 'F64']) {
      await expect(readTensorF32(tensor({ dtype }))).rejects.toThrow(UnsupportedDtypeError);
    }
    await expect(readTensorF32(tensor({ dtype: 'Q8_0' }))).rejects.toThrow(/w\.bin: tensor 'w' has dtype Q8_0/);
  });

  it('rejects a byte length that does not match the shape, and data past the end', async () => {
    await expect(readTensorF32(tensor({ byteLength: 12 }))).rejects.toThrow(CorruptFileError);
    await expect(readTensorF32(tensor({ offset: 4 }))).rejects.toThrow(/w\.bin: tensor 'w': bytes 4\.\.20 lie past the end/);
  });
});
