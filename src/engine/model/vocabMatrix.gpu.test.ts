import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, testGpu, withGpuErrors } from '../../../test/gpu.ts';
import { matmulTolerance } from '../../../test/matmul.ts';
import { embedding, matmulNT } from '../../../test/reference/linalg.ts';
import { readF32, uploadF32, uploadU32 } from '../../gpu/buffers.ts';
import type { Gpu } from '../../gpu/device.ts';
import type { KernelOp } from '../../gpu/kernel.ts';
import { CorruptFileError, DeviceLimitError } from '../../protocol/errors.ts';
import { dequantizeRowK, quantizeRowK } from '../formats/kquant.ts';
import { dequantizeRow, quantizeRow } from '../formats/quant.ts';
import { bytesSource, type TensorInfo } from '../formats/source.ts';
import { VocabMatrix, vocabRowBytes } from './vocabMatrix.ts';

type VocabType = 'F32' | 'F16' | 'Q8_0' | 'Q4_K';
const TYPES: VocabType[] = ['F32', 'F16', 'Q8_0', 'Q4_K'];
// One Q4_K super-block per row; the other types take the same width so every case is alike.
const K = 256;
// The tensor starts 6 bytes into its file, so chunk slices land at offsets of every residue mod 4.
const OFFSET = 6;

/** A random [V, K] matrix stored as `type` in a file, and the f32 values its stored bytes decode to. */
function makeMatrix(type: VocabType, V: number, seed: number): { t: TensorInfo; values: Float32Array } {
  // Rows of different scales, so the blocks of neighbouring rows (and chunks) differ.
  const x = randomF32(V * K, rng(seed)).map((v, i) => v * (0.25 + (Math.floor(i / K) % 5)));
  let bytes: Uint8Array;
  let values: Float32Array;
  if (type === 'F32') {
    bytes = new Uint8Array(x.buffer);
    values = x;
  } else if (type === 'Q4_K') {
    bytes = quantizeRowK(type, x);
    values = dequantizeRowK(type, bytes, V * K);
  } else {
    bytes = quantizeRow(type, x);
    values = dequantizeRow(type, bytes, V * K);
  }
  const file = new Uint8Array(OFFSET + bytes.byteLength + 3);
  file.set(bytes, OFFSET);
  const source = bytesSource('vocab.gguf', file);
  return { t: { name: 'token_embd.weight', dtype: type, shape: [V, K], source, offset: OFFSET, byteLength: bytes.byteLength }, values };
}

/*
 * f32 rows are copied and f16 values widen exactly; Q8_0 (an f16 scale times an int8) is exact
 * too. Q4_K's d·sc·q − dmin·m may be fused into one multiply-add by the GPU compiler, one
 * rounding of a product away from the CPU decode: ≤ 2^−24 of values below 5 here (3e−7). A
 * value from the wrong row or chunk is off by the data's own spread (≥ 1e−2).
 */
const ATOL: Record<VocabType, number> = { F32: 0, F16: 0, Q8_0: 0, Q4_K: 1e-6 };

