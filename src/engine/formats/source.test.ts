import { describe, expect, it } from 'vitest';
import { CorruptFileError, UnsupportedDtypeError } from '../../protocol/errors.ts';
import { f32ToBf16, f32ToF16 } from './dtype.ts';
import { blobSource, bytesSource, readTensorF32, readTensorF32Pieces, type TensorInfo } from './source.ts';

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

describe('readTensorF32Pieces', () => {
  // 37 values behind a 3-byte prefix, so reads start unaligned; pieces of 8 leave a short last one.
  const values = Float32Array.from({ length: 37 }, (_, i) => (i % 2 ? -1 : 1) * (i + 0.5));
  const encodings = {
    F32: new Uint8Array(values.buffer),
    F16: new Uint8Array(Uint16Array.from(values, f32ToF16).buffer),
    BF16: new Uint8Array(Uint16Array.from(values, f32ToBf16).buffer),
  };

  for (const [dtype, encoded] of Object.entries(encodings)) {
    it(`${dtype}: the pieces, in order, are readTensorF32's values`, async () => {
      const file = new Uint8Array(3 + encoded.length);
      file.set(encoded, 3);
      const reads: number[][] = [];
      const source = bytesSource('w.bin', file);
      const counting = { ...source, read: (offset: number, length: number) => (reads.push([offset, length]), source.read(offset, length)) };
      const t: TensorInfo = { name: 'w', dtype, shape: [37], source: counting, offset: 3, byteLength: encoded.length };
      const whole = await readTensorF32(t);
      reads.length = 0;
      const joined = new Float32Array(37);
      const firsts: number[] = [];
      await readTensorF32Pieces(t, 8, (piece, first) => {
        firsts.push(first);
        joined.set(piece, first);
      });
      expect(firsts).toEqual([0, 8, 16, 24, 32]);
      expect(joined).toEqual(whole);
      // Each piece reads only its own bytes.
      const size = encoded.length / 37;
      expect(reads).toEqual(firsts.map((first) => [3 + first * size, Math.min(8, 37 - first) * size]));
    });
  }

  it('checks the tensor before reading any of it', async () => {
    const source = bytesSource('w.bin', new Uint8Array(16));
    const use = () => expect.unreachable();
    await expect(readTensorF32Pieces({ name: 'w', dtype: 'Q4_K', shape: [4], source, offset: 0, byteLength: 16 }, 2, use)).rejects.toThrow(UnsupportedDtypeError);
    await expect(readTensorF32Pieces({ name: 'w', dtype: 'F32', shape: [4], source, offset: 4, byteLength: 16 }, 2, use)).rejects.toThrow(CorruptFileError);
    await expect(readTensorF32Pieces({ name: 'w', dtype: 'F32', shape: [4], source, offset: 0, byteLength: 16 }, 0, use)).rejects.toThrow(RangeError);
  });
});
