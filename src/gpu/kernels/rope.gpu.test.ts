import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withGpuErrors } from '../../../test/gpu.ts';
import { ropeRef, type RopeMode } from '../../../test/reference/attention.ts';
import { createStorage, readF32, uploadF32 } from '../buffers.ts';
import { createRope } from './rope.ts';

// Inputs lie in [-1, 1] and the angle is the same f32 number on both sides (the reference
// forms it in f32 like the kernel), so what remains is the kernel's ~1 ulp cos/sin polynomial,
// its range reduction and two rounded products: measured max |diff| 1.3e-7 in both Chromium
// and Dawn. 1e-6 leaves room for other drivers' rounding; a wrong pair, frequency or position
// moves some output by at least theta^-1 = 1e-4 (1e-6 only for theta 1e6's slowest pair).
const ATOL = 1e-6;

interface Case {
  mode: RopeMode;
  m: number;
  nHeads: number;
  headDim: number;
  ropeDim: number;
  theta: number;
  pos0: number;
}

describe('rope', () => {
  const outOfPlace: (Case & { outRowOffset: number; rows: number })[] = [
    { mode: 'adjacent', m: 5, nHeads: 3, headDim: 16, ropeDim: 16, theta: 10000, pos0: 11, outRowOffset: 11, rows: 20 },
    { mode: 'halves', m: 4, nHeads: 2, headDim: 24, ropeDim: 8, theta: 1e6, pos0: 300, outRowOffset: 300, rows: 305 },
    { mode: 'adjacent', m: 3, nHeads: 4, headDim: 64, ropeDim: 32, theta: 500000, pos0: 7, outRowOffset: 2, rows: 6 },
  ];
  for (const c of outOfPlace) {
    test(`${c.mode} ropeDim ${c.ropeDim}/${c.headDim} into rows ${c.outRowOffset}.. of out, positions from ${c.pos0}`, async () => {
      const gpu = await testGpu();
      const random = rng(c.m * 1000 + c.headDim + c.pos0);
      const rowLen = c.nHeads * c.headDim;
      const x = randomF32(c.m * rowLen, random);
      const sentinel = 12345;
      const got = await withGpuErrors(gpu, async () => {
        const xBuf = uploadF32(gpu, 'x', x);
        const outBuf = uploadF32(gpu, 'out', new Float32Array(c.rows * rowLen).fill(sentinel));
        // A full-width case leaves ropeDim out, to check that it defaults to headDim.
        const ropeDim = c.ropeDim < c.headDim ? c.ropeDim : undefined;
        const op = createRope(gpu, { x: xBuf, out: outBuf, nHeads: c.nHeads, headDim: c.headDim, ropeDim, theta: c.theta, mode: c.mode });
        runOp(gpu, op, { m: c.m, pos0: c.pos0, outRowOffset: c.outRowOffset });
        const result = await readF32(gpu, outBuf);
        op.destroy();
        xBuf.destroy();
        outBuf.destroy();
        return result;
      });
      const expected = ropeRef(x, c);
      const written = got.subarray(c.outRowOffset * rowLen, (c.outRowOffset + c.m) * rowLen);
      const mismatch = compare(written, expected, ATOL);
      expect(mismatch.count, mismatch.table).toBe(0);
      // Rows outside outRowOffset .. outRowOffset+m-1 are left alone.
      const others = [...got.subarray(0, c.outRowOffset * rowLen), ...got.subarray((c.outRowOffset + c.m) * rowLen)];
      expect(others.every((v) => v === sentinel)).toBe(true);
    });
  }

  const inPlace: Case[] = [
    { mode: 'adjacent', m: 6, nHeads: 2, headDim: 8, ropeDim: 4, theta: 10000, pos0: 1000 },
    { mode: 'halves', m: 9, nHeads: 4, headDim: 64, ropeDim: 64, theta: 10000, pos0: 0 },
    { mode: 'halves', m: 2, nHeads: 3, headDim: 80, ropeDim: 80, theta: 10000, pos0: 4090 },
  ];
  for (const c of inPlace) {
    test(`${c.mode} in place, ropeDim ${c.ropeDim}/${c.headDim}, positions from ${c.pos0}`, async () => {
      const gpu = await testGpu();
      const x = randomF32(c.m * c.nHeads * c.headDim, rng(c.m * 7 + c.headDim + c.pos0));
      const got = await withGpuErrors(gpu, async () => {
        const buf = uploadF32(gpu, 'x', x);
        const op = createRope(gpu, { x: buf, out: buf, nHeads: c.nHeads, headDim: c.headDim, ropeDim: c.ropeDim, theta: c.theta, mode: c.mode });
        expect(op.label).toBe(`rope_${c.mode}_inplace`);
        runOp(gpu, op, { m: c.m, pos0: c.pos0 });
        const result = await readF32(gpu, buf);
        op.destroy();
        buf.destroy();
        return result;
      });
      const mismatch = compare(got, ropeRef(x, c), ATOL);
      expect(mismatch.count, mismatch.table).toBe(0);
    });
  }

  // Llama 3's shape of factors: 1 on the fast pairs, 8 on the slow ones, a ramp between. At
  // positions in the thousands the slow pairs turn by a few hundredths of a radian, so a factor
  // that multiplied instead of dividing, or that was read per dim instead of per pair, moves
  // outputs by far more than ATOL.
  const llama3Factors = (pairs: number) =>
    Array.from({ length: pairs }, (_, j) => (j < pairs / 4 ? 1 : j >= (3 * pairs) / 4 ? 8 : 1 + (7 * (j - pairs / 4)) / (pairs / 2)));
  const scaled: (Case & { inPlace: boolean })[] = [
    { mode: 'halves', m: 5, nHeads: 3, headDim: 40, ropeDim: 40, theta: 500000, pos0: 4000, inPlace: true },
    { mode: 'adjacent', m: 3, nHeads: 2, headDim: 24, ropeDim: 16, theta: 500000, pos0: 7000, inPlace: false },
  ];
  for (const c of scaled) {
    test(`${c.mode} with frequency factors, ropeDim ${c.ropeDim}/${c.headDim}, ${c.inPlace ? 'in place' : 'copy'}, positions from ${c.pos0}`, async () => {
      const gpu = await testGpu();
      const freqFactors = llama3Factors(c.ropeDim / 2);
      const x = randomF32(c.m * c.nHeads * c.headDim, rng(c.pos0 + c.headDim));
      const got = await withGpuErrors(gpu, async () => {
        const xBuf = uploadF32(gpu, 'x', x);
        const outBuf = c.inPlace ? xBuf : uploadF32(gpu, 'out', new Float32Array(x.length));
        const op = createRope(gpu, { x: xBuf, out: outBuf, nHeads: c.nHeads, headDim: c.headDim, ropeDim: c.ropeDim, theta: c.theta, mode: c.mode, freqFactors });
        runOp(gpu, op, { m: c.m, pos0: c.pos0 });
        const result = await readF32(gpu, outBuf);
        op.destroy();
        new Set([xBuf, outBuf]).forEach((b) => b.destroy());
        return result;
      });
      const mismatch = compare(got, ropeRef(x, { ...c, freqFactors }), ATOL);
      expect(mismatch.count, mismatch.table).toBe(0);
      // The slowest pair is turned a different amount than without factors, well beyond ATOL.
      expect(compare(got, ropeRef(x, c), ATOL).count).toBeGreaterThan(0);
    });
  }

  test('frequency factors must be one positive number per rotated pair', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const buf = createStorage(gpu, 'x', 8 * 4);
      const base = { x: buf, out: buf, nHeads: 1, headDim: 8, ropeDim: 8, theta: 10000, mode: 'adjacent' as const };
      expect(() => createRope(gpu, { ...base, freqFactors: [1, 1, 1] })).toThrow(/freqFactors/);
      expect(() => createRope(gpu, { ...base, freqFactors: [1, 1, 0, 1] })).toThrow(/freqFactors/);
      buf.destroy();
    });
  });

  test('an in-place rope refuses to move rows', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const buf = createStorage(gpu, 'x', 2 * 8 * 4);
      const op = createRope(gpu, { x: buf, out: buf, nHeads: 1, headDim: 8, theta: 10000, mode: 'adjacent' });
      const encoder = gpu.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      expect(() => op.encode(pass, { m: 1, pos0: 1, outRowOffset: 1 })).toThrow(/cannot move rows/);
      pass.end();
      encoder.finish();
      op.destroy();
      buf.destroy();
    });
  });
});
