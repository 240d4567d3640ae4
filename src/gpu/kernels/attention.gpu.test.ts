import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, testGpu, withGpuErrors } from '../../../test/gpu.ts';
import { attentionRef, packF16, roundF16 } from '../../../test/reference/attention.ts';
import { readF32, uploadF32, uploadU32 } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import { createAttention, type AttentionDyn } from './attention.ts';

// Outputs are softmax-weighted means of V rows in [-1, 1]. The kernels differ from the f64
// reference by f32 dot products of up to 256 terms, exp (a few ulp), online rescaling and
// sums over up to 2101 keys: measured max |diff| is 3.9e-7 in both Chromium and Dawn (256
// dims; 3.5e-7 at 64 and 80).
// 5e-6 leaves room for other drivers' exp; one key too many or too few moves some output
// by about that key's weight (of order 1/keys, 5e-4 at 2101 keys), a wrong KV head or scale
// by far more.
const ATOL = 5e-6;
// Queries are scaled up so scores spread over several units and the softmax is peaked
// rather than a near-uniform mean, which would hide masking and weighting mistakes.
const Q_SCALE = 4;

interface Shape {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  maxSeq: number;
  softcap?: number;
  window?: number;
  /** The caches hold f.k and f.v packed as f16. */
  kvF16?: boolean;
  /** f.k and f.v are a ring of this many rows (see 'attention over a ring cache'). */
  ringRows?: number;
}

interface Fixture {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

/**
 * Random q for m tokens and a cache whose rows from `filled` on are NaN, as unwritten rows may
 * be, and so are rows before `hidden`: positions every query's window has dropped, which a
 * kernel must not read (a zero probability times NaN is NaN).
 */
function fixture(s: Shape, m: number, filled: number, seed: number, hidden = 0): Fixture {
  const random = rng(seed);
  const kvRow = s.nKvHeads * s.headDim;
  const k = randomF32(s.maxSeq * kvRow, random).fill(NaN, filled * kvRow).fill(NaN, 0, hidden * kvRow);
  const v = randomF32(s.maxSeq * kvRow, random).fill(NaN, filled * kvRow).fill(NaN, 0, hidden * kvRow);
  return { q: randomF32(m * s.nHeads * s.headDim, random, Q_SCALE), k, v };
}

/** Creates one op, encodes it once per step (each step its own submit) and returns each step's output. */
async function runAttention(gpu: Gpu, s: Shape, f: Fixture, steps: AttentionDyn[]): Promise<Float32Array[]> {
  return withGpuErrors(gpu, async () => {
    const maxM = Math.max(...steps.map((d) => d.m));
    const q = uploadF32(gpu, 'q', f.q);
    const cache = (name: string, x: Float32Array) => (s.kvF16 ? uploadU32(gpu, name, packF16(x)) : uploadF32(gpu, name, x));
    const kCache = cache('kCache', f.k);
    const vCache = cache('vCache', f.v);
    // NaN-filled, so an output element the kernel forgets to write fails the comparison.
    const out = uploadF32(gpu, 'out', new Float32Array(maxM * s.nHeads * s.headDim).fill(NaN));
    const op = createAttention(gpu, { q, kCache, vCache, out, ...s });
    const results: Float32Array[] = [];
    for (const dyn of steps) {
      const encoder = gpu.device.createCommandEncoder({ label: op.label });
      const pass = encoder.beginComputePass({ label: op.label });
      op.encode(pass, dyn);
      pass.end();
      gpu.device.queue.submit([encoder.finish()]);
      results.push(await readF32(gpu, out, dyn.m * s.nHeads * s.headDim));
    }
    op.destroy();
    for (const b of [q, kCache, vCache, out]) b.destroy();
    return results;
  });
}

/** The f64 attention over what the kernel's caches hold: f.k and f.v, rounded to f16 if packed. */
function reference(s: Shape, f: Fixture, { m, pos0 }: AttentionDyn): Float64Array {
  const { nHeads, nKvHeads, headDim, softcap, window, kvF16 } = s;
  const [k, v] = kvF16 ? [roundF16(f.k), roundF16(f.v)] : [f.k, f.v];
  return attentionRef(f.q, k, v, { m, pos0, nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim), softcap, window });
}

