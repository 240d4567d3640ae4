import { describe, expect, test } from 'vitest';
import { compare, randomF32, rng, runOp, testGpu, withDispatchLimit, withGpuErrors } from '../../../test/gpu.ts';
import { f16RoundingSweep } from '../../../test/reference/attention.ts';
import { swiglu } from '../../../test/reference/linalg.ts';
import { ggmlGeluGated, ggmlGeluTableRef } from '../../../test/reference/llamaCppRounding.ts';
import { readF32, uploadF32 } from '../buffers.ts';
import { createSwiglu } from './swiglu.ts';

const EPS32 = 2 ** -23;

/**
 * The same device, reporting a tiny maxComputeWorkgroupsPerDimension so that a
 * small dispatch takes the 2-D split a long prompt would need; reaching the real
 * limit of 65535 would take SwiftShader minutes.
 */

describe('swiglu', () => {
  const F = 67;

  test('matches the float64 reference over m rows, in two submits with different m', async () => {
    const gpu = await testGpu();
    const random = rng(31);
    const rows = 8;
    const gScale = 6;
    const gate = randomF32(rows * F, random, gScale);
    const up = randomF32(rows * F, random);
    await withGpuErrors(gpu, async () => {
      const gb = uploadF32(gpu, 'gate', gate);
      const ub = uploadF32(gpu, 'up', up);
      const ob = uploadF32(gpu, 'out', new Float32Array(rows * F).fill(7));
      const op = createSwiglu(gpu, { gate: gb, up: ub, out: ob, F });
      expect(op.label).toBe('swiglu_f32_wg256');
      runOp(gpu, op, { m: 1 });
      // The second call must reach row 6, so its count was rewritten; row 7 stays 7.
      runOp(gpu, op, { m: 7 });
      const expected = swiglu(gate, up).fill(7, 7 * F);
      // WGSL allows exp an error of 3 + 2|g| ULP, which carries into 1 + e^(−g) and
      // the quotient; division (2.5 ULP) and the product (0.5 ULP) add a few more.
      const rtol = (3 + 2 * gScale + 6) * EPS32;
      const r = compare(await readF32(gpu, ob), expected, 0, rtol);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [gb, ub, ob].forEach((b) => b.destroy());
    });
  });

  // One matmul over the stacked gate and up matrices writes rows [gate | up]: the fused kernel
  // must compute, bit for bit, what the separate-buffer kernel (held to float64 here) does.
  test.each(['silu', 'gelu_tanh', 'gelu_tanh_f16'] as const)('%s: rows [gate | up] in one buffer give the separate buffers\' result exactly', async (activation) => {
    const gpu = await testGpu();
    const random = rng(37);
    const m = 6;
    const gate = randomF32(m * F, random, 6);
    const up = randomF32(m * F, random);
    const gateUp = new Float32Array(2 * m * F);
    for (let r = 0; r < m; r++) {
      gateUp.set(gate.subarray(r * F, (r + 1) * F), 2 * r * F);
      gateUp.set(up.subarray(r * F, (r + 1) * F), (2 * r + 1) * F);
    }
    await withGpuErrors(gpu, async () => {
      const [gb, ub, gub] = [uploadF32(gpu, 'gate', gate), uploadF32(gpu, 'up', up), uploadF32(gpu, 'gate_up', gateUp)];
      const [separate, fused] = [uploadF32(gpu, 'out', new Float32Array(m * F + 1).fill(7)), uploadF32(gpu, 'out_fused', new Float32Array(m * F + 1).fill(7))];
      const ops = [createSwiglu(gpu, { gate: gb, up: ub, out: separate, F, activation }), createSwiglu(gpu, { gateUp: gub, out: fused, F, activation })];
      expect(ops[1].label).toContain('_fused_');
      // m − 1 rows: the last row and the sentinel past it must stay untouched.
      for (const op of ops) runOp(gpu, op, { m: m - 1 });
      const [a, b] = [await readF32(gpu, separate), await readF32(gpu, fused)];
      expect([...b]).toEqual([...a]);
      expect(b.subarray((m - 1) * F).every((v) => v === 7)).toBe(true);
      ops.forEach((op) => op.destroy());
      [gb, ub, gub, separate, fused].forEach((buffer) => buffer.destroy());
    });
  });

  test('saturates without NaN far from zero', async () => {
    const gpu = await testGpu();
    // e^(−g) overflows to inf for g = −100 and −1e30, and underflows to 0 for g = 100 and 1e30.
    const gate = new Float32Array([-100, -1e30, 100, 1e30, 0]);
    const up = new Float32Array([3, -3, 0.5, 2, 5]);
    await withGpuErrors(gpu, async () => {
      const gb = uploadF32(gpu, 'gate', gate);
      const ub = uploadF32(gpu, 'up', up);
      const ob = uploadF32(gpu, 'out', new Float32Array(gate.length));
      const op = createSwiglu(gpu, { gate: gb, up: ub, out: ob, F: gate.length });
      runOp(gpu, op, { m: 1 });
      // silu(−100) ≈ −3.7e−42 is subnormal, which a GPU may flush to zero: atol is the
      // smallest normal f32. The saturated results are exact up to the final product's rounding.
      const r = compare(await readF32(gpu, ob), swiglu(gate, up), 2 ** -126, EPS32);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [gb, ub, ob].forEach((b) => b.destroy());
    });
  });

  test('gelu_tanh (GeGLU) matches the float64 reference over ragged rows', async () => {
    const gpu = await testGpu();
    const random = rng(33);
    const m = 5;
    const gScale = 4;
    const gate = randomF32(m * F, random, gScale);
    const up = randomF32(m * F, random);
    await withGpuErrors(gpu, async () => {
      const gb = uploadF32(gpu, 'gate', gate);
      const ub = uploadF32(gpu, 'up', up);
      const ob = uploadF32(gpu, 'out', new Float32Array(m * F + 3).fill(7));
      const op = createSwiglu(gpu, { gate: gb, up: ub, out: ob, F, activation: 'gelu_tanh' });
      expect(op.label).toBe('swiglu_gelu_tanh_f32_wg256');
      runOp(gpu, op, { m });
      // The kernel computes g / (1 + e^(−2u)). For |g| ≤ 4, |2u| ≤ 11: exp's own bound is
      // 3 + 2|2u| ULP, and the ~5 roundings in forming 2u shift the exponent by up to 5|2u| ULP
      // of relative error; the sum, quotient and product add about 4 ULP. That worst case,
      // ~1e-5, is still 100 times below the gap to erf-GELU (1e-3 relative at g = −2), which
      // a kernel using the wrong GELU would show. Measured: 12 ULP in Chromium and Dawn.
      const twoU = 2 * Math.sqrt(2 / Math.PI) * (gScale + 0.044715 * gScale ** 3);
      const rtol = (3 + 7 * twoU + 4) * EPS32;
      const r = compare(await readF32(gpu, ob), [...swiglu(gate, up, 'gelu_tanh'), 7, 7, 7], 0, rtol);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [gb, ub, ob].forEach((b) => b.destroy());
    });
  });

  test('gelu_tanh saturates without NaN far from zero', async () => {
    const gpu = await testGpu();
    // g³ overflows to ±inf for ±1e30; e^(−2u) overflows for −100 and −1e30 and underflows for 100 and 1e30.
    const gate = new Float32Array([-100, -1e30, 100, 1e30, 0, -6]);
    const up = new Float32Array([3, -3, 0.5, 2, 5, 1]);
    await withGpuErrors(gpu, async () => {
      const gb = uploadF32(gpu, 'gate', gate);
      const ub = uploadF32(gpu, 'up', up);
      const ob = uploadF32(gpu, 'out', new Float32Array(gate.length));
      const op = createSwiglu(gpu, { gate: gb, up: ub, out: ob, F: gate.length, activation: 'gelu_tanh' });
      runOp(gpu, op, { m: 1 });
      // gelu(−6) ≈ −8.4e−11 is checked to the bound above with |2u| ≈ 25; gelu(−100)
      // underflows to zero or a subnormal a GPU may flush: atol is the smallest normal f32.
      const r = compare(await readF32(gpu, ob), swiglu(gate, up, 'gelu_tanh'), 2 ** -126, (3 + 7 * 25 + 4) * EPS32);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [gb, ub, ob].forEach((b) => b.destroy());
    });
  });

  test('gelu_tanh_f16 is ggml_vec_geglu_f32 under GGML_GELU_FP16, exactly', async () => {
    const gpu = await testGpu();
    // Gates: every f16 in (−10.5, 10.5) with the midpoints to its neighbours and their f32
    // neighbours (every table entry, and the f16 index's ties), then the clamps at ±10 (9.999
    // rounds to 10 in f16 but is inside the table's range) and far-out values.
    const gate = Float32Array.from([...f16RoundingSweep().filter((v) => Math.abs(v) < 10.5), 10, -10, 9.999, -9.999, 1e30, -1e30, -0]);
    const up = randomF32(gate.length, rng(34), 3);
    const table = ggmlGeluTableRef();
    await withGpuErrors(gpu, async () => {
      const gb = uploadF32(gpu, 'gate', gate);
      const ub = uploadF32(gpu, 'up', up);
      const ob = uploadF32(gpu, 'out', new Float32Array(gate.length + 1).fill(7));
      const op = createSwiglu(gpu, { gate: gb, up: ub, out: ob, F: gate.length, activation: 'gelu_tanh_f16' });
      expect(op.label).toBe('swiglu_gelu_tanh_f16_f32_wg256');
      runOp(gpu, op, { m: 1 });
      // Exact: the same table entry times up, one correctly rounded f32 product, as in ggml.
      const expected = [...Array.from(gate, (g, j) => ggmlGeluGated(g, up[j], table)), 7];
      const r = compare(await readF32(gpu, ob), expected, 0);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [gb, ub, ob].forEach((b) => b.destroy());
    });
  });

  test('a dispatch split over x and y writes every element once', async () => {
    const gpu = await testGpu();
    const random = rng(32);
    // 37 × 67 = 2479 elements = 10 workgroups of 256, dispatched as 3 × 4.
    const m = 37;
    const gate = randomF32(m * F, random);
    const up = randomF32(m * F, random);
    await withGpuErrors(gpu, async () => {
      const gb = uploadF32(gpu, 'gate', gate);
      const ub = uploadF32(gpu, 'up', up);
      const ob = uploadF32(gpu, 'out', new Float32Array(m * F + 1).fill(7));
      const op = createSwiglu(withDispatchLimit(gpu, 3), { gate: gb, up: ub, out: ob, F });
      runOp(gpu, op, { m });
      // |g| ≤ 1 here: exp's bound is 5 ULP, plus the division and product as above.
      const r = compare(await readF32(gpu, ob), [...swiglu(gate, up), 7], 0, 11 * EPS32);
      expect(r.count, r.table).toBe(0);
      op.destroy();
      [gb, ub, ob].forEach((b) => b.destroy());
    });
  });
});
