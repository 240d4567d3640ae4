import { describe, expect, it } from 'vitest';
import { readGguf } from './gguf.ts';
import { writeGguf, type GgufTensorInput } from './ggufWriter.ts';
import { quantizeRowK } from './kquant.ts';
import { quantizeRow } from './quant.ts';
import { bytesSource, readTensorF32 } from './source.ts';

function ramp(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * scale);
}

describe('writeGguf with pre-encoded tensors', () => {
  it('writes each tensor’s bytes unchanged, typed and aligned, beside encoded values', async () => {
    const q8 = quantizeRow('Q8_0', ramp(3 * 64));
    // 18-byte blocks: a tensor of odd length makes the next one need padding to the alignment.
    const q4 = quantizeRow('Q4_0', ramp(32, 2));
    const q6k = quantizeRowK('Q6_K', ramp(2 * 256, 0.5));
    const bf16 = quantizeRow('BF16', ramp(6));
    const tensors: GgufTensorInput[] = [
      { name: 'q8', dtype: 'Q8_0', shape: [3, 64], bytes: q8 },
      { name: 'q4', dtype: 'Q4_0', shape: [1, 32], bytes: q4 },
      { name: 'norm', dtype: 'F32', shape: [4], data: Float32Array.of(1, 2, 3, 4) },
      { name: 'q6k', dtype: 'Q6_K', shape: [2, 256], bytes: q6k },
      { name: 'bf16', dtype: 'BF16', shape: [2, 3], bytes: bf16 },
    ];
    const file = writeGguf({ metadata: {}, tensors });
    const gguf = await readGguf(bytesSource('encoded.gguf', file));
    expect(gguf.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['q8', 'Q8_0', [3, 64]],
      ['q4', 'Q4_0', [1, 32]],
      ['norm', 'F32', [4]],
      ['q6k', 'Q6_K', [2, 256]],
      ['bf16', 'BF16', [2, 3]],
    ]);
    for (const [i, bytes] of [q8, q4, undefined, q6k, bf16].entries()) {
      const t = gguf.tensors[i];
      expect((t.offset - gguf.dataOffset) % 32, t.name).toBe(0);
      if (bytes) expect(file.subarray(t.offset, t.offset + t.byteLength), t.name).toEqual(bytes);
    }
    expect(await readTensorF32(gguf.tensors[2])).toEqual(Float32Array.of(1, 2, 3, 4));
  });

  it('refuses bytes that are not the shape in that type, naming the tensor', () => {
    const write = (t: GgufTensorInput) => () => writeGguf({ metadata: {}, tensors: [t] });
    const q8 = quantizeRow('Q8_0', ramp(64));
    expect(write({ name: 'short', dtype: 'Q8_0', shape: [2, 32], bytes: q8.subarray(1) })).toThrow(/'short'.*67 bytes given, 68 needed/);
    // 64 values: the byte count of one row of 64, but rows of 16 cannot be whole Q8_0 blocks.
    expect(write({ name: 'ragged', dtype: 'Q8_0', shape: [4, 16], bytes: q8 })).toThrow(/'ragged'.*not whole blocks of 32/);
    // A Q4_K row must be whole super-blocks on its own, even when the total is 256 values.
    const q4k = quantizeRowK('Q4_K', ramp(256));
    expect(write({ name: 'split', dtype: 'Q4_K', shape: [2, 128], bytes: q4k })).toThrow(/'split'.*not whole blocks of 256/);
    expect(write({ name: 'f32', dtype: 'F32', shape: [3], bytes: new Uint8Array(8) })).toThrow(RangeError);
  });
});