function check(got: Float32Array, s: Shape, f: Fixture, dyn: AttentionDyn, atol = ATOL): void {
  const mismatch = compare(got, reference(s, f, dyn), atol);
  expect(mismatch.count, mismatch.table).toBe(0);
}

const name = (s: Shape, d: AttentionDyn) =>
  `m ${d.m} at pos0 ${d.pos0}/${s.maxSeq}, ${s.nHeads} heads over ${s.nKvHeads} KV heads, headDim ${s.headDim}` +
  (s.window ? `, window ${s.window}` : '') +
  (s.softcap ? `, softcap ${s.softcap}` : '') +
  (s.kvF16 ? ', f16 KV cache' : '');

describe('attention prefill (m > 1)', () => {
  const cases: [Shape, AttentionDyn][] = [
    [{ nHeads: 4, nKvHeads: 4, headDim: 8, maxSeq: 16 }, { m: 7, pos0: 0 }],
    [{ nHeads: 4, nKvHeads: 2, headDim: 64, maxSeq: 32 }, { m: 7, pos0: 9 }],
    [{ nHeads: 8, nKvHeads: 2, headDim: 80, maxSeq: 40 }, { m: 37, pos0: 0 }],
    [{ nHeads: 8, nKvHeads: 1, headDim: 64, maxSeq: 64 }, { m: 37, pos0: 21 }],
    [{ nHeads: 6, nKvHeads: 2, headDim: 80, maxSeq: 48 }, { m: 37, pos0: 11 }],
    // Gemma 2 2B's heads: 256 dims, two K/V chunks per tile; 40 flattened rows, the last block ragged.
    [{ nHeads: 8, nKvHeads: 4, headDim: 256, maxSeq: 40 }, { m: 20, pos0: 13 }],
    // 160 dims: a full chunk of 128 and a short one of 32 (lanes 8..15 own nothing in it).
    [{ nHeads: 6, nKvHeads: 2, headDim: 160, maxSeq: 48 }, { m: 11, pos0: 26 }],
  ];
  for (const [s, dyn] of cases) {
    test(name(s, dyn), async () => {
      const gpu = await testGpu();
      const f = fixture(s, dyn.m, dyn.pos0 + dyn.m, s.headDim * 131 + dyn.m + dyn.pos0);
      const [got] = await runAttention(gpu, s, f, [dyn]);
      check(got, s, f, dyn);
    });
  }
});

describe('attention decode (m = 1)', () => {
  const cases: [Shape, AttentionDyn][] = [
    [{ nHeads: 4, nKvHeads: 4, headDim: 8, maxSeq: 8 }, { m: 1, pos0: 0 }],
    // Exactly one full tile of 64 keys, ending at maxSeq.
    [{ nHeads: 4, nKvHeads: 2, headDim: 64, maxSeq: 64 }, { m: 1, pos0: 63 }],
    // A second tile holding a single key.
    [{ nHeads: 8, nKvHeads: 2, headDim: 80, maxSeq: 128 }, { m: 1, pos0: 64 }],
    [{ nHeads: 8, nKvHeads: 1, headDim: 64, maxSeq: 512 }, { m: 1, pos0: 300 }],
    // A group of 12 heads is split into two workgroups of 6.
    [{ nHeads: 12, nKvHeads: 1, headDim: 8, maxSeq: 200 }, { m: 1, pos0: 150 }],
    // 33 tiles over at most 32 splits: splits of two tiles, the last of one.
    [{ nHeads: 8, nKvHeads: 8, headDim: 8, maxSeq: 2176 }, { m: 1, pos0: 2100 }],
    // 256 dims: 4 output dims per thread, so a group of 8 runs as two workgroups of 4 heads.
    [{ nHeads: 8, nKvHeads: 1, headDim: 256, maxSeq: 200 }, { m: 1, pos0: 130 }],
    // 192 dims: 3 dims per thread, so at most 5 heads per workgroup: a group of 6 runs as 2 × 3.
    [{ nHeads: 6, nKvHeads: 1, headDim: 192, maxSeq: 80 }, { m: 1, pos0: 66 }],
  ];
  for (const [s, dyn] of cases) {
    test(name(s, dyn), async () => {
      const gpu = await testGpu();
      const f = fixture(s, 1, dyn.pos0 + 1, s.headDim * 17 + dyn.pos0);
      const [got] = await runAttention(gpu, s, f, [dyn]);
      check(got, s, f, dyn);
    });
  }
});

