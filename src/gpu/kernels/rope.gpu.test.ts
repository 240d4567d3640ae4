import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withGpuErrors } from '../../../test/gpu.ts';
import { f16RoundingSweep, packF16, ropeRef, type RopeMode } from '../../../test/reference/attention.ts';
import { createStorage, readF32, readU32, uploadF32, uploadU32 } from '../buffers.ts';
import { createRope } from './rope.ts';

/** '' when the words are equal, else the first that differs, for the assertion's message. */
function firstBad(got: Uint32Array, expected: Uint32Array): string {
  const i = got.findIndex((w, j) => w !== expected[j]);
  return i < 0 ? '' : `word ${i}: 0x${got[i].toString(16)}, expected 0x${expected[i].toString(16)}`;
}

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

  // Into a packed-f16 cache (the K cache): the words must be exactly the f32 path's results
  // rounded to nearest even, since each element is computed by the same expressions. Halves
  // mode puts two different pairs in one word, and ropeDim 6 makes ropeDim/2 odd, so a word
  // straddles the first and second halves of the rotated dims.
  const intoF16: (Case & { outRowOffset: number; rows: number; factors?: boolean })[] = [
    { mode: 'adjacent', m: 5, nHeads: 3, headDim: 16, ropeDim: 16, theta: 10000, pos0: 11, outRowOffset: 11, rows: 20 },
    { mode: 'halves', m: 4, nHeads: 2, headDim: 64, ropeDim: 64, theta: 1e6, pos0: 300, outRowOffset: 1, rows: 6 },
    { mode: 'halves', m: 3, nHeads: 2, headDim: 10, ropeDim: 6, theta: 10000, pos0: 40, outRowOffset: 0, rows: 3 },
    { mode: 'adjacent', m: 3, nHeads: 4, headDim: 80, ropeDim: 40, theta: 500000, pos0: 7000, outRowOffset: 2, rows: 6, factors: true },
  ];
  for (const c of intoF16) {
    test(`${c.mode} into a packed-f16 cache at row ${c.outRowOffset}, ropeDim ${c.ropeDim}/${c.headDim}${c.factors ? ', with factors' : ''}`, async () => {
      const gpu = await testGpu();
      const rowLen = c.nHeads * c.headDim;
      const x = randomF32(c.m * rowLen, rng(c.m * 31 + c.headDim + c.pos0));
      const freqFactors = c.factors ? llama3Factors(c.ropeDim / 2) : undefined;
      const sentinel = 0xdeadbeef;
      const [f32Out, words] = await withGpuErrors(gpu, async () => {
        const xBuf = uploadF32(gpu, 'x', x);
        const f32Buf = createStorage(gpu, 'out', c.m * rowLen * 4);
        const cache = uploadU32(gpu, 'kCache', new Uint32Array((c.rows * rowLen) / 2).fill(sentinel));
        const shape = { x: xBuf, nHeads: c.nHeads, headDim: c.headDim, ropeDim: c.ropeDim, theta: c.theta, mode: c.mode, freqFactors };
        const plain = createRope(gpu, { ...shape, out: f32Buf });
        const packed = createRope(gpu, { ...shape, out: cache, outF16: true });
        expect(packed.label).toBe(`rope_${c.mode}_f16`);
        runOp(gpu, plain, { m: c.m, pos0: c.pos0 });
        runOp(gpu, packed, { m: c.m, pos0: c.pos0, outRowOffset: c.outRowOffset });
        const result = [await readF32(gpu, f32Buf), await readU32(gpu, cache)] as const;
        plain.destroy();
        packed.destroy();
        [xBuf, f32Buf, cache].forEach((b) => b.destroy());
        return result;
      });
      // The f32 path itself is right (the other tests check it; this guards the baseline).
      const mismatch = compare(f32Out, ropeRef(x, { ...c, freqFactors }), ATOL);
      expect(mismatch.count, mismatch.table).toBe(0);
      const words0 = (c.outRowOffset * rowLen) / 2;
      const written = words.subarray(words0, words0 + (c.m * rowLen) / 2);
      const expected = packF16(f32Out);
      const bad = [...written.keys()].filter((i) => written[i] !== expected[i]);
      const first = bad[0];
      expect(bad.length, bad.length ? `word ${first}: 0x${written[first].toString(16)}, expected 0x${expected[first].toString(16)}` : '').toBe(0);
      const others = [...words.subarray(0, words0), ...words.subarray(words0 + written.length)];
      expect(others.every((w) => w === sentinel)).toBe(true);
    });
  }

  // The rotated K goes through f16_bits.wgsl's rounding after the rope arithmetic. At position 0
  // every angle is 0, whose cos and sin the kernel gets exactly (1 and 0), so the rope is the
  // identity and the cache must hold every tie and neighbour of the sweep rounded to even.
  test('rounds every f16 tie to even on the way into the cache', async () => {
    const gpu = await testGpu();
    const x = f16RoundingSweep();
    // The sweep holds 8 values per half, so heads of 8 dims tile it exactly.
    const headDim = 8;
    const nHeads = x.length / headDim;
    const [f32Out, words] = await withGpuErrors(gpu, async () => {
      const xBuf = uploadF32(gpu, 'x', x);
      const f32Buf = createStorage(gpu, 'out', x.byteLength);
      const cache = createStorage(gpu, 'kCache', x.length * 2);
      const shape = { x: xBuf, nHeads, headDim, theta: 10000, mode: 'halves' as const };
      const plain = createRope(gpu, { ...shape, out: f32Buf });
      const packed = createRope(gpu, { ...shape, out: cache, outF16: true });
      runOp(gpu, plain, { m: 1, pos0: 0 });
      runOp(gpu, packed, { m: 1, pos0: 0 });
      const result = [await readF32(gpu, f32Buf), await readU32(gpu, cache)] as const;
      plain.destroy();
      packed.destroy();
      [xBuf, f32Buf, cache].forEach((b) => b.destroy());
      return result;
    });
    expect(f32Out.every((v, i) => v === x[i])).toBe(true);
    const expected = packF16(x);
    const bad = [...words.keys()].filter((i) => words[i] !== expected[i]);
    const first = bad[0];
    expect(bad.length, bad.length ? `word ${first} (${x[2 * first]}, ${x[2 * first + 1]}): 0x${words[first].toString(16)}, expected 0x${expected[first].toString(16)}` : '').toBe(0);
  });

  // V packed in K's dispatch (main_f16_v): K's words must be main_f16's, bit for bit, and V's the
  // TS rounding of V, in the same rows of the V cache. The first case feeds V every f16 tie and
  // neighbour (f16RoundingSweep) and kvStore.gpu.test.ts's edges (overflow, infinity, the zero
  // tie at 2^-25, f32 subnormals, NaN) over thousands of rows at a row offset; the second is a
  // decode step, one token into the last row.
  const edges = [1e6, Infinity, 2 ** -25, 2 ** -25 * (1 - 2 ** -24), 2 ** -25 * (1 + 2 ** -23), 2 ** -140, 0, NaN];
  const withV: (Omit<Case, 'm'> & { outRowOffset: number; spare: number; v: 'sweep' | number })[] = [
    { mode: 'halves', nHeads: 4, headDim: 16, ropeDim: 16, theta: 10000, pos0: 3, outRowOffset: 3, spare: 2, v: 'sweep' },
    { mode: 'adjacent', nHeads: 2, headDim: 24, ropeDim: 16, theta: 500000, pos0: 40, outRowOffset: 40, spare: 0, v: 1 },
  ];
  for (const c of withV) {
    test(`${c.mode} packs V beside K at row ${c.outRowOffset} (${c.v === 'sweep' ? 'rounding sweep' : 'one token'})`, async () => {
      const gpu = await testGpu();
      const rowLen = c.nHeads * c.headDim;
      const vValues = c.v === 'sweep' ? [...f16RoundingSweep(), ...edges, ...edges.map((e) => -e)] : randomF32(c.v * rowLen, rng(c.pos0), 3);
      const m = Math.ceil(vValues.length / rowLen);
      const v = new Float32Array(m * rowLen);
      v.set(vValues);
      const x = randomF32(m * rowLen, rng(m + c.headDim));
      const cacheWords = ((c.outRowOffset + m + c.spare) * rowLen) / 2;
      const sentinel = 0xdeadbeef;
      const [kAlone, kWords, vWords] = await withGpuErrors(gpu, async () => {
        const xBuf = uploadF32(gpu, 'x', x);
        const vBuf = uploadF32(gpu, 'v', v);
        const [kAloneBuf, kCache, vCache] = ['kAlone', 'kCache', 'vCache'].map((name) => uploadU32(gpu, name, new Uint32Array(cacheWords).fill(sentinel)));
        const shape = { x: xBuf, nHeads: c.nHeads, headDim: c.headDim, ropeDim: c.ropeDim, theta: c.theta, mode: c.mode, outF16: true };
        const alone = createRope(gpu, { ...shape, out: kAloneBuf });
        const both = createRope(gpu, { ...shape, out: kCache, packV: { x: vBuf, cache: vCache } });
        expect(both.label).toBe(`rope_${c.mode}_f16_v`);
        const dyn = { m, pos0: c.pos0, outRowOffset: c.outRowOffset };
        runOp(gpu, alone, dyn);
        runOp(gpu, both, dyn);
        const result = [await readU32(gpu, kAloneBuf), await readU32(gpu, kCache), await readU32(gpu, vCache)] as const;
        alone.destroy();
        both.destroy();
        [xBuf, vBuf, kAloneBuf, kCache, vCache].forEach((b) => b.destroy());
        return result;
      });
      const words0 = (c.outRowOffset * rowLen) / 2;
      const blockWords = (m * rowLen) / 2;
      // Unwritten words hold the sentinel in all three caches, so comparing whole buffers also
      // checks that nothing outside rows outRowOffset .. outRowOffset+m-1 was touched.
      expect(kAlone.subarray(words0, words0 + blockWords).includes(sentinel)).toBe(false);
      expect(firstBad(kWords, kAlone)).toBe('');
      const expectedV = new Uint32Array(cacheWords).fill(sentinel);
      expectedV.set(packF16(v), words0);
      expect(firstBad(vWords, expectedV)).toBe('');
    });
  }

  test('packing V needs the f16 output, a V cache of its own, and room in both V buffers', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const x = createStorage(gpu, 'x', 2 * 8 * 4);
      const v = createStorage(gpu, 'v', 2 * 8 * 4);
      const shortV = createStorage(gpu, 'shortV', 8 * 4);
      const kCache = createStorage(gpu, 'kCache', 4 * 8 * 2);
      const vCache = createStorage(gpu, 'vCache', 4 * 8 * 2);
      const shortCache = createStorage(gpu, 'shortVCache', 3 * 8 * 2);
      const base = { x, out: kCache, nHeads: 1, headDim: 8, theta: 10000, mode: 'adjacent' as const };
      expect(() => createRope(gpu, { ...base, packV: { x: v, cache: vCache } })).toThrow(/outF16/);
      expect(() => createRope(gpu, { ...base, outF16: true, packV: { x: v, cache: kCache } })).toThrow(/V cache/);
      const encoder = gpu.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      // K's buffers hold 2 rows at row 2; each short V buffer is one row too small.
      const dyn = { m: 2, pos0: 0, outRowOffset: 2 };
      const ops = [
        createRope(gpu, { ...base, outF16: true, packV: { x: shortV, cache: vCache } }),
        createRope(gpu, { ...base, outF16: true, packV: { x: v, cache: shortCache } }),
        createRope(gpu, { ...base, outF16: true, packV: { x: v, cache: vCache } }),
      ];
      expect(() => ops[0].encode(pass, dyn)).toThrow(/do not fit/);
      expect(() => ops[1].encode(pass, dyn)).toThrow(/do not fit/);
      ops[2].encode(pass, dyn);
      pass.end();
      gpu.device.queue.submit([encoder.finish()]);
      ops.forEach((op) => op.destroy());
      [x, v, shortV, kCache, vCache, shortCache].forEach((b) => b.destroy());
    });
  });

  test('an f16 output needs its own buffer and half the bytes per row', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const x = createStorage(gpu, 'x', 2 * 8 * 4);
      const cache = createStorage(gpu, 'kCache', 3 * 8 * 2);
      const base = { nHeads: 1, headDim: 8, theta: 10000, mode: 'adjacent' as const, outF16: true };
      expect(() => createRope(gpu, { ...base, x, out: x })).toThrow(/f16 output/);
      const op = createRope(gpu, { ...base, x, out: cache });
      const encoder = gpu.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      expect(() => op.encode(pass, { m: 2, pos0: 0, outRowOffset: 2 })).toThrow(/do not fit/);
      op.encode(pass, { m: 2, pos0: 0, outRowOffset: 1 });
      pass.end();
      gpu.device.queue.submit([encoder.finish()]);
      op.destroy();
      x.destroy();
      cache.destroy();
    });
  });

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

  // A sliding-window layer's ring cache: output row r lands in row r % ringRows. Each variant
  // writes its rows once into a plain buffer and once into a ring; the ring must hold the same
  // words (the arithmetic is the same, only the row moves), the block wrapping from its last row
  // to row 0, and the rows it does not reach keep their sentinel.
  describe('into a ring of rows', () => {
    const c = { mode: 'halves' as const, m: 5, nHeads: 2, headDim: 16, ropeDim: 16, theta: 10000, pos0: 40 };
    const ringRows = 7;
    // Rows 40..44 are rows 5, 6, 0, 1, 2 of the ring; rows 3 and 4 stay untouched.
    const ringOf = (plain: Uint32Array, rowWords: number) => {
      const ring = new Uint32Array(ringRows * rowWords).fill(0xdeadbeef);
      for (let r = c.pos0; r < c.pos0 + c.m; r++) ring.set(plain.subarray(r * rowWords, (r + 1) * rowWords), (r % ringRows) * rowWords);
      return ring;
    };
    for (const variant of ['f32', 'f16', 'f16 and V'] as const) {
      test(`${variant} cache rows ${c.pos0}..${c.pos0 + c.m - 1} in a ring of ${ringRows}`, async () => {
        const gpu = await testGpu();
        const rowLen = c.nHeads * c.headDim;
        const rowWords = variant === 'f32' ? rowLen : rowLen / 2;
        const x = randomF32(c.m * rowLen, rng(71));
        const v = randomF32(c.m * rowLen, rng(72));
        const [plainK, ringK, plainV, ringV] = await withGpuErrors(gpu, async () => {
          const xBuf = uploadF32(gpu, 'x', x);
          const vBuf = uploadF32(gpu, 'v', v);
          const buffer = (name: string, rows: number) => uploadU32(gpu, name, new Uint32Array(rows * rowWords).fill(0xdeadbeef));
          const [plainK, plainV] = ['plainK', 'plainV'].map((name) => buffer(name, c.pos0 + c.m));
          const [ringK, ringV] = ['ringK', 'ringV'].map((name) => buffer(name, ringRows));
          const shape = { x: xBuf, nHeads: c.nHeads, headDim: c.headDim, theta: c.theta, mode: c.mode, outF16: variant !== 'f32' };
          const withV = (cache: GPUBuffer) => (variant === 'f16 and V' ? { packV: { x: vBuf, cache } } : {});
          const ops = [createRope(gpu, { ...shape, out: plainK, ...withV(plainV) }), createRope(gpu, { ...shape, out: ringK, ringRows, ...withV(ringV) })];
          for (const op of ops) runOp(gpu, op, { m: c.m, pos0: c.pos0, outRowOffset: c.pos0 });
          const result = await Promise.all([plainK, ringK, plainV, ringV].map((b) => readU32(gpu, b)));
          ops.forEach((op) => op.destroy());
          [xBuf, vBuf, plainK, plainV, ringK, ringV].forEach((b) => b.destroy());
          return result;
        });
        expect(plainK.subarray(c.pos0 * rowWords).includes(0xdeadbeef)).toBe(false);
        expect(ringK).toEqual(ringOf(plainK, rowWords));
        if (variant === 'f16 and V') {
          expect(plainV.subarray(c.pos0 * rowWords).includes(0xdeadbeef)).toBe(false);
          expect(ringV).toEqual(ringOf(plainV, rowWords));
        }
      });
    }

    test('a ring needs its rows, a block no longer than it, and an output that is not the input', async () => {
      const gpu = await testGpu();
      await withGpuErrors(gpu, async () => {
        const x = createStorage(gpu, 'x', 4 * 8 * 4);
        const ring = createStorage(gpu, 'ring', 3 * 8 * 4);
        const base = { x, nHeads: 1, headDim: 8, theta: 10000, mode: 'adjacent' as const };
        expect(() => createRope(gpu, { ...base, out: x, ringRows: 3 })).toThrow(/ringRows/);
        expect(() => createRope(gpu, { ...base, out: ring, ringRows: 0 })).toThrow(/ringRows/);
        const fits = createRope(gpu, { ...base, out: ring, ringRows: 3 });
        const tooFew = createRope(gpu, { ...base, out: ring, ringRows: 4 });
        const pass = gpu.device.createCommandEncoder().beginComputePass();
        // Any row offset: a position far past the ring's size lands in it.
        fits.encode(pass, { m: 3, pos0: 1000, outRowOffset: 1000 });
        expect(() => fits.encode(pass, { m: 4, pos0: 0, outRowOffset: 0 })).toThrow(/do not fit/);
        expect(() => tooFew.encode(pass, { m: 1, pos0: 0, outRowOffset: 0 })).toThrow(/do not fit/);
        pass.end();
        [fits, tooFew].forEach((op) => op.destroy());
        [x, ring].forEach((b) => b.destroy());
      });
    });
  });

  // Q and K in one dispatch (main_qk_*): Q must end as the in-place op leaves it and K's output
  // (and the V cache) as the K-only op writes it, word for word, since every element goes through
  // the same expressions. All but the third case end Q's invocations inside a workgroup
  // (m · qHeads · headDim / 2 not a multiple of 64), whose remaining invocations then do K's work.
  describe('Q and K in one dispatch', () => {
    interface Fused extends Omit<Case, 'nHeads'> {
      qHeads: number;
      kvHeads: number;
      cache: 'f32' | 'f16' | 'f16 and V';
      ring?: number;
      factors?: boolean;
    }
    const cases: Fused[] = [
      { mode: 'adjacent', m: 5, qHeads: 4, kvHeads: 2, headDim: 16, ropeDim: 16, theta: 10000, pos0: 11, cache: 'f32' },
      { mode: 'halves', m: 1, qHeads: 6, kvHeads: 2, headDim: 24, ropeDim: 8, theta: 1e6, pos0: 300, cache: 'f16', factors: true },
      { mode: 'halves', m: 3, qHeads: 8, kvHeads: 2, headDim: 64, ropeDim: 64, theta: 1e6, pos0: 40, cache: 'f16 and V' },
      // Rows 40..44 wrap in the ring of 7 (rows 5, 6, 0, 1, 2).
      { mode: 'adjacent', m: 5, qHeads: 3, kvHeads: 1, headDim: 10, ropeDim: 6, theta: 500000, pos0: 40, cache: 'f16 and V', ring: 7, factors: true },
      { mode: 'halves', m: 1, qHeads: 4, kvHeads: 4, headDim: 16, ropeDim: 16, theta: 10000, pos0: 45, cache: 'f32', ring: 7 },
      { mode: 'adjacent', m: 2, qHeads: 2, kvHeads: 1, headDim: 8, ropeDim: 8, theta: 10000, pos0: 2, cache: 'f16', ring: 3 },
    ];
    for (const c of cases) {
      const name = `${c.mode}, ${c.cache} cache${c.ring ? ` in a ring of ${c.ring}` : ''}, m ${c.m}, ${c.qHeads}/${c.kvHeads} heads, ropeDim ${c.ropeDim}/${c.headDim}${c.factors ? ', with factors' : ''}`;
      test(`equals the Q-only and K-only ops: ${name}`, async () => {
        const gpu = await testGpu();
        const qRowLen = c.qHeads * c.headDim;
        const kRowLen = c.kvHeads * c.headDim;
        const f16 = c.cache !== 'f32';
        const withV = c.cache === 'f16 and V';
        const random = rng(c.m * 13 + c.headDim + c.pos0);
        // One row more than the block, which neither op may touch.
        const qValues = randomF32((c.m + 1) * qRowLen, random);
        const kValues = randomF32(c.m * kRowLen, random);
        const vValues = randomF32(c.m * kRowLen, random);
        const cacheWords = ((c.ring ?? c.pos0 + c.m + 1) * kRowLen) / (f16 ? 2 : 1);
        const sentinel = 0xdeadbeef;
        const freqFactors = c.factors ? llama3Factors(c.ropeDim / 2) : undefined;
        const [qAlone, qFused, ...caches] = await withGpuErrors(gpu, async () => {
          const kBuf = uploadF32(gpu, 'k', kValues);
          const vBuf = uploadF32(gpu, 'v', vValues);
          const [qAlone, qFused] = ['qAlone', 'qFused'].map((label) => uploadF32(gpu, label, qValues));
          const [kAlone, kFused, vAlone, vFused] = ['kAlone', 'kFused', 'vAlone', 'vFused'].map((label) =>
            uploadU32(gpu, label, new Uint32Array(cacheWords).fill(sentinel)),
          );
          const shape = { headDim: c.headDim, ropeDim: c.ropeDim, theta: c.theta, mode: c.mode, freqFactors };
          const kShape = { ...shape, x: kBuf, nHeads: c.kvHeads, outF16: f16, ...(c.ring ? { ringRows: c.ring } : {}) };
          const packV = (cache: GPUBuffer) => (withV ? { packV: { x: vBuf, cache } } : {});
          const ops = [
            createRope(gpu, { ...shape, x: qAlone, out: qAlone, nHeads: c.qHeads }),
            createRope(gpu, { ...kShape, out: kAlone, ...packV(vAlone) }),
            createRope(gpu, { ...kShape, out: kFused, ...packV(vFused), q: { buffer: qFused, nHeads: c.qHeads } }),
          ];
          expect(ops[2].label).toBe(`rope_${c.mode}_qk_${withV ? 'f16_v' : f16 ? 'f16' : 'copy'}`);
          // Q stays in its rows; K goes to the cache rows of its positions.
          ops.forEach((op, i) => runOp(gpu, op, { m: c.m, pos0: c.pos0, outRowOffset: i === 0 ? 0 : c.pos0 }));
          const buffers = [qAlone, qFused, kAlone, kFused, vAlone, vFused];
          const result = await Promise.all(buffers.map((b) => readU32(gpu, b)));
          ops.forEach((op) => op.destroy());
          [kBuf, vBuf, ...buffers].forEach((b) => b.destroy());
          return result;
        });
        const [kAlone, kFused, vAlone, vFused] = caches;
        // The separate ops did their work (their values are checked against the reference above):
        // Q's block turned, and K's block filled its rows of the cache.
        const qInput = new Uint32Array(qValues.buffer);
        expect(firstBad(qAlone.subarray(0, c.m * qRowLen), qInput.subarray(0, c.m * qRowLen))).not.toBe('');
        expect(kAlone.filter((w) => w !== sentinel).length).toBe((c.m * kRowLen) / (f16 ? 2 : 1));
        expect(firstBad(qFused, qAlone)).toBe('');
        expect(firstBad(kFused, kAlone)).toBe('');
        if (withV) {
          expect(vAlone.filter((w) => w !== sentinel).length).toBe((c.m * kRowLen) / 2);
          expect(firstBad(vFused, vAlone)).toBe('');
        }
      });
    }

    test('a fused Q needs heads, a buffer of its own, an out-of-place K, and room for its rows', async () => {
      const gpu = await testGpu();
      await withGpuErrors(gpu, async () => {
        const k = createStorage(gpu, 'k', 2 * 8 * 4);
        const v = createStorage(gpu, 'v', 2 * 8 * 4);
        const kCache = createStorage(gpu, 'kCache', 2 * 8 * 2);
        const vCache = createStorage(gpu, 'vCache', 2 * 8 * 2);
        // Two rows of Q's two heads, and a buffer one row short of that.
        const q = createStorage(gpu, 'q', 2 * 16 * 4);
        const shortQ = createStorage(gpu, 'shortQ', 16 * 4);
        const base = { x: k, out: kCache, nHeads: 1, headDim: 8, theta: 10000, mode: 'halves' as const, outF16: true, packV: { x: v, cache: vCache } };
        expect(() => createRope(gpu, { ...base, q: { buffer: q, nHeads: 0 } })).toThrow(/heads/);
        expect(() => createRope(gpu, { ...base, q: { buffer: q, nHeads: 1.5 } })).toThrow(/heads/);
        expect(() => createRope(gpu, { x: q, out: q, nHeads: 2, headDim: 8, theta: 10000, mode: 'halves', q: { buffer: k, nHeads: 1 } })).toThrow(/out-of-place/);
        for (const own of [k, kCache, v, vCache]) expect(() => createRope(gpu, { ...base, q: { buffer: own, nHeads: 2 } })).toThrow(/own/);
        const fits = createRope(gpu, { ...base, q: { buffer: q, nHeads: 2 } });
        const short = createRope(gpu, { ...base, q: { buffer: shortQ, nHeads: 2 } });
        const encoder = gpu.device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        expect(() => short.encode(pass, { m: 2, pos0: 0, outRowOffset: 0 })).toThrow(/do not fit/);
        fits.encode(pass, { m: 2, pos0: 0, outRowOffset: 0 });
        pass.end();
        gpu.device.queue.submit([encoder.finish()]);
        [fits, short].forEach((op) => op.destroy());
        [k, v, kCache, vCache, q, shortQ].forEach((b) => b.destroy());
      });
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
