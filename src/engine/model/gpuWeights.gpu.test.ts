import { describe, expect, test } from 'vitest';
import { readBuffer } from '../../gpu/buffers.ts';
import { CorruptFileError } from '../../protocol/errors.ts';
import { rng, testGpu, withGpuErrors } from '../../../test/gpu.ts';
import { bytesSource, type ByteSource, type TensorInfo } from '../formats/source.ts';
import { uploadWeight } from './gpuWeights.ts';

/** A source over `bytes` that records the length of every read. */
function recording(bytes: Uint8Array): { source: ByteSource; reads: number[] } {
  const inner = bytesSource('model.gguf', bytes);
  const reads: number[] = [];
  return {
    reads,
    source: {
      name: inner.name,
      size: inner.size,
      read(offset, length) {
        reads.push(length);
        return inner.read(offset, length);
      },
    },
  };
}

describe('uploadWeight of a packed matrix', () => {
  test('copies the file bytes unchanged, in pieces of at most 4 MiB, padding the ragged end', async () => {
    const gpu = await testGpu();
    // Q4_0 [233017, 32]: 18-byte rows, 4 MiB + 2 bytes in all, after a 6-byte offset into the file.
    const N = 233017;
    const size = N * 18;
    const random = rng(3);
    const file = Uint8Array.from({ length: 6 + size }, () => Math.floor(random() * 256));
    const { source, reads } = recording(file);
    const t: TensorInfo = { name: 'w', dtype: 'Q4_0', shape: [N, 32], source, offset: 6, byteLength: size };
    await withGpuErrors(gpu, async () => {
      const buffer = await uploadWeight(gpu, t);
      expect(buffer.size).toBe(size + 2);
      expect(reads).toEqual([4 * 2 ** 20, 2]);
      const back = new Uint8Array(await readBuffer(gpu, buffer));
      expect(back.subarray(0, size).findIndex((b, i) => b !== file[6 + i])).toBe(-1);
      expect([...back.subarray(size)]).toEqual([0, 0]);
      buffer.destroy();
    });
  });

  test('bytes that do not hold the shape in its type are a CorruptFileError', async () => {
    const gpu = await testGpu();
    const source = bytesSource('model.gguf', new Uint8Array(300));
    await expect(uploadWeight(gpu, { name: 'w', dtype: 'Q6_K', shape: [1, 256], source, offset: 0, byteLength: 208 })).rejects.toThrow(CorruptFileError);
    await expect(uploadWeight(gpu, { name: 'w', dtype: 'Q6_K', shape: [1, 256], source, offset: 100, byteLength: 210 })).rejects.toThrow(/past the end/);
  });
});