test('one op serves a prompt then decode steps, with new positions each time', async () => {
  const gpu = await testGpu();
  const s = { nHeads: 4, nKvHeads: 1, headDim: 64, maxSeq: 96 };
  const steps = [
    { m: 9, pos0: 0 },
    { m: 1, pos0: 9 },
    { m: 1, pos0: 70 },
    { m: 5, pos0: 71 },
  ];
  const f = fixture(s, 9, 76, 7);
  const results = await runAttention(gpu, s, f, steps);
  steps.forEach((dyn, i) => check(results[i], s, f, dyn));
});

/**
 * Soft-capping adds the cap's own error to every score: x·(1/cap) within 1 ULP, the kernels'
 * tanh within ~10 ULP relative (see elementwise.gpu.test.ts), times cap: |score| ≤ cap = 2 here,
 * so scores move by up to ~3e-6 more than without a cap, and outputs (weighted means of V in
 * [−1, 1], |v − out| ≤ 2) by at most twice that in the worst case. 1e-5 covers it; a cap
 * applied to masked scores (giving them weight e^(−cap)), before the scale, or not at all moves
 * outputs by 1e-2 or more (checked below against the uncapped reference). Measured: 2.1e-7 in
 * Chromium and Dawn (1.5e-7 up to 80 dims), since rounding errors of random sign mostly cancel.
 */
const SOFTCAP_ATOL = 1e-5;
// Scores here spread over about ±3, so a cap of 2 bends most of them.
const CAP = 2;