/** Encodes an op in its own command buffer, counting its dispatches. */
function runCounting<D>(gpu: Gpu, op: KernelOp<D>, dyn: D): number {
  const encoder = gpu.device.createCommandEncoder({ label: op.label });
  const pass = encoder.beginComputePass({ label: op.label });
  let dispatches = 0;
  const counting = new Proxy(pass, {
    get(target, key) {
      if (key === 'dispatchWorkgroups') dispatches++;
      const value = target[key as keyof GPUComputePassEncoder];
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  op.encode(counting, dyn);
  pass.end();
  gpu.device.queue.submit([encoder.finish()]);
  return dispatches;
}

/**
 * Gathers `ids` and runs the LM head for one row (decode: row 2 of x) and for every row of x,
 * each against the float64 reference of the decoded values; returns the dispatch counts.
 */
async function checkMatrix(gpu: Gpu, type: VocabType, V: number, vm: VocabMatrix, values: Float32Array, ids: number[]): Promise<number[]> {
  const m = 3;
  const x = randomF32(m * K, rng(V + 1));
  const idb = uploadU32(gpu, 'ids', new Uint32Array(ids));
  // One row more than written, holding 9s that must survive.
  const out = uploadF32(gpu, 'out', new Float32Array((ids.length + 1) * K).fill(9));
  const xb = uploadF32(gpu, 'x', x);
  const logits = uploadF32(gpu, 'logits', new Float32Array(m * V + 1).fill(7));
  const embed = vm.createEmbedding({ ids: idb, out });
  const head = vm.createLogits({ x: xb, logits });
  try {
    const counts = [runCounting(gpu, embed, { m: ids.length })];
    const gathered = compare(await readF32(gpu, out), [...embedding(ids, values, K, V), ...new Array(K).fill(9)], ATOL[type]);
    expect(gathered.count, `embedding\n${gathered.table}`).toBe(0);

    counts.push(runCounting(gpu, head, { m: 1, xRowOffset: 2 }));
    const last = x.subarray(2 * K);
    const decode = compare(await readF32(gpu, logits), [...matmulNT(last, values, 1, K, V), ...new Array((m - 1) * V + 1).fill(7)], matmulTolerance(last, values, 1, K, V));
    expect(decode.count, `logits of one row\n${decode.table}`).toBe(0);
    expect([...(await head.read(1))]).toEqual([...(await readF32(gpu, logits, V))]);

    counts.push(runCounting(gpu, head, { m }));
    const all = compare(await head.read(m), matmulNT(x, values, m, K, V), matmulTolerance(x, values, m, K, V));
    expect(all.count, `logits of every row\n${all.table}`).toBe(0);
    expect((await readF32(gpu, logits, 1, m * V))[0]).toBe(7);
    return counts;
  } finally {
    embed.destroy();
    head.destroy();
    [idb, out, xb, logits].forEach((b) => b.destroy());
  }
}

describe('VocabMatrix', () => {
  test.each(TYPES)('%s: 512 rows forced into three uneven chunks gather and project as the whole matrix', async (type) => {
    const gpu = await testGpu();
    const V = 512;
    const { t, values } = makeMatrix(type, V, 3);
    await withGpuErrors(gpu, async () => {
      const vm = await VocabMatrix.upload(gpu, t, { limit: 200 * vocabRowBytes(t) });
      try {
        expect(vm.chunks.map((c) => [c.first, c.rows])).toEqual([[0, 192], [192, 192], [384, 128]]);
        // The first and last id of every chunk, ids past the vocabulary, and a repeat.
        const ids = [0, 191, 192, 383, 384, 511, V, 0xffffffff, 250, 191];
        expect(await checkMatrix(gpu, type, V, vm, values, ids)).toEqual([3, 3, 3]);
      } finally {
        vm.destroy();
      }
    });
  });

  test('a prime vocabulary ends in power-of-two pieces, each at a multiple of its size', async () => {
    const gpu = await testGpu();
    const V = 509;
    const { t, values } = makeMatrix('Q8_0', V, 4);
    await withGpuErrors(gpu, async () => {
      const vm = await VocabMatrix.upload(gpu, t, { limit: 200 * vocabRowBytes(t) });
      try {
        expect(vm.chunks.map((c) => [c.first, c.rows])).toEqual([[0, 168], [168, 168], [336, 168], [504, 4], [508, 1]]);
        const ids = [167, 168, 503, 504, 507, 508, V, 0];
        expect(await checkMatrix(gpu, 'Q8_0', V, vm, values, ids)).toEqual([5, 5, 5]);
      } finally {
        vm.destroy();
      }
    });
  });

  test("a matrix that fits is one buffer, one dispatch per op, under the tensor's name", async () => {
    const gpu = await testGpu();
    const V = 64;
    const { t, values } = makeMatrix('Q4_K', V, 5);
    await withGpuErrors(gpu, async () => {
      const vm = await VocabMatrix.upload(gpu, t);
      try {
        expect(vm.chunks.map((c) => [c.first, c.rows, c.buffer.label])).toEqual([[0, V, 'token_embd.weight']]);
        expect(vm.bytes).toBe(t.byteLength);
        expect(await checkMatrix(gpu, 'Q4_K', V, vm, values, [0, 63, 64, 5])).toEqual([1, 1, 1]);
      } finally {
        vm.destroy();
      }
    });
  });

  test('refuses a row over the limit (DeviceLimitError) and bytes that do not hold the shape (CorruptFileError)', async () => {
    const gpu = await testGpu();
    const { t } = makeMatrix('F16', 8, 6);
    await withGpuErrors(gpu, async () => {
      await expect(VocabMatrix.upload(gpu, t, { limit: 2 * K - 4 })).rejects.toThrow(DeviceLimitError);
      await expect(VocabMatrix.upload(gpu, { ...t, byteLength: t.byteLength - 2 }, { limit: 4 * K })).rejects.toThrow(CorruptFileError);
    });
  });
});
