import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { f16RoundingSweep } from '../../../test/reference/attention.ts';
import { gelu, softcap } from '../../../test/reference/linalg.ts';
import { ggmlGeluGated, ggmlGeluTableRef } from '../../../test/reference/llamaCppRounding.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import { createGelu, createScale, createSoftcap } from './elementwise.ts';

const EPS32 = 2 ** -23;

/**
 * GELU as g / (1 + e^(−2u)): for |g| ≤ 4, |2u| ≤ 11; exp's bound is 3 + 2|2u| ULP, the ~5
 * roundings that form 2u add up to 5|2u| ULP, the sum and quotient about 3 more (swiglu's
 * gated test argues the same bound). About 1e-5 relative, 100 times below the gap to erf-GELU.
 * Measured: at most 10 ULP in Chromium and Dawn.
 */
const GELU_RTOL = (3 + 7 * 11 + 3) * EPS32;

/**
 * Soft-capping: x·(1/cap) is within 1 ULP (1/cap rounded once, then the product); tanh's
 * condition number |y·tanh'(y)/tanh(y)| is at most 1, so that passes through; the kernel's tanh
 * is within ~10 ULP (the series below |y| = ¼, else 1 − e^(−2|y|) with e^(−2|y|) ≤ 0.61 carrying
 * exp's 3 + 4|y| ULP amplified at most 1.6 times, then three roundings); the product with cap adds
 * one. 2× margin: 24 ULP, about 3e-6. Math.tanh differs from the ideal by far less. Measured:
 * 2.2 ULP in Chromium and Dawn.
 */
const SOFTCAP_RTOL = 24 * EPS32;

describe('gelu (ungated, gpt2)', () => {
  // 67 per row leaves a partial last workgroup on every dispatch.
  const F = 67;

  test('out of place over ragged rows, leaving the elements past m·F alone', async () => {
    const gpu = await testGpu();
    const m = 5;
    const x = randomF32(m * F, rng(51), 4);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const ob = uploadF32(gpu, 'out', new Float32Array(m * F + 2).fill(7));
      const op = createGelu(gpu, { x: xb, out: ob, F });
      expect(op.label).toBe('gelu_f32_wg256');
      runOp(gpu, op, { m });
      const r = compare(await readF32(gpu, ob), [...Array.from(x, (v) => gelu(v)), 7, 7], 0, GELU_RTOL);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, ob].forEach((b) => b.destroy());
    });
  });

  test('in place, with saturating inputs and a dispatch split over x and y', async () => {
    const gpu = await testGpu();
    // 11 rows of 67 = 3 workgroups, dispatched as 2 × 2 with one idle.
    const m = 11;
    const x = randomF32(m * F, rng(52), 4);
    // g³ overflows for ±1e30, e^(−2u) overflows for −100 and underflows for 100.
    x.set([-100, -1e30, 100, 1e30, 0]);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const op = createGelu(withDispatchLimit(gpu, 2), { x: xb, out: xb, F });
      expect(op.label).toBe('gelu_inplace_f32_wg256');
      runOp(gpu, op, { m });
      // gelu(−100) is ~1e−2000 in exact arithmetic: zero or a flushed subnormal, hence the
      // smallest normal f32 as atol.
      const r = compare(await readF32(gpu, xb), Array.from(x, (v) => gelu(v)), 2 ** -126, GELU_RTOL);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      xb.destroy();
    });
  });
});

describe('gelu through ggml\'s f16 table (llama.cpp numerics)', () => {
  // Every f16 in (−10.5, 10.5), each midpoint to the next and the midpoints' f32 neighbours, so every
  // table entry is read and the f16 index must round to nearest even; then the clamps: exactly ±10,
  // values that round to ±10 in f16 but sit inside the open interval, and far-out and tiny inputs.
  const x = Float32Array.from([
    ...f16RoundingSweep().filter((v) => Math.abs(v) < 10.5),
    10,
    -10,
    9.999,
    -9.999,
    Math.fround(-10.000001),
    1e30,
    -1e30,
    -0,
    1e-40,
    -1e-40,
  ]);
  const table = ggmlGeluTableRef();
  // Exact: the kernel indexes the same table with the same f16 rounding, and clamps alike.
  const expected = Array.from(x, (v) => ggmlGeluGated(v, 1, table));

  test('out of place', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const ob = uploadF32(gpu, 'out', new Float32Array(x.length + 1).fill(7));
      const op = createGelu(gpu, { x: xb, out: ob, F: x.length, f16Table: true });
      expect(op.label).toBe('gelu_table_f32_wg256');
      runOp(gpu, op, { m: 1 });
      const r = compare(await readF32(gpu, ob), [...expected, 7], 0);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [xb, ob].forEach((b) => b.destroy());
    });
  });

  test('in place, over a dispatch split across x and y', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const op = createGelu(withDispatchLimit(gpu, 64), { x: xb, out: xb, F: x.length, f16Table: true });
      expect(op.label).toBe('gelu_table_inplace_f32_wg256');
      runOp(gpu, op, { m: 1 });
      const r = compare(await readF32(gpu, xb), expected, 0);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      xb.destroy();
    });
  });
});

describe('softcap', () => {
  test('caps rows in place around ±cap, from the tiny to the huge, and stops at m·N', async () => {
    const gpu = await testGpu();
    const N = 67;
    const m = 3;
    const cap = 30;
    // Values from 1e-3 to 3000 with both signs: the series branch (|x/cap| < ¼), the exp branch,
    // and saturation all occur; ±1e30 and ±inf must give ±cap, not NaN.
    const random = rng(53);
    const x = Float32Array.from({ length: m * N + 5 }, () => (random() < 0.5 ? -1 : 1) * 10 ** (random() * 6.5 - 3));
    x.set([1e30, -1e30, Infinity, -Infinity, 0]);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const op = createSoftcap(gpu, { x: xb, cap, N });
      expect(op.label).toBe('softcap_f32_wg256');
      runOp(gpu, op, { m });
      const expected = [...softcap(x.subarray(0, m * N), cap), ...x.subarray(m * N)];
      const r = compare(await readF32(gpu, xb), expected, 0, SOFTCAP_RTOL);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      xb.destroy();
    });
  });

  test('a cap must be positive', async () => {
    const gpu = await testGpu();
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', new Float32Array(4));
      expect(() => createSoftcap(gpu, { x: xb, cap: 0, N: 4 })).toThrow(/cap/);
      xb.destroy();
    });
  });
});

describe('scale', () => {
  test('scales m rows in place by √hidden, and only those', async () => {
    const gpu = await testGpu();
    const N = 67;
    const x = randomF32(4 * N, rng(54));
    const scale = Math.sqrt(2304);
    await withGpuErrors(gpu, async () => {
      const xb = uploadF32(gpu, 'x', x);
      const op = createScale(gpu, { x: xb, scale, N });
      expect(op.label).toBe('scale_f32_wg256');
      runOp(gpu, op, { m: 3 });
      const expected = Float64Array.from(x, (v, i) => (i < 3 * N ? v * Math.fround(scale) : v));
      // One correctly rounded product of f32 values (scale is passed as f32): half an ULP.
      const r = compare(await readF32(gpu, xb), expected, 0, 2 ** -24);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      xb.destroy();
    });
  });
});