describe('attention with a sliding window and soft-capping', () => {
  // Rows before the first query's window are NaN (fixture's `hidden`), so a kernel that read them,
  // even with zero weight, would fail.
  const cases: [Shape, AttentionDyn][] = [
    // Windows narrower than a prefill tile of 16 keys; 8 tokens per block of 16 rows, so later
    // tokens of a block see fewer keys of its first tiles than its first token does.
    [{ nHeads: 4, nKvHeads: 2, headDim: 40, maxSeq: 64, window: 7 }, { m: 37, pos0: 20 }],
    // A window of 21 keys, not a multiple of anything, with 8 heads on one KV head.
    [{ nHeads: 8, nKvHeads: 1, headDim: 64, maxSeq: 48, window: 21 }, { m: 30, pos0: 9 }],
    // Window 1: each query sees only itself.
    [{ nHeads: 4, nKvHeads: 4, headDim: 8, maxSeq: 16, window: 1 }, { m: 6, pos0: 3 }],
    [{ nHeads: 6, nKvHeads: 2, headDim: 80, maxSeq: 48, window: 13, softcap: CAP }, { m: 19, pos0: 11 }],
    [{ nHeads: 4, nKvHeads: 2, headDim: 64, maxSeq: 32, softcap: CAP }, { m: 7, pos0: 9 }],
    // Decode: 300 keys from 1801 in 5 splits of one 64-key tile, the last of 44 keys; splits
    // must start at the window, since every key before it is NaN.
    [{ nHeads: 8, nKvHeads: 8, headDim: 8, maxSeq: 2176, window: 300 }, { m: 1, pos0: 2100 }],
    // Decode with a window that starts inside a tile and holds a single key of the next one.
    [{ nHeads: 12, nKvHeads: 1, headDim: 8, maxSeq: 200, window: 65 }, { m: 1, pos0: 150 }],
    [{ nHeads: 4, nKvHeads: 4, headDim: 8, maxSeq: 8, window: 1 }, { m: 1, pos0: 5 }],
    [{ nHeads: 8, nKvHeads: 1, headDim: 64, maxSeq: 512, softcap: CAP }, { m: 1, pos0: 300 }],
    [{ nHeads: 8, nKvHeads: 2, headDim: 80, maxSeq: 128, window: 70, softcap: CAP }, { m: 1, pos0: 100 }],
    // Wide heads, windows that start inside a tile, a cap. Prefill loads two K/V chunks per tile
    // (the second short at 192 dims); decode runs 4 dims per thread with 2 heads per workgroup
    // at 256 dims, and 3 dims with 3 heads (a group of 6 under a cap of 5) at 160.
    [{ nHeads: 4, nKvHeads: 1, headDim: 256, maxSeq: 64, window: 11, softcap: CAP }, { m: 21, pos0: 17 }],
    [{ nHeads: 6, nKvHeads: 2, headDim: 192, maxSeq: 64, window: 9, softcap: CAP }, { m: 13, pos0: 30 }],
    [{ nHeads: 8, nKvHeads: 4, headDim: 256, maxSeq: 200, window: 71, softcap: CAP }, { m: 1, pos0: 150 }],
    [{ nHeads: 6, nKvHeads: 1, headDim: 160, maxSeq: 200, window: 100, softcap: CAP }, { m: 1, pos0: 180 }],
  ];
  for (const [s, dyn] of cases) {
    test(name(s, dyn), async () => {
      const gpu = await testGpu();
      const hidden = s.window ? Math.max(0, dyn.pos0 - s.window + 1) : 0;
      const f = fixture(s, dyn.m, dyn.pos0 + dyn.m, s.headDim * 59 + dyn.m + dyn.pos0, hidden);
      const [got] = await runAttention(gpu, s, f, [dyn]);
      check(got, s, f, dyn, s.softcap ? SOFTCAP_ATOL : ATOL);
      if (s.softcap) {
        const uncapped = compare(got, reference({ ...s, softcap: undefined }, f, dyn), 1e-2);
        expect(uncapped.count).toBeGreaterThan(0);
      }
    });
  }

  test('a window wider than the cache is no window, and a gemma-like op serves a prompt then decode steps', async () => {
    const gpu = await testGpu();
    const s = { nHeads: 4, nKvHeads: 2, headDim: 32, maxSeq: 96 };
    const steps = [
      { m: 9, pos0: 0 },
      { m: 1, pos0: 9 },
      { m: 1, pos0: 70 },
      { m: 5, pos0: 71 },
    ];
    const f = fixture(s, 9, 76, 8);
    const wide = await runAttention(gpu, { ...s, window: 4096 }, f, steps);
    steps.forEach((dyn, i) => check(wide[i], s, f, dyn));
    const gemma = { ...s, window: 24, softcap: CAP };
    const results = await runAttention(gpu, gemma, f, steps);
    steps.forEach((dyn, i) => check(results[i], gemma, f, dyn, SOFTCAP_ATOL));
  });

  test('a gemma-3-1b-like op (256 dims, 4 heads over 1 KV head) serves a prompt then decode steps', async () => {
    const gpu = await testGpu();
    const s = { nHeads: 4, nKvHeads: 1, headDim: 256, maxSeq: 96, window: 24 };
    const steps = [
      { m: 9, pos0: 0 },
      { m: 1, pos0: 9 },
      { m: 1, pos0: 70 },
      { m: 5, pos0: 71 },
    ];
    const f = fixture(s, 9, 76, 9);
    const results = await runAttention(gpu, s, f, steps);
    steps.forEach((dyn, i) => check(results[i], s, f, dyn));
  });

  test('refuses a window or cap that is not positive, and a head the kernels cannot hold', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const buffer = uploadF32(gpu, 'qkv', new Float32Array(16));
      const s = { q: buffer, kCache: buffer, vCache: buffer, out: buffer, nHeads: 1, nKvHeads: 1, headDim: 4, maxSeq: 4 };
      expect(() => createAttention(gpu, { ...s, window: 0 })).toThrow(/window/);
      expect(() => createAttention(gpu, { ...s, window: 2.5 })).toThrow(/window/);
      expect(() => createAttention(gpu, { ...s, softcap: -1 })).toThrow(/softcap/);
      expect(() => createAttention(gpu, { ...s, headDim: 260 })).toThrow(/headDim/);
      expect(() => createAttention(gpu, { ...s, headDim: 6 })).toThrow(/headDim/);
      buffer.destroy();
    });
  });
});

/**
 * Packed-f16 caches. The reference runs on K and V rounded to f16 exactly as packF16 rounds
 * them, and the kernels widen each half to f32 exactly, so both see the same K and V: what is
 * left is the kernels' f32 arithmetic, which ATOL (and SOFTCAP_ATOL under a cap) already
 * bounds. Measured max |diff| against that reference: 4.0e-7 in Chromium and Dawn, as on f32
 * caches. The rounding itself (up to 2^-11 relative per element) moves outputs by 4e-5 to 5e-4
 * against the reference on unrounded K and V, far above ATOL (the first case checks it), so a
 * kernel that decoded the halves wrongly or swapped the two halves of a word cannot pass.
 */
