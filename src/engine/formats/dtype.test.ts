import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, isLoadableDtype, toF32 } from './dtype.ts';

// Bit patterns worked out by hand from the IEEE 754 binary16 / bfloat16 layouts.
const halves: [number, number][] = [
  [0x0000, 0],
  [0x3c00, 1],
  [0xc000, -2],
  [0x3555, 0.333251953125], // 1.0101010101b x 2^-2
  [0x7bff, 65504], // largest finite half
  [0x0400, 2 ** -14], // smallest normal
  [0x0001, 2 ** -24], // smallest subnormal
  [0x03ff, 1023 * 2 ** -24], // largest subnormal
  [0x8001, -(2 ** -24)],
  [0x7c00, Infinity],
  [0xfc00, -Infinity],
];

const bfloats: [number, number][] = [
  [0x0000, 0],
  [0x3f80, 1],
  [0xc049, -3.140625], // -1.1001001b x 2^1
  [0x7f7f, 0xff * 2 ** 120], // largest finite bf16: 1.1111111b x 2^127
  [0x0080, 2 ** -126], // smallest normal
  [0x0001, 2 ** -133], // smallest subnormal: 2^-7 x 2^-126
  [0x7f80, Infinity],
  [0xff80, -Infinity],
];

describe('f16ToF32 and bf16ToF32', () => {
  it('decode hand-computed bit patterns, subnormals and infinities included', () => {
    for (const [bits, value] of halves) expect(f16ToF32(bits), bits.toString(16)).toBe(value);
    for (const [bits, value] of bfloats) expect(bf16ToF32(bits), bits.toString(16)).toBe(value);
  });

  it('keep the sign of zero and decode NaN', () => {
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(Object.is(bf16ToF32(0x8000), -0)).toBe(true);
    for (const bits of [0x7e00, 0x7c01, 0xfe00]) expect(f16ToF32(bits)).toBeNaN();
    for (const bits of [0x7fc0, 0x7f81, 0xffc0]) expect(bf16ToF32(bits)).toBeNaN();
  });
});

describe('f32ToF16 and f32ToBf16', () => {
  it('invert the decoders for every non-NaN pattern', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const h = f16ToF32(bits);
      if (!Number.isNaN(h) && f32ToF16(h) !== bits) throw new Error(`f16 ${bits.toString(16)} -> ${h} -> ${f32ToF16(h).toString(16)}`);
      const b = bf16ToF32(bits);
      if (!Number.isNaN(b) && f32ToBf16(b) !== bits) throw new Error(`bf16 ${bits.toString(16)} -> ${b} -> ${f32ToBf16(b).toString(16)}`);
    }
  });

  it('round to nearest, ties to even, overflowing to infinity', () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie, 0x3c00 is even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, rounds up to the even 0x3c02
    expect(f32ToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above the tie
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // the tie between 65504 and 65536 goes to the even infinity
    expect(f32ToF16(1e6)).toBe(0x7c00);
    expect(f32ToF16(-1e6)).toBe(0xfc00);
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal
    expect(f32ToF16(1.5 * 2 ** -25)).toBe(0x0001);
    expect(f32ToF16(1023.5 * 2 ** -24)).toBe(0x0400); // largest subnormal rounds up into the normals
    expect(f32ToF16(1e-10)).toBe(0x0000);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80);
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16(3.4e38)).toBe(0x7f80);
  });

  it('keep NaN a NaN', () => {
    expect(f16ToF32(f32ToF16(NaN))).toBeNaN();
    expect(bf16ToF32(f32ToBf16(NaN))).toBeNaN();
    // A NaN whose payload sits only in the low 16 bits must not round to infinity.
    const bits = new Uint32Array([0x7f800001]);
    expect(bf16ToF32(f32ToBf16(new Float32Array(bits.buffer)[0]))).toBeNaN();
  });
});

describe('toF32', () => {
  it('reads little-endian F32 from an unaligned view', () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
    expect(toF32('F32', bytes.subarray(1), 2)).toEqual(Float32Array.of(1, -2));
  });

  it('reads little-endian F16 and BF16', () => {
    const f16 = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c]);
    expect(toF32('F16', f16, 4)).toEqual(Float32Array.of(1, -2, 2 ** -24, Infinity));
    const bf16 = new Uint8Array([0x80, 0x3f, 0x49, 0xc0, 0x01, 0x00]);
    expect(toF32('BF16', bf16, 3)).toEqual(Float32Array.of(1, -3.140625, 2 ** -133));
  });

  it('decodes only the first count elements and refuses too few bytes', () => {
    expect(toF32('F16', new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), 1)).toEqual(Float32Array.of(1));
    expect(() => toF32('F32', new Uint8Array(7), 2)).toThrow(RangeError);
  });
});

describe('isLoadableDtype', () => {
  it('accepts exactly F32, F16 and BF16', () => {
    expect(['F32', 'F16', 'BF16', 'Q4_K', 'I64', 'F64', 'toString'].map(isLoadableDtype)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});
