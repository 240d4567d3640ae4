import { describe, expect, test } from 'vitest';
import { add, argmax, embedding, matmulAbsMax, matmulNT, rmsnorm, silu, swiglu } from './linalg.ts';

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

  test('add and swiglu', () => {
    expect([...add([1, 2], [0.5, -2])]).toEqual([1.5, 0]);
    expect(silu(0)).toBe(0);
    expect(silu(1)).toBeCloseTo(1 / (1 + Math.exp(-1)), 15);
    expect(silu(-50)).toBeCloseTo(0, 15);
    expect([...swiglu([0, 2], [5, 3])]).toEqual([0, 3 * (2 / (1 + Math.exp(-2)))]);
  });

  test('argmax returns the first index of the maximum within the row', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([9, 9, 0, 5, 7, 7], 3, 3)).toBe(1);
    expect(argmax([-Infinity, -Infinity])).toBe(0);
  });
});
