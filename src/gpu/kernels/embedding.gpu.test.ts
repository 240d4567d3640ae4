import { describe, expect, test } from 'vitest';
import { randomF32, rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { embedding } from '../../../test/reference/linalg.ts';
import { readF32, uploadF32, uploadU32 } from '../buffers.ts';
import { createEmbedding, embeddingRows } from './embedding.ts';

/**
 * The same device, reporting a tiny maxComputeWorkgroupsPerDimension so that a
 * small dispatch takes the 2-D split a long prompt would need; reaching the real
 * limit of 65535 would take SwiftShader minutes.
 */

// A lookup copies f32 values, so every comparison here is exact.
describe('embedding', () => {
  const [V, D] = [50, 37];

  test('gathers rows, writes zeros for ids out of range, and touches no row past m', async () => {
    const gpu = await testGpu();
    const table = randomF32(V * D, rng(5));
    const ids = [3, 0, V - 1, V, 0xffffffff, 7, 3];
    const m = ids.length;
    await withGpuErrors(gpu, async () => {
      const idb = uploadU32(gpu, 'ids', new Uint32Array(ids));
      const tb = uploadF32(gpu, 'table', table);
      const ob = uploadF32(gpu, 'out', new Float32Array((m + 1) * D).fill(9));
      const op = createEmbedding(gpu, { ids: idb, table: tb, out: ob, D, V });
      expect(op.label).toBe('embedding_f32_wg256');
      runOp(gpu, op, { m });
      expect([...(await readF32(gpu, ob))]).toEqual([...embedding(ids, table, D, V), ...new Array(D).fill(9)]);
      op.destroy();
      [idb, tb, ob].forEach((b) => b.destroy());
    });
  });

  test('one op encoded in two submits with different m and ids', async () => {
    const gpu = await testGpu();
    const table = randomF32(V * D, rng(6));
    await withGpuErrors(gpu, async () => {
      const idb = uploadU32(gpu, 'ids', new Uint32Array([1, 2, 3, 4, 5, 6, 7]));
      const tb = uploadF32(gpu, 'table', table);
      const ob = uploadF32(gpu, 'out', new Float32Array(7 * D));
      const op = createEmbedding(gpu, { ids: idb, table: tb, out: ob, D, V });
      runOp(gpu, op, { m: 7 });
      gpu.device.queue.writeBuffer(idb, 0, new Uint32Array([40, 41]));
      runOp(gpu, op, { m: 2 });
      const expected = embedding([40, 41, 3, 4, 5, 6, 7], table, D, V);
      expect([...(await readF32(gpu, ob))]).toEqual([...expected]);
      op.destroy();
      [idb, tb, ob].forEach((b) => b.destroy());
    });
  });

  test('a dispatch split over x and y writes every element once', async () => {
    const gpu = await testGpu();
    const table = randomF32(V * D, rng(8));
    // 37 rows × 37 = 1369 elements = 6 workgroups of 256, dispatched as 4 × 2.
    const ids = Array.from({ length: 37 }, (_, i) => (i * 7) % V);
    await withGpuErrors(gpu, async () => {
      const idb = uploadU32(gpu, 'ids', new Uint32Array(ids));
      const tb = uploadF32(gpu, 'table', table);
      const ob = uploadF32(gpu, 'out', new Float32Array(ids.length * D + 1).fill(9));
      const op = createEmbedding(withDispatchLimit(gpu, 4), { ids: idb, table: tb, out: ob, D, V });
      runOp(gpu, op, { m: ids.length });
      expect([...(await readF32(gpu, ob))]).toEqual([...embedding(ids, table, D, V), 9]);
      op.destroy();
      [idb, tb, ob].forEach((b) => b.destroy());
    });
  });

  test('chunks of a split table each write only the rows of their ids; the last one zeroes ids past the vocabulary', async () => {
    const gpu = await testGpu();
    const table = randomF32(V * D, rng(9));
    // Rows 0..29 and 30..49 of the 50, ids at both edges of each, past the end, and a repeat.
    const ids = [0, 29, 30, V - 1, V, 0xffffffff, 29];
    const m = ids.length;
    await withGpuErrors(gpu, async () => {
      const idb = uploadU32(gpu, 'ids', new Uint32Array(ids));
      const low = uploadF32(gpu, 'low', table.subarray(0, 30 * D));
      const high = uploadF32(gpu, 'high', table.subarray(30 * D));
      const ob = uploadF32(gpu, 'out', new Float32Array(m * D).fill(9));
      const lowOp = createEmbedding(gpu, { ids: idb, table: low, out: ob, D, V: 30, chunk: { first: 0, vocab: V } });
      const highOp = createEmbedding(gpu, { ids: idb, table: high, out: ob, D, V: 20, chunk: { first: 30, vocab: V } });
      runOp(gpu, lowOp, { m });
      // Only the rows of ids 0..29 are written; the others keep their 9s until their chunk runs.
      const afterLow = embedding(ids, table, D, V).map((v, j) => (ids[Math.floor(j / D)] < 30 ? v : 9));
      expect([...(await readF32(gpu, ob))]).toEqual([...afterLow]);
      runOp(gpu, highOp, { m });
      expect([...(await readF32(gpu, ob))]).toEqual([...embedding(ids, table, D, V)]);
      [lowOp, highOp].forEach((op) => op.destroy());
      [idb, low, high, ob].forEach((b) => b.destroy());
    });
  });

  test('a chunk must lie inside its vocabulary', () => {
    expect(embeddingRows(20, { first: 30, vocab: 50 })).toEqual({ first: 30, rows: 20, vocab: 50 });
    expect(embeddingRows(50)).toEqual({ first: 0, rows: 50, vocab: 50 });
    expect(() => embeddingRows(21, { first: 30, vocab: 50 })).toThrow(RangeError);
    expect(() => embeddingRows(0)).toThrow(RangeError);
  });
});