describe('attention on packed-f16 KV caches', () => {
  const cases: [Shape, AttentionDyn][] = [
    // Decode: GQA, a second tile of 37 keys.
    [{ nHeads: 4, nKvHeads: 2, headDim: 64, maxSeq: 128, kvF16: true }, { m: 1, pos0: 100 }],
    [{ nHeads: 8, nKvHeads: 2, headDim: 80, maxSeq: 128, window: 70, softcap: CAP, kvF16: true }, { m: 1, pos0: 100 }],
    [{ nHeads: 8, nKvHeads: 1, headDim: 256, maxSeq: 200, kvF16: true }, { m: 1, pos0: 130 }],
    // Prefill over 43, 30 and 33 keys, none a multiple of the 16-key tile.
    [{ nHeads: 8, nKvHeads: 2, headDim: 80, maxSeq: 48, kvF16: true }, { m: 37, pos0: 6 }],
    [{ nHeads: 4, nKvHeads: 1, headDim: 64, maxSeq: 40, window: 13, softcap: CAP, kvF16: true }, { m: 19, pos0: 11 }],
    // Two K/V chunks per tile.
    [{ nHeads: 4, nKvHeads: 2, headDim: 256, maxSeq: 40, kvF16: true }, { m: 20, pos0: 13 }],
  ];
  cases.forEach(([s, dyn], i) => {
    test(name(s, dyn), async () => {
      const gpu = await testGpu();
      const hidden = s.window ? Math.max(0, dyn.pos0 - s.window + 1) : 0;
      const f = fixture(s, dyn.m, dyn.pos0 + dyn.m, s.headDim * 23 + dyn.m + dyn.pos0, hidden);
      const [got] = await runAttention(gpu, s, f, [dyn]);
      check(got, s, f, dyn, s.softcap ? SOFTCAP_ATOL : ATOL);
      if (i === 0) {
        const unrounded = compare(got, reference({ ...s, kvF16: false }, f, dyn), ATOL);
        expect(unrounded.count).toBeGreaterThan(0);
      }
    });
  });

  test('one op serves a prompt then decode steps', async () => {
    const gpu = await testGpu();
    const s = { nHeads: 4, nKvHeads: 1, headDim: 64, maxSeq: 96, kvF16: true };
    const steps = [
      { m: 9, pos0: 0 },
      { m: 1, pos0: 9 },
      { m: 1, pos0: 70 },
      { m: 5, pos0: 71 },
    ];
    const f = fixture(s, 9, 76, 10);
    const results = await runAttention(gpu, s, f, steps);
    steps.forEach((dyn, i) => check(results[i], s, f, dyn));
  });

  test('takes caches of 2 bytes per element, and refuses smaller ones and heads of 4 mod 8 dims', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const io = uploadF32(gpu, 'qo', new Float32Array(8));
      // 4 positions of one 8-dim head: 64 bytes as f16, 128 as f32.
      const cache = uploadU32(gpu, 'kvCache', new Uint32Array(16));
      const s = { q: io, kCache: cache, vCache: cache, out: io, nHeads: 1, nKvHeads: 1, headDim: 8, maxSeq: 4 };
      const op = createAttention(gpu, { ...s, kvF16: true });
      expect(op.label).toBe('attention_h1_kv1_hd8_kvf16');
      op.destroy();
      expect(() => createAttention(gpu, s)).toThrow(/smaller than 4 positions/);
      expect(() => createAttention(gpu, { ...s, maxSeq: 5, kvF16: true })).toThrow(/smaller than 5 positions/);
      expect(() => createAttention(gpu, { ...s, headDim: 4, maxSeq: 8, kvF16: true })).toThrow(/multiple of 8/);
      io.destroy();
      cache.destroy();
    });
  });
});

/**
 * Ring caches (sliding-window layers): position p in row p % ringRows. The kernel gets the ring
 * built from the fixture's positional K and V, holding only the positions the dispatch may read
 * (the first query's window through the last query); every other row is NaN, as a row holding
 * a position the window has dropped is garbage to it. The reference runs on the positional
 * fixture, so a wrong row mapping either reads NaN or weighs the wrong key.
 */
