import { describe, expect, test } from 'vitest';
import { add, argmax, biasAdd, embedding, gelu, layernorm, matmulAbsMax, matmulNT, rmsnorm, silu, softcap, swiglu } from './linalg.ts';

// Hand-computed cases: the GPU tests trust these functions, so they are checked first.
describe('float64 reference', () => {
  test('matmulNT takes w as [N, K] (out × in)', () => {
    const x = [1, 2, 3, 4, 5, 6]; // [2, 3]
    const w = [1, 0, -1, 2, 1, 0]; // [2, 3]: rows (1, 0, -1) and (2, 1, 0)
    expect([...matmulNT(x, w, 2, 3, 2)]).toEqual([1 - 3, 2 + 2, 4 - 6, 8 + 5]);
  });

  test('matmulAbsMax sums magnitudes', () => {
    expect(matmulAbsMax([1, -2], [-3, -4], 1, 2, 1)).toBe(11);
  });

  test('embedding gathers rows and zeroes ids out of range', () => {
    const table = [10, 11, 20, 21, 30, 31]; // V = 3, D = 2
    expect([...embedding([2, 0, 3], table, 2, 3)]).toEqual([30, 31, 10, 11, 0, 0]);
  });

  test('rmsnorm divides by the root mean square, then scales', () => {
    // Row (3, 4): mean square 12.5, so 1/√12.5 = 0.2828…; eps keeps the zero row finite.
    const out = rmsnorm([3, 4, 0, 0], [1, 2], 2, 2, 1e-6);
    const s = 1 / Math.sqrt(12.5 + 1e-6);
    expect(out[0]).toBeCloseTo(3 * s, 14);
    expect(out[1]).toBeCloseTo(8 * s, 14);
    expect([out[2], out[3]]).toEqual([0, 0]);
    // eps = 1 on the row (1, 1): 1/√2.
    expect(rmsnorm([1, 1], [1, 1], 1, 2, 1)[0]).toBeCloseTo(Math.SQRT1_2, 14);
  });

  test('layernorm centres, divides by the standard deviation, then scales and shifts', () => {
    // Row (1, 3): mean 2, variance 1; row (5, 5): variance 0, so eps alone sets the scale.
    const out = layernorm([1, 3, 5, 5], [2, 3], [0.5, -1], 2, 2, 1e-6);
    const s = 1 / Math.sqrt(1 + 1e-6);
    expect(out[0]).toBeCloseTo(-1 * s * 2 + 0.5, 14);
    expect(out[1]).toBeCloseTo(1 * s * 3 - 1, 14);
    expect([out[2], out[3]]).toEqual([0.5, -1]);
  });

  test('add and swiglu', () => {
    expect([...add([1, 2], [0.5, -2])]).toEqual([1.5, 0]);
    expect(silu(0)).toBe(0);
    expect(silu(1)).toBeCloseTo(1 / (1 + Math.exp(-1)), 15);
    expect(silu(-50)).toBeCloseTo(0, 15);
    expect([...swiglu([0, 2], [5, 3])]).toEqual([0, 3 * (2 / (1 + Math.exp(-2)))]);
  });

  test('biasAdd adds the same bias to every row', () => {
    expect([...biasAdd([1, 2, 3, 4, 5, 6], [10, 20, 30], 3)]).toEqual([11, 22, 33, 14, 25, 36]);
  });

  test('gelu is the tanh formula, with the right limits where that formula cancels', () => {
    const tanhForm = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    for (const x of [-3, -1, -0.1, 0.5, 2, 6]) expect(gelu(x)).toBeCloseTo(tanhForm(x), 14);
    // Published values of gelu_pytorch_tanh (torch.nn.functional.gelu(x, approximate='tanh')).
    expect(gelu(1)).toBeCloseTo(0.8411919906, 9);
    expect(gelu(-1)).toBeCloseTo(-0.1588080094, 9);
    expect(gelu(0)).toBe(0);
    // Far below zero the tanh form gives 0 (1 + tanh(u) rounds to 0); the value is tiny but negative.
    expect(gelu(-10)).toBeLessThan(0);
    expect(gelu(-10)).toBeGreaterThan(-1e-20);
    expect(gelu(40)).toBe(40);
    expect([...swiglu([1, 0], [2, 5], 'gelu_tanh')]).toEqual([2 * gelu(1), 0]);
  });

  test('softcap bends large values toward ±cap and keeps small ones', () => {
    const out = softcap([0.01, 1e6, -1e6, 30], 30);
    expect(out[0]).toBeCloseTo(0.01, 8);
    expect([out[1], out[2]]).toEqual([30, -30]);
    expect(out[3]).toBeCloseTo(30 * Math.tanh(1), 14);
  });

  test('argmax returns the first index of the maximum within the row', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([9, 9, 0, 5, 7, 7], 3, 3)).toBe(1);
    expect(argmax([-Infinity, -Infinity])).toBe(0);
  });
});
