import { describe, expect, test } from 'vitest';
import { rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { f16RoundingSweep } from '../../../test/reference/attention.ts';
import { ggmlGeluTableRef, q8_1BlockSumsRef, roundActivationsRef, roundingTestRows } from '../../../test/reference/llamaCppRounding.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import { createRoundActivations, llamaCppRounding, type ActivationRounding } from './roundActivations.ts';

/** The shapes under test: K = 64 and 96 exercise q8_0 rows of 2 and 3 blocks; 256 and 512, q8_K's one and two. */
const CASES: [ActivationRounding, number][] = [
  ['q8_0', 64],
  ['q8_0', 96],
  ['q8_0', 512],
  ['q8_1', 512],
  ['q8_K', 256],
  ['q8_K', 512],
  ['f16', 512],
  ['bf16', 512],
];

/**
 * SHA-256 of the decoded output of the real llama.cpp for roundingTestRows(K, rng(K + 1)):
 * quantize_row_q8_0/q8_1/q8_K, ggml_cpu_fp32_to_fp16/bf16 called in libggml-cpu-haswell.so
 * (node-llama-cpp 3.21.1, llama.cpp build v0.4.0) from a small C harness, blocks decoded as q · d.
 * q8_0 and q8_1 give the same values on the same rows, as they should.
 */
const LLAMA_CPP_SHA256: Record<string, string> = {
  'q8_0 64': '8fbc685ed6325faeed607ca8b6a293f73c5ac0f2089776e678bf241a518c15f0',
  'q8_0 96': '75a1cec041f0d5e51830c6dd62e6620919b215773eb4f49e1d487f0065b1fb78',
  'q8_0 512': '22dc9aae25590b8dc4cdb7f7f0ee71a2aa4f04f96c96514c3fac2e587e2e0f7c',
  'q8_1 512': '22dc9aae25590b8dc4cdb7f7f0ee71a2aa4f04f96c96514c3fac2e587e2e0f7c',
  'q8_K 256': '2d3e4f389ad295aeb5b17b403a25296ff4da593358a3a2782ea455da3b17d11b',
  'q8_K 512': 'f81c3f03af4d73145d7886c2c6e563806fc46cdec0e1c17a566b4ecb68659fe6',
  'f16 512': 'a0b55a1accad75e0ad6b790ed63445955fbfbfbae17a541ae3b7c63934fcbcb6',
  'bf16 512': 'aa0c7ea129a50e2d9e78a0889639a798213aeaee991ee69bfeb62f7b8cbae91b',
};

/**
 * SHA-256 of the block sums y.s (widened to f32) that the same library's quantize_row_q8_1 keeps
 * for roundingTestRows(512, rng(513)), read the same way by a C harness.
 */
const LLAMA_CPP_Q8_1_SUMS_SHA256 = '14b7171386a5a4e9e05b8610e05b5e966744d89c4317e130a5aa64f670b0d895';

/** SHA-256 of ggml_table_gelu_f16 read from the same library after ggml_cpu_init, over its 63 488 entries for finite inputs (NaN payloads differ harmlessly). */
const GGML_GELU_TABLE_SHA256 = '6be7bd8fd6b8a8fb4b704136976fc0173a0d12de047f1322f1e97fb20723bef7';

async function sha256(data: Float32Array | Uint16Array): Promise<string> {
  // A copy: digest wants an ArrayBuffer-backed view, and the typed arrays here may be subarrays.
  const digest = await crypto.subtle.digest('SHA-256', new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Bit-for-bit comparison (−0 ≠ +0; NaN matches NaN), with the first mismatches listed. */
function bitMismatches(actual: Float32Array, expected: Float32Array, x: Float32Array): { count: number; table: string } {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const bad: string[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      bad.push(`  [${i}] x ${x[i]} actual ${actual[i]} expected ${expected[i]}`);
    }
  }
  return { count: bad.length, table: `${bad.length}/${a.length} mismatches\n${bad.slice(0, 8).join('\n')}` };
}

/** Rounds rows rowOffset..rowOffset+m−1 of x on the GPU into an output pre-filled with 7. */
async function roundOnGpu(gpu: Gpu, x: Float32Array, K: number, mode: ActivationRounding, runs: { m: number; rowOffset?: number }[]): Promise<Float32Array> {
  return withGpuErrors(gpu, async () => {
    const xb = uploadF32(gpu, 'x', x);
    const ob = uploadF32(gpu, 'out', new Float32Array(x.length).fill(7));
    const op = createRoundActivations(gpu, { x: xb, out: ob, K, mode });
    for (const dyn of runs) runOp(gpu, op, dyn);
    const out = await readF32(gpu, ob);
    op.destroy();
    [xb, ob].forEach((b) => b.destroy());
    return out;
  });
}

describe('llama.cpp rounding reference', () => {
  test.each(CASES)('%s, K = %i: reproduces libggml-cpu bit for bit', async (mode, K) => {
    const expected = roundActivationsRef(roundingTestRows(K, rng(K + 1)), K, mode);
    expect(await sha256(expected)).toBe(LLAMA_CPP_SHA256[`${mode} ${K}`]);
  });

  test("q8_1's block sums, K = 512: reproduce libggml-cpu bit for bit", async () => {
    expect(await sha256(q8_1BlockSumsRef(roundingTestRows(512, rng(513)), 512))).toBe(LLAMA_CPP_Q8_1_SUMS_SHA256);
  });

  test('the GELU table reproduces ggml_table_gelu_f16', async () => {
    const table = ggmlGeluTableRef().filter((_, h) => ((h >> 10) & 0x1f) !== 0x1f);
    expect(await sha256(table)).toBe(GGML_GELU_TABLE_SHA256);
  });
});

describe('round_activations', () => {
  test.each(CASES)('%s, K = %i: equals the reference exactly, row offsets respected', async (mode, K) => {
    const gpu = await testGpu();
    const x = roundingTestRows(K, rng(K + 1));
    const rows = x.length / K;
    const expected = roundActivationsRef(x, K, mode);
    // Rows 2..5 first: rows 0, 1 and 6 must keep the 7s.
    const partial = await roundOnGpu(gpu, x, K, mode, [{ m: 4, rowOffset: 2 }]);
    const partialExpected = expected.map((v, i) => (i >= 2 * K && i < 6 * K ? v : 7));
    const r1 = bitMismatches(partial, partialExpected, x);
    expect(r1.count, r1.table).toBe(0);
    // Then every row, over two submits that rewrite the offset and count.
    const full = await roundOnGpu(gpu, x, K, mode, [{ m: 2 }, { m: rows - 2, rowOffset: 2 }]);
    const r2 = bitMismatches(full, expected, x);
    expect(r2.count, r2.table).toBe(0);
  });

  test('q8_1 with block sums: the values of q8_1 and, per block, f16(d·Σq) − Σ of its values, exactly', async () => {
    const gpu = await testGpu();
    const K = 96;
    const x = roundingTestRows(K, rng(5));
    const rows = x.length / K;
    const values = roundActivationsRef(x, K, 'q8_1');
    const stored = q8_1BlockSumsRef(x, K);
    // The residual in f64 from exact terms; the shader's f32 subtraction must land on it exactly.
    const residuals = stored.map((s, b) => s - values.subarray(32 * b, 32 * b + 32).reduce((a, v) => a + v, 0));
    // Rows 0..4 by 3 workgroups to a dimension (15 blocks: 3 × 5), then rows 5..6: every block, at row offsets.
    const { out, sums } = await withGpuErrors(gpu, async () => {
      const limited = withDispatchLimit(gpu, 3);
      const xb = uploadF32(gpu, 'x', x);
      const ob = uploadF32(gpu, 'out', new Float32Array(x.length).fill(7));
      const sb = uploadF32(gpu, 'sums', new Float32Array(x.length / 32).fill(7));
      const op = createRoundActivations(limited, { x: xb, out: ob, K, mode: 'q8_1', blockSums: sb });
      expect(op.label).toBe('round_activations_q8_1_wg32_sums');
      runOp(gpu, op, { m: 5 });
      runOp(gpu, op, { m: rows - 5, rowOffset: 5 });
      const result = { out: await readF32(gpu, ob), sums: await readF32(gpu, sb) };
      op.destroy();
      [xb, ob, sb].forEach((b) => b.destroy());
      return result;
    });
    const rv = bitMismatches(out, values, x);
    expect(rv.count, rv.table).toBe(0);
    const rs = bitMismatches(sums, residuals, x.filter((_, i) => i % 32 === 0));
    expect(rs.count, rs.table).toBe(0);
    // The rows must make the residual matter: most blocks' f16 sums are inexact.
    expect(residuals.filter((r) => r !== 0).length).toBeGreaterThan(residuals.length / 2);
  });

  test('q8_K and bf16 over a dispatch split across x and y', async () => {
    const gpu = await testGpu();
    // q8_K: 7 rows of 2 blocks = 14 workgroups as 4 × 4; bf16: 7·512 elements = 14 workgroups of 256.
    const limited = withDispatchLimit(gpu, 4);
    for (const mode of ['q8_K', 'bf16'] as const) {
      const x = roundingTestRows(512, rng(9));
      const out = await roundOnGpu(limited, x, 512, mode, [{ m: 7 }]);
      const r = bitMismatches(out, roundActivationsRef(x, 512, mode), x);
      expect(r.count, `${mode}: ${r.table}`).toBe(0);
    }
  });

  test('f16 rounds every half, every midpoint between halves and their neighbours as F16C does', async () => {
    const gpu = await testGpu();
    // The sweep ends past 65504 (a tie that rounds to infinity); infinities, −0 and NaN follow.
    const sweep = f16RoundingSweep();
    const x = Float32Array.from([...sweep, Infinity, -Infinity, -0, NaN, 1e30, -1e-30]);
    const out = await roundOnGpu(gpu, x, x.length, 'f16', [{ m: 1 }]);
    const r = bitMismatches(out, roundActivationsRef(x, x.length, 'f16'), x);
    expect(r.count, r.table).toBe(0);
  });

  test('bf16 keeps NaN a NaN and infinities infinite, and carries ties into the exponent', async () => {
    const gpu = await testGpu();
    // Quiet and signalling NaNs, ±inf, 0x3fffffff (rounds up into the next binade), the largest
    // finite f32 (rounds to inf), ties with an even (0x3f80|8000, stays) and an odd (0x3f81|8000,
    // goes up) kept half, −0, and the smallest subnormal (rounds to +0).
    const bits = new Uint32Array([0x7fc00001, 0xff800001, 0x7f800000, 0xff800000, 0x3fffffff, 0x7f7fffff, 0x3f808000, 0x3f818000, 0x80000000, 0x00000001]);
    const x = new Float32Array(bits.buffer);
    const out = await roundOnGpu(gpu, x, x.length, 'bf16', [{ m: 1 }]);
    const r = bitMismatches(out, roundActivationsRef(x, x.length, 'bf16'), x);
    expect(r.count, r.table).toBe(0);
    expect(Number.isNaN(out[0]) && Number.isNaN(out[1])).toBe(true);
    expect(out[5]).toBe(Infinity);
  });

  test('K must fill whole blocks', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', new Float32Array(288));
      const ob = uploadF32(gpu, 'out', new Float32Array(288));
      expect(() => createRoundActivations(gpu, { x: xb, out: ob, K: 48, mode: 'q8_0' })).toThrow(RangeError);
      // 288 is 9 blocks of 32 but not whole blocks of 256.
      expect(() => createRoundActivations(gpu, { x: xb, out: ob, K: 288, mode: 'q8_K' })).toThrow(RangeError);
      expect(() => createRoundActivations(gpu, { x: xb, out: xb, K: 288, mode: 'f16' })).toThrow(RangeError);
      const op = createRoundActivations(gpu, { x: xb, out: ob, K: 96, mode: 'q8_1' });
      expect(op.label).toBe('round_activations_q8_1_wg32');
      expect(() => runOp(gpu, op, { m: 2, rowOffset: 2 })).toThrow(RangeError);
      op.destroy();
      // Block sums belong to q8_1, and must hold a residual for each block of the rows run.
      const sb = uploadF32(gpu, 'sums', new Float32Array(5));
      expect(() => createRoundActivations(gpu, { x: xb, out: ob, K: 96, mode: 'q8_0', blockSums: sb })).toThrow(RangeError);
      const withSums = createRoundActivations(gpu, { x: xb, out: ob, K: 96, mode: 'q8_1', blockSums: sb });
      expect(() => runOp(gpu, withSums, { m: 2 })).toThrow(RangeError);
      withSums.destroy();
      [xb, ob, sb].forEach((b) => b.destroy());
    });
  });
});

describe('llamaCppRounding', () => {
  test("maps weight types to ggml-cpu's vec_dot_type", () => {
    expect(llamaCppRounding('F32')).toBeUndefined();
    expect(['F16', 'BF16', 'Q4_0', 'Q5_0', 'Q8_0', 'Q4_1', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'].map(llamaCppRounding)).toEqual([
      'f16',
      'bf16',
      'q8_0',
      'q8_0',
      'q8_0',
      'q8_1',
      'q8_1',
      'q8_K',
      'q8_K',
      'q8_K',
      'q8_K',
      'q8_K',
    ]);
    expect(() => llamaCppRounding('IQ4_NL')).toThrow(RangeError);
  });
});