describe('attention over a ring cache', () => {
  interface RingCase {
    s: Shape & { window: number };
    ringRows: number;
    dyn: AttentionDyn;
  }

  function ring(s: Shape & { window: number }, ringRows: number, x: Float32Array, { m, pos0 }: AttentionDyn): Float32Array {
    const kvRow = s.nKvHeads * s.headDim;
    const out = new Float32Array(ringRows * kvRow).fill(NaN);
    for (let p = Math.max(0, pos0 - s.window + 1); p < pos0 + m; p++) {
      out.set(x.subarray(p * kvRow, (p + 1) * kvRow), (p % ringRows) * kvRow);
    }
    return out;
  }

  const cases: RingCase[] = [
    // The tightest ring for a chunk (window + m − 1 rows): positions 24..39 fill rows 8..15 then 0..7.
    { s: { nHeads: 4, nKvHeads: 2, headDim: 32, maxSeq: 64, window: 7 }, ringRows: 16, dyn: { m: 10, pos0: 30 } },
    { s: { nHeads: 4, nKvHeads: 1, headDim: 64, maxSeq: 96, window: 13, softcap: CAP, kvF16: true }, ringRows: 31, dyn: { m: 19, pos0: 50 } },
    // Two K/V chunks per tile, wrapping between a block's first and last tiles.
    { s: { nHeads: 4, nKvHeads: 2, headDim: 256, maxSeq: 80, window: 11, kvF16: true }, ringRows: 40, dyn: { m: 20, pos0: 33 } },
    // Decode: keys 106..170 in rows 26..79 then 0..10, over two splits of one tile each.
    { s: { nHeads: 8, nKvHeads: 2, headDim: 80, maxSeq: 256, window: 65 }, ringRows: 80, dyn: { m: 1, pos0: 170 } },
    { s: { nHeads: 8, nKvHeads: 4, headDim: 256, maxSeq: 256, window: 71, softcap: CAP, kvF16: true }, ringRows: 90, dyn: { m: 1, pos0: 190 } },
    // A ring exactly the window's size: the query's own key lands in the row of the oldest it sees.
    { s: { nHeads: 4, nKvHeads: 4, headDim: 8, maxSeq: 64, window: 20 }, ringRows: 20, dyn: { m: 1, pos0: 47 } },
  ];
  for (const { s, ringRows, dyn } of cases) {
    test(`${name(s, dyn)}, ring of ${ringRows} rows`, async () => {
      const gpu = await testGpu();
      const f = fixture(s, dyn.m, dyn.pos0 + dyn.m, s.headDim * 7 + dyn.m + dyn.pos0);
      const ringed = { q: f.q, k: ring(s, ringRows, f.k, dyn), v: ring(s, ringRows, f.v, dyn) };
      const [got] = await runAttention(gpu, { ...s, ringRows }, ringed, [dyn]);
      check(got, s, f, dyn, s.softcap ? SOFTCAP_ATOL : ATOL);
    });
  }

  test('a ring at least maxSeq rows long is the plain op; a ring that cannot hold a dispatch is refused', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const io = uploadF32(gpu, 'qo', new Float32Array(4 * 8));
      // 8 rows of one 8-dim f32 head.
      const cache = uploadF32(gpu, 'kvCache', new Float32Array(64));
      const s = { q: io, kCache: cache, vCache: cache, out: io, nHeads: 1, nKvHeads: 1, headDim: 8, maxSeq: 8, window: 4 };
      const plain = createAttention(gpu, { ...s, ringRows: 8 });
      expect(plain.label).toBe('attention_h1_kv1_hd8');
      plain.destroy();
      const op = createAttention(gpu, { ...s, maxSeq: 100, ringRows: 6 });
      expect(op.label).toBe('attention_h1_kv1_hd8_ring6');
      const pass = gpu.device.createCommandEncoder().beginComputePass();
      // Three queries from position 50 read positions 47..52: six, one too many once four are asked.
      expect(() => op.encode(pass, { m: 4, pos0: 50 })).toThrow(/more than the ring's 6 rows/);
      op.encode(pass, { m: 3, pos0: 50 });
      pass.end();
      op.destroy();
      expect(() => createAttention(gpu, { ...s, maxSeq: 100, ringRows: 3 })).toThrow(/ringRows 3/);
      expect(() => createAttention(gpu, { ...s, maxSeq: 100, ringRows: 9 })).toThrow(/smaller than 9 positions/);
      io.destroy();
      cache.destroy();
    });
  });
});
