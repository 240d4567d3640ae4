import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { rng } from '../../../test/gpu.ts';
import { f16ToF32 } from './dtype.ts';
import { dequantizeRowK, K_TYPES, kquantByteLength, quantizeRowK, type KType } from './kquant.ts';

const types: KType[] = ['Q4_K', 'Q5_K', 'Q6_K'];

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../../test/fixtures/kquant/${name}`, import.meta.url)));
}

function f32(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.slice().buffer);
}

const fileName = (type: KType) => `q${type.slice(1)}`;

describe('K-quants against llama.cpp', () => {
  const input = f32(fixture('input.f32'));

  test.each(types)('%s: quantizeRowK writes the bytes of quantize_row_*_ref', (type) => {
    const expected = fixture(`${fileName(type)}.bin`);
    const actual = quantizeRowK(type, input);
    const size = K_TYPES[type].blockBytes;
    const bad = [...actual].flatMap((v, i) => (v === expected[i] ? [] : [`block ${Math.floor(i / size)} byte ${i % size}: ${v} ≠ ${expected[i]}`]));
    expect(bad.slice(0, 8)).toEqual([]);
    expect(actual.length).toBe(expected.length);
  });

  test.each(types)('%s: dequantizeRowK returns the f32 values of dequantize_row_* bit for bit', (type) => {
    const expected = f32(fixture(`${fileName(type)}.dequant.f32`));
    const actual = dequantizeRowK(type, fixture(`${fileName(type)}.bin`), input.length);
    const bad = [...actual].flatMap((v, i) => (Object.is(v, expected[i]) ? [] : [`[${i}] ${v} ≠ ${expected[i]}`]));
    expect(bad.slice(0, 8)).toEqual([]);
  });
});

describe('hand-built blocks', () => {
  // Scale bytes when every sub-block has scale 63 and min 0: bytes 0-3 hold the low 6 bits of
  // scales 0-3 plus the top 2 bits of scales 4-7, bytes 4-7 mins 0-3 (0), bytes 8-11 the low
  // nibbles of scales 4-7 (0xF) and of mins 4-7 (0).
  const fullScales = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x0f, 0x0f, 0x0f, 0x0f];

  test('Q4_K: all ones is scale 63, min 0, every nibble 15, d = f16(1/15 / 63)', () => {
    const bytes = quantizeRowK('Q4_K', new Float32Array(256).fill(1));
    // 1/945 = 2^-10 · 1.0836: mantissa round(0.0836 · 1024) = 86, biased exponent 5.
    expect([...bytes.subarray(0, 16)]).toEqual([0x56, 0x14, 0, 0, ...fullScales]);
    expect(bytes.subarray(16).every((b) => b === 0xff)).toBe(true);
  });

  test('Q4_K: a constant negative block is all min: scale 0, min 63, zero nibbles, dmin = f16(0.5 / 63)', () => {
    const bytes = quantizeRowK('Q4_K', new Float32Array(256).fill(-0.5));
    // 0.5/63 = 2^-7 · 1.0159: mantissa round(0.0159 · 1024) = 16, biased exponent 8. Mins 0-3
    // sit in bytes 4-7 with the top bits of mins 4-7; bytes 8-11 carry min nibbles 4-7 high.
    expect([...bytes.subarray(0, 16)]).toEqual([0, 0, 0x10, 0x20, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xf0, 0xf0, 0xf0, 0xf0]);
    expect(bytes.subarray(16).every((b) => b === 0)).toBe(true);
    // −dmin·63 = −f16(0.5/63)·63, within f16's relative step 2^-11 of −0.5.
    expect(dequantizeRowK('Q4_K', bytes, 256).every((v) => Math.abs(v + 0.5) < 0.5 * 2 ** -10)).toBe(true);
  });

  test('Q5_K: all ones sets every fifth bit and every nibble, d = f16(1/31 / 63)', () => {
    const bytes = quantizeRowK('Q5_K', new Float32Array(256).fill(1));
    // 1/1953 = 2^-11 · 1.0486: mantissa round(0.0486 · 1024) = 50, biased exponent 4.
    expect([...bytes.subarray(0, 16)]).toEqual([0x32, 0x10, 0, 0, ...fullScales]);
    expect(bytes.subarray(16).every((b) => b === 0xff)).toBe(true);
  });

  test('Q6_K: all ones is scale −128, level −32 everywhere, d = 2^-12', () => {
    const bytes = quantizeRowK('Q6_K', new Float32Array(256).fill(1));
    // The largest magnitude maps to −32 (the side with 32 levels), so scale·d = −1/32 and every
    // value is level 0 (−32 + 32): ql and qh are zero, the int8 scales 0x80, d = 2^-12 = 0x0C00.
    expect(bytes.subarray(0, 192).every((b) => b === 0)).toBe(true);
    expect(bytes.subarray(192, 208).every((b) => b === 0x80)).toBe(true);
    expect([bytes[208], bytes[209]]).toEqual([0x00, 0x0c]);
    expect(dequantizeRowK('Q6_K', bytes, 256).every((v) => v === 1)).toBe(true);
  });

  test.each(types)('%s: an all-zero block is all zero bytes and decodes to zeros', (type) => {
    const bytes = quantizeRowK(type, new Float32Array(256));
    expect(bytes.every((b) => b === 0)).toBe(true);
    expect(dequantizeRowK(type, bytes, 256).every((v) => v === 0)).toBe(true);
  });
});

/**
 * The ggml layout spelled out per element, in float64: byte offsets from the block structs in
 * ggml-common.h, the 6-bit packing of get_scale_min_k4, and Q6_K's four quadrants per half.
 */
function referenceElement(type: KType, block: Uint8Array, e: number): number {
  const u8 = (i: number) => block[i];
  const f16 = (i: number) => f16ToF32(u8(i) | (u8(i + 1) << 8));
  if (type === 'Q6_K') {
    const half = Math.floor(e / 128);
    const r = e % 128;
    const quadrant = Math.floor(r / 32);
    const l = r % 32;
    const qlByte = u8(64 * half + (quadrant % 2 === 1 ? 32 : 0) + l);
    const low = quadrant >= 2 ? qlByte >> 4 : qlByte & 15;
    const high = (u8(128 + 32 * half + l) >> (2 * quadrant)) & 3;
    const scale = u8(192 + Math.floor(e / 16));
    return f16(208) * (scale >= 128 ? scale - 256 : scale) * (low + 16 * high - 32);
  }
  const j = Math.floor(e / 32);
  const scaleByte = (i: number) => u8(4 + i);
  const sc = j < 4 ? scaleByte(j) % 64 : (scaleByte(j + 4) % 16) + 16 * (scaleByte(j - 4) >> 6);
  const m = j < 4 ? scaleByte(j + 4) % 64 : (scaleByte(j + 4) >> 4) + 16 * (scaleByte(j) >> 6);
  const qs = type === 'Q5_K' ? 48 : 16;
  const byte = u8(qs + 32 * Math.floor(j / 2) + (e % 32));
  let q = j % 2 === 1 ? byte >> 4 : byte & 15;
  if (type === 'Q5_K') q += 16 * ((u8(16 + (e % 32)) >> j) & 1);
  return f16(0) * sc * q - f16(2) * m;
}

describe('dequantizeRowK', () => {
  test.each(types)('%s: random bytes decode to the per-element formula of the ggml layout', (type) => {
    const random = rng(types.indexOf(type) + 1);
    const size = K_TYPES[type].blockBytes;
    const blocks = 8;
    const bytes = Uint8Array.from({ length: blocks * size }, () => Math.floor(random() * 256));
    // Any byte pattern is valid except an f16 d/dmin of Inf/NaN: clear the top exponent bit of each.
    for (let b = 0; b < blocks; b++) {
      for (const at of type === 'Q6_K' ? [208] : [0, 2]) bytes[b * size + at + 1] &= 0xbf;
    }
    const actual = dequantizeRowK(type, bytes, blocks * 256);
    for (let b = 0; b < blocks; b++) {
      const block = bytes.subarray(b * size, (b + 1) * size);
      for (let e = 0; e < 256; e++) {
        const expected = referenceElement(type, block, e);
        // ggml rounds d·scale, d·scale·q and dmin·min to f32 (three roundings of at most
        // 2^-24 relative each, and the subtraction one more), so allow 4 f32 half-ulps of the terms.
        const terms = Math.abs(expected) + (type === 'Q6_K' ? 0 : 2 * Math.abs(referenceElement(type, zeroQuants(type, block), e)));
        const tol = 4 * 2 ** -24 * terms;
        if (!(Math.abs(actual[b * 256 + e] - expected) <= tol)) {
          expect.fail(`block ${b} element ${e}: ${actual[b * 256 + e]} ≠ ${expected} (tolerance ${tol})`);
        }
      }
    }
  });

  test('rejects rows that are not whole super-blocks or bytes that are too few', () => {
    expect(() => dequantizeRowK('Q4_K', new Uint8Array(144), 255)).toThrow(RangeError);
    expect(() => dequantizeRowK('Q6_K', new Uint8Array(209), 256)).toThrow(RangeError);
    expect(() => quantizeRowK('Q5_K', new Float32Array(300))).toThrow(RangeError);
    expect(() => quantizeRowK('Q5_K', new Float32Array(256).fill(NaN))).toThrow(RangeError);
    expect(kquantByteLength('Q6_K', 512)).toBe(420);
  });
});

/** A copy of a Q4_K/Q5_K block with every quant zeroed: each element then decodes to −dmin·min of its sub-block. */
function zeroQuants(type: KType, block: Uint8Array): Uint8Array {
  const copy = block.slice();
  copy.fill(0, 16, K_TYPES[type].blockBytes);
  return copy;
}

describe('round trip', () => {
  // For values uniform in [−1, 1], rounding to the nearest of evenly spaced levels over the
  // range has RMS error step/√12. The fits try that grid (Q4_K/Q5_K: nmax+1 levels over a
  // sub-block's min..max, Q6_K: 64 levels with the largest magnitude at −32) among others and
  // keep the smallest (weighted) squared error, and for such data the 6-bit sub-block scales
  // land near 63, within 1/126 of the fitted value, so the RMS stays below step/√12. A fit may
  // move single values up to one step to lower the sum, never further (one level of clipping).
  const cases: [KType, step: number][] = [
    ['Q4_K', 2 / 15],
    ['Q5_K', 2 / 31],
    ['Q6_K', 1 / 32],
  ];

  test.each(cases)('%s: uniform values come back within the bounds of their step %f', (type, step) => {
    const random = rng(31);
    const n = 256 * 16;
    const x = Float32Array.from({ length: n }, () => random() * 2 - 1);
    const y = dequantizeRowK(type, quantizeRowK(type, x), n);
    let sumSq = 0;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const d = Math.abs(x[i] - y[i]);
      sumSq += d * d;
      max = Math.max(max, d);
    }
    expect(Math.sqrt(sumSq / n)).toBeLessThan(step / Math.sqrt(12));
    expect(max).toBeLessThan(step);
  });
});
