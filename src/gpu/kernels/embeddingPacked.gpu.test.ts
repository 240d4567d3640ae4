import { describe, expect, test } from 'vitest';
import { dequantizeRowK, K_TYPES, kquantByteLength, quantizeRowK, type KType } from '../../engine/formats/kquant.ts';
import { dequantizeRow, PACKED_TYPES, quantizeRow, type PackedType } from '../../engine/formats/quant.ts';
import { compare, randomF32, rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { embedding } from '../../../test/reference/linalg.ts';
import { readF32, uploadF32, uploadU32 } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import { createPackedEmbedding } from './embeddingPacked.ts';
import { uploadKQuantWeight } from './kquantMatmul.ts';
import { uploadPackedWeight } from './packedWeights.ts';

type TableType = PackedType | KType;
const TYPES: TableType[] = [...(Object.keys(PACKED_TYPES) as PackedType[]), ...(Object.keys(K_TYPES) as KType[])];
const isK = (type: TableType): type is KType => Object.hasOwn(K_TYPES, type);
// K-quant rows are whole 256-value super-blocks; the block types take two 32-value blocks and a
// half; the 16-bit floats 37 values, so odd rows start mid-word and every row ends inside a run of 8.
const dOf = (type: TableType) => (isK(type) ? 256 : PACKED_TYPES[type].blockElements === 1 ? 37 : 96);
const V = 6;

/** A random [V, D] table in `type`, its GGUF bytes and the f32 values ggml's dequantize_row_* gives. */
function makeTable(type: TableType, D: number, seed: number): { bytes: Uint8Array; values: Float32Array } {
  // Rows of different scales and offsets, so blocks get distinct scales and minima.
  const x = randomF32(V * D, rng(seed)).map((v, i) => (v + (Math.floor(i / D) % 3 === 1 ? 0.5 : 0)) * (0.5 + (Math.floor(i / D) % 4)));
  const bytes = isK(type) ? quantizeRowK(type, x) : quantizeRow(type, x);
  return { bytes, values: isK(type) ? dequantizeRowK(type, bytes, V * D) : dequantizeRow(type, bytes, V * D) };
}

function upload(gpu: Gpu, type: TableType, bytes: Uint8Array, D: number): GPUBuffer {
  return isK(type) ? uploadKQuantWeight(gpu, 'table', type, bytes, V, D) : uploadPackedWeight(gpu, 'table', type, bytes, V, D);
}

/*
 * The kernel decodes with the f32 operations of ggml's dequantize_row_* (a level times a scale,
 * less a minimum), so each value equals dequantizeRow's up to a fused multiply-add the GPU
 * compiler may form: one rounding of a product, ≤ 2^−24 of values below 4 here (6e−8 × 4). The
 * 1e−6 allows that four times over; a wrong nibble, scale or row is off by a block's step (≥ 1e−2).
 */
const ATOL = 1e-6;

describe('packed embedding', () => {
  test.each(TYPES)('%s: gathers decoded rows, zeros for ids out of range, nothing past m', async (type) => {
    const gpu = await testGpu();
    const D = dOf(type);
    const { bytes, values } = makeTable(type, D, 7);
    const ids = [3, 0, V - 1, V, 0xffffffff, 1, 3];
    const m = ids.length;
    await withGpuErrors(gpu, async () => {
      const idb = uploadU32(gpu, 'ids', new Uint32Array(ids));
      const tb = upload(gpu, type, bytes, D);
      const ob = uploadF32(gpu, 'out', new Float32Array((m + 1) * D).fill(9));
      const op = createPackedEmbedding(gpu, { ids: idb, table: tb, out: ob, type, D, V });
      expect(op.label).toBe(`embed_${type.toLowerCase()}_wg256`);
      runOp(gpu, op, { m });
      const actual = await readF32(gpu, ob);
      const r = compare(actual, [...embedding(ids, values, D, V), ...new Array(D).fill(9)], ATOL);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [idb, tb, ob].forEach((b) => b.destroy());
    });
  });

  test('a dispatch split over x and y writes every value once', async () => {
    const gpu = await testGpu();
    const type = 'Q6_K';
    const { bytes, values } = makeTable(type, 256, 9);
    // 9 tokens × 32 runs of 8 = 288 invocations, two workgroups dispatched as 1 × 2.
    const ids = Array.from({ length: 9 }, (_, i) => (i * 5) % V);
    await withGpuErrors(gpu, async () => {
      const idb = uploadU32(gpu, 'ids', new Uint32Array(ids));
      const tb = upload(gpu, type, bytes, 256);
      const ob = uploadF32(gpu, 'out', new Float32Array(ids.length * 256 + 1).fill(9));
      const op = createPackedEmbedding(withDispatchLimit(gpu, 1), { ids: idb, table: tb, out: ob, type, D: 256, V });
      runOp(gpu, op, { m: ids.length });
      const r = compare(await readF32(gpu, ob), [...embedding(ids, values, 256, V), 9], ATOL);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [idb, tb, ob].forEach((b) => b.destroy());
    });
  });

  test('a table too small for [V, D], or K-quant rows not whole super-blocks, throw a RangeError', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const idb = uploadU32(gpu, 'ids', new Uint32Array(1));
      const ob = uploadF32(gpu, 'out', new Float32Array(512));
      const tb = uploadKQuantWeight(gpu, 'table', 'Q4_K', new Uint8Array(kquantByteLength('Q4_K', 256)), 1, 256);
      expect(() => createPackedEmbedding(gpu, { ids: idb, table: tb, out: ob, type: 'Q4_K', D: 256, V: 2 })).toThrow(RangeError);
      expect(() => createPackedEmbedding(gpu, { ids: idb, table: tb, out: ob, type: 'Q4_K', D: 128, V: 1 })).toThrow(RangeError);
      expect(() => createPackedEmbedding(gpu, { ids: idb, table: tb, out: ob, type: 'Q8_0', D: 256, V: 5 })).toThrow(RangeError);
      [idb, tb, ob].forEach((b) => b.destroy());
    });
  });
});
