import { describe, expect, it } from 'vitest';
import { UnsupportedDtypeError } from '../../protocol/errors.ts';
import { bytesSource, type TensorInfo } from '../formats/source.ts';
import { gpuWeightBytes, weightStorage } from './gpuWeights.ts';

const source = bytesSource('model.gguf', new Uint8Array(0));
const tensor = (dtype: string, shape: number[], byteLength = 0): TensorInfo => ({ name: 'blk.0.attn_q.weight', dtype, shape, source, offset: 0, byteLength });

describe('weightStorage', () => {
  it('keeps matrices of the packed types in their bytes and widens F32 and every vector to f32', () => {
    expect(weightStorage(tensor('F32', [4, 4]))).toEqual({ kind: 'f32' });
    expect(weightStorage(tensor('F16', [4]))).toEqual({ kind: 'f32' });
    expect(weightStorage(tensor('BF16', [4]))).toEqual({ kind: 'f32' });
    for (const type of ['F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1']) expect(weightStorage(tensor(type, [4, 32]))).toEqual({ kind: 'packed', type });
    for (const type of ['Q4_K', 'Q5_K', 'Q6_K']) expect(weightStorage(tensor(type, [4, 256]))).toEqual({ kind: 'kquant', type });
  });

  it('refuses the types no kernel reads, naming the tensor and what does run', () => {
    expect(() => weightStorage(tensor('Q3_K', [4, 256]))).toThrow(UnsupportedDtypeError);
    expect(() => weightStorage(tensor('Q3_K', [4, 256]))).toThrow(/model\.gguf: tensor 'blk\.0\.attn_q\.weight' is Q3_K; Pocket Hub runs F32, F16, BF16, Q8_0.*Q6_K weights/);
    expect(() => weightStorage(tensor('IQ4_XS', [4, 256]))).toThrow(UnsupportedDtypeError);
    // rmsnorm reads f32: a quantized vector would need a widening path that real files never need.
    expect(() => weightStorage(tensor('Q8_0', [32]))).toThrow(/vectors \(norm weights\) in F32, F16 or BF16 only/);
  });
});

describe('gpuWeightBytes', () => {
  it('counts widened weights at 4 bytes a value and packed ones at their bytes, padded to a word', () => {
    expect(gpuWeightBytes(tensor('F32', [3, 5], 60))).toBe(60);
    expect(gpuWeightBytes(tensor('BF16', [5], 10))).toBe(20);
    expect(gpuWeightBytes(tensor('BF16', [3, 3], 18))).toBe(20);
    expect(gpuWeightBytes(tensor('Q4_0', [3, 32], 54))).toBe(56);
    expect(gpuWeightBytes(tensor('Q6_K', [1, 256], 210))).toBe(212);
    // A type the engine refuses counts at its file size, so a model page can still size it.
    expect(gpuWeightBytes(tensor('Q3_K', [2, 256], 220))).toBe(220);
  });
});
