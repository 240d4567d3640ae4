import { describe, expect, test } from 'vitest';
import { randomF32, rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { f16RoundingSweep, packF16 } from '../../../test/reference/attention.ts';
import { createStorage, readU32, uploadF32, uploadU32 } from '../buffers.ts';
import { createKvStore } from './kvStore.ts';

const SENTINEL = 0xdeadbeef;

/** Stores `x` ([m, width]) at row `rowOffset` of a cache of `rows` rows and reads the whole cache back. */
async function store(x: Float32Array, width: number, rowOffset: number, rows: number, maxPerDim?: number): Promise<Uint32Array> {
  const base = await testGpu();
  const gpu = maxPerDim ? withDispatchLimit(base, maxPerDim) : base;
  return withGpuErrors(gpu, async () => {
    const xBuf = uploadF32(gpu, 'x', x);
    const cache = uploadU32(gpu, 'cache', new Uint32Array((rows * width) / 2).fill(SENTINEL));
    const op = createKvStore(gpu, { x: xBuf, cache, width });
    runOp(gpu, op, { m: x.length / width, rowOffset });
    const words = await readU32(gpu, cache);
    op.destroy();
    xBuf.destroy();
    cache.destroy();
    return words;
  });
}

/** Up to 8 words that differ, each with its inputs, for the failure message. */
function wordMismatches(got: Uint32Array, x: Float32Array, expected: Uint32Array): string[] {
  const bad: string[] = [];
  for (let i = 0; i < expected.length && bad.length < 8; i++) {
    if (got[i] !== expected[i]) {
      bad.push(`word ${i} (${x[2 * i]}, ${x[2 * i + 1]}): got 0x${got[i].toString(16)} expected 0x${expected[i].toString(16)}`);
    }
  }
  return bad;
}

describe('kvStore', () => {
  // f16RoundingSweep's ties and their neighbours, then the edges: past 2^16 and infinity go
  // to infinity, 2^-25 (the tie between 0 and the smallest subnormal) and below, f32
  // subnormals included, to zero, and NaN stays NaN; all with both signs.
  test('rounds every f16 tie to even, its neighbours to nearest, and the edges as F16C does', async () => {
    const edges = [1e6, Infinity, 2 ** -25, 2 ** -25 * (1 - 2 ** -24), 2 ** -25 * (1 + 2 ** -23), 2 ** -140, 0, NaN];
    const values = [...f16RoundingSweep(), ...edges, ...edges.map((v) => -v)];
    const width = 64;
    const x = new Float32Array(Math.ceil(values.length / width) * width);
    x.set(values);
    // A limit of 64 workgroups per dimension spreads the grid over x and y.
    const got = await store(x, width, 0, x.length / width, 64);
    const bad = wordMismatches(got, x, packF16(x));
    expect(bad, bad.join('\n')).toEqual([]);
  });

  test('writes m rows at rowOffset and leaves the other rows alone', async () => {
    const width = 24;
    const [m, rowOffset, rows] = [5, 7, 16];
    const x = randomF32(m * width, rng(5), 3);
    const got = await store(x, width, rowOffset, rows);
    const words = width / 2;
    const written = got.subarray(rowOffset * words, (rowOffset + m) * words);
    const bad = wordMismatches(written, x, packF16(x));
    expect(bad, bad.join('\n')).toEqual([]);
    const others = [...got.subarray(0, rowOffset * words), ...got.subarray((rowOffset + m) * words)];
    expect(others.length).toBe((rows - m) * words);
    expect(others.every((w) => w === SENTINEL)).toBe(true);
  });

  // A sliding-window layer's ring: row r in row r % ringRows. Rows 40..44 of a 7-row ring are
  // rows 5, 6, 0, 1, 2: the block wraps, and rows 3 and 4 keep their sentinel. The f32 variant
  // (V of a ring layer with an f32 cache) copies the bits unchanged, NaN payloads included.
  for (const f32 of [false, true]) {
    test(`${f32 ? 'f32' : 'f16'} rows into a ring, wrapping past its last row`, async () => {
      const gpu = await testGpu();
      const [width, m, rowOffset, ringRows] = [24, 5, 40, 7];
      const x = randomF32(m * width, rng(9), 3);
      x[3] = NaN;
      const rowWords = f32 ? width : width / 2;
      const got = await withGpuErrors(gpu, async () => {
        const xBuf = uploadF32(gpu, 'x', x);
        const cache = uploadU32(gpu, 'cache', new Uint32Array(ringRows * rowWords).fill(SENTINEL));
        const op = createKvStore(gpu, { x: xBuf, cache, width, f32, ringRows });
        runOp(gpu, op, { m, rowOffset });
        const words = await readU32(gpu, cache);
        op.destroy();
        xBuf.destroy();
        cache.destroy();
        return words;
      });
      const rowsWords = f32 ? new Uint32Array(x.buffer) : packF16(x);
      const expected = new Uint32Array(ringRows * rowWords).fill(SENTINEL);
      for (let r = 0; r < m; r++) expected.set(rowsWords.subarray(r * rowWords, (r + 1) * rowWords), ((rowOffset + r) % ringRows) * rowWords);
      expect(got).toEqual(expected);
    });
  }

  test('a ring needs all its rows and a block no longer than it', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const x = createStorage(gpu, 'x', 4 * 8 * 4);
      const cache = createStorage(gpu, 'cache', 3 * 8 * 4);
      expect(() => createKvStore(gpu, { x, cache, width: 8, ringRows: 0 })).toThrow(/ringRows/);
      const f32 = createKvStore(gpu, { x, cache, width: 8, f32: true, ringRows: 3 });
      // As f16 the 96 bytes would hold 6 rows: a ring of 6 fits, one of 7 does not.
      const f16 = createKvStore(gpu, { x, cache, width: 8, ringRows: 7 });
      const pass = gpu.device.createCommandEncoder().beginComputePass();
      f32.encode(pass, { m: 3, rowOffset: 1000 });
      expect(() => f32.encode(pass, { m: 4, rowOffset: 0 })).toThrow(/do not fit/);
      expect(() => f16.encode(pass, { m: 1, rowOffset: 0 })).toThrow(/do not fit/);
      pass.end();
      [f32, f16].forEach((op) => op.destroy());
      [x, cache].forEach((b) => b.destroy());
    });
  });

  test('refuses an odd width and rows past either buffer', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const x = createStorage(gpu, 'x', 2 * 8 * 4);
      const cache = createStorage(gpu, 'cache', 4 * 8 * 2);
      expect(() => createKvStore(gpu, { x, cache, width: 7 })).toThrow(/width/);
      const op = createKvStore(gpu, { x, cache, width: 8 });
      const encoder = gpu.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      expect(() => op.encode(pass, { m: 3, rowOffset: 0 })).toThrow(/do not fit/);
      expect(() => op.encode(pass, { m: 2, rowOffset: 3 })).toThrow(/do not fit/);
      op.encode(pass, { m: 2, rowOffset: 2 });
      pass.end();
      gpu.device.queue.submit([encoder.finish()]);
      op.destroy();
      x.destroy();
      cache.destroy();
    });
  });
});
