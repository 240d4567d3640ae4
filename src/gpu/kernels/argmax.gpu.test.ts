import { describe, expect, test } from 'vitest';
import { randomF32, rng, runOp, testGpu, withGpuErrors } from '../../../test/gpu.ts';
import { argmax } from '../../../test/reference/linalg.ts';
import { readU32, uploadF32, uploadU32 } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import { createArgmax } from './argmax.ts';

async function argmaxOnGpu(gpu: Gpu, logits: Float32Array, N: number, rowOffsets: number[]): Promise<number[]> {
  const lb = uploadF32(gpu, 'logits', logits);
  const ob = uploadU32(gpu, 'out', new Uint32Array([0xdead]));
  const op = createArgmax(gpu, { logits: lb, out: ob, N });
  const found: number[] = [];
  // Each row in its own submit, so the row offset must be rewritten between them.
  for (const rowOffset of rowOffsets) {
    runOp(gpu, op, { rowOffset });
    found.push((await readU32(gpu, ob, 1))[0]);
  }
  op.destroy();
  [lb, ob].forEach((b) => b.destroy());
  return found;
}

// Indices are compared exactly: the kernel only compares values, it never rounds.
describe('argmax', () => {
  test('finds the first maximum of each row, with ties across invocations', async () => {
    const gpu = await testGpu();
    const N = 1000;
    const logits = randomF32(3 * N, rng(41));
    // Row 0: the maximum at the last index. Row 1: tied maxima at 700, 300 and 301
    // (invocations 44 and 45 on their second strided pass, 188 on its third).
    logits[N - 1] = 5;
    logits[N + 700] = 4;
    logits[N + 300] = 4;
    logits[N + 301] = 4;
    // Row 2: a tie inside one invocation's strided run (indices 9 and 9 + 256).
    logits[2 * N + 9 + 256] = 3;
    logits[2 * N + 9] = 3;
    const expected = [0, 1, 2].map((r) => argmax(logits, r * N, N));
    expect(expected).toEqual([N - 1, 300, 9]);
    expect(await withGpuErrors(gpu, () => argmaxOnGpu(gpu, logits, N, [0, 1, 2]))).toEqual(expected);
  });

  test('rows shorter than the workgroup, all equal, or all -inf pick index 0 or the first maximum', async () => {
    const gpu = await testGpu();
    const N = 5;
    const logits = new Float32Array([1, 2, 7, 7, -1, 0, 0, 0, 0, 0, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity]);
    const expected = [0, 1, 2].map((r) => argmax(logits, r * N, N));
    expect(expected).toEqual([2, 0, 0]);
    expect(await withGpuErrors(gpu, () => argmaxOnGpu(gpu, logits, N, [0, 1, 2]))).toEqual(expected);
  });
});
