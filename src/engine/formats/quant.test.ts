import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { randomF32, rng } from '../../../test/gpu.ts';
import { bf16ToF32, f16ToF32 } from './dtype.ts';
import { dequantizeRow, isPackedType, PACKED_TYPES, packedBytes, quantizeRow, type PackedType } from './quant.ts';

const TYPES = Object.keys(PACKED_TYPES) as PackedType[];
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../../test/fixtures/quant/${name}`, import.meta.url)));

/** Bit patterns, so −0 and +0 differ and NaN equals NaN. */
const bits = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length);

/** The index of the first block whose bytes differ, or −1, so a failure names the block. */
function firstBadBlock(type: PackedType, actual: Uint8Array, expected: Uint8Array): number {
  const size = PACKED_TYPES[type].blockBytes;
  if (actual.length !== expected.length) return -2;
  for (let o = 0; o < actual.length; o += size) {
    if (actual.subarray(o, o + size).some((v, i) => v !== expected[o + i])) return o / size;
  }
  return -1;
}

describe('quantizeRow and dequantizeRow against llama.cpp', () => {
  // Goldens written by ggml's own quantize_row_*_ref and dequantize_row_* (test/fixtures/quant/README.md).
  const input = new Float32Array(fixture('input.f32').buffer);

  it.each(TYPES)('%s: quantizeRow writes the same bytes as quantize_row_*_ref', (type) => {
    expect(firstBadBlock(type, quantizeRow(type, input), fixture(`${type}.bin`))).toBe(-1);
  });

  it.each(TYPES)('%s: dequantizeRow returns the same f32 bits as dequantize_row_*', (type) => {
    const expected = new Float32Array(fixture(`${type}.dequant.f32`).buffer);
    expect([...bits(dequantizeRow(type, fixture(`${type}.bin`), input.length))]).toEqual([...bits(expected)]);
  });
});

describe('quantizeRow on hand-computed blocks', () => {
  // Each block uses a scale that is a power of two and levels picked by hand, so the expected
  // bytes follow from ggml-common.h's layouts alone: little-endian f16 scale (and minimum),
  // nibble byte j = level j | level (j + 16) << 4, bit e of the high-bit word = bit 4 of level e.
  const f16 = (h: number) => [h & 0xff, h >> 8];
  const nibbles = (l: number[]) => Array.from({ length: 16 }, (_, j) => (l[j] & 15) | ((l[j + 16] & 15) << 4));
  const highBits = (l: number[]) => {
    const qh = l.reduce((acc, v, e) => acc + ((v >> 4) & 1) * 2 ** e, 0);
    return [qh & 0xff, (qh >>> 8) & 0xff, (qh >>> 16) & 0xff, qh >>> 24];
  };
  const levels = (mul: number, mod: number) => Array.from({ length: 32 }, (_, e) => (mul * e) % mod);

  it('Q8_0: d = amax / 127 = 1/16, halves rounded away from zero', () => {
    // x = level / 16 with level 127 first, so d = 0.0625 (f16 0x2c00) and 1/d = 16 exactly.
    const l = Array.from({ length: 32 }, (_, e) => 3 * e - 50);
    l[0] = 127;
    const x = Float32Array.from(l, (v) => v / 16);
    x[1] = 2.5 / 16; // roundf(2.5) = 3
    x[2] = -2.5 / 16; // roundf(−2.5) = −3, where Math.round would give −2
    l[1] = 3;
    l[2] = -3;
    expect([...quantizeRow('Q8_0', x)]).toEqual([...f16(0x2c00), ...l.map((v) => v & 0xff)]);
  });

  it('Q4_0: d = max / −8 = 0.25 from the negative extreme, 8.5 offset truncated, clamp at 15', () => {
    const l = levels(5, 16); // level 0 at e = 0 and 16: x = −2 is the extreme
    const x = Float32Array.from(l, (v) => (v - 8) * 0.25);
    x[30] = -0.125; // −0.5 + 8.5 = 8: halves round up
    x[31] = 1.875; // 7.5 + 8.5 = 16, clamped to 15
    l[30] = 8;
    l[31] = 15;
    expect([...quantizeRow('Q4_0', x)]).toEqual([...f16(0x3400), ...nibbles(l)]);
  });

  it('Q4_1: d = (max − min) / 15 = 0.25 and m = −1, 0.5 offset truncated', () => {
    const l = levels(7, 16); // 0 at e = 0, 15 at e = 9
    const x = Float32Array.from(l, (v) => v * 0.25 - 1);
    x[30] = -0.875; // level 0.5 rounds up to 1
    l[30] = 1;
    expect([...quantizeRow('Q4_1', x)]).toEqual([...f16(0x3400), ...f16(0xbc00), ...nibbles(l)]);
  });

  it('Q5_0: d = max / −16 = 0.125, fifth bits in the little-endian qh word', () => {
    const l = levels(11, 32); // a permutation of 0..31: level 0 (x = −2) at e = 0
    const x = Float32Array.from(l, (v) => (v - 16) * 0.125);
    expect([...quantizeRow('Q5_0', x)]).toEqual([...f16(0x3000), ...highBits(l), ...nibbles(l)]);
  });

  it('Q5_1: d = (max − min) / 31 = 1/16 and m = 0.5', () => {
    const l = levels(13, 32); // a permutation of 0..31
    const x = Float32Array.from(l, (v) => 0.5 + v / 16);
    expect([...quantizeRow('Q5_1', x)]).toEqual([...f16(0x2c00), ...f16(0x3800), ...highBits(l), ...nibbles(l)]);
  });

  it('F16 and BF16: round to nearest, ties to even, little-endian', () => {
    // 1/3 → 0x3555 (1.0101010101b × 2^−2); 70000 overflows f16 to +inf; 2^−24 is the smallest subnormal.
    const h = quantizeRow('F16', Float32Array.of(1, -2, 1 / 3, 70000, 2 ** -24));
    expect([...h]).toEqual([0x3c00, 0xc000, 0x3555, 0x7c00, 0x0001].flatMap(f16));
    // 1 + 2^−8 and 1 + 3·2^−8 lie halfway between bf16 neighbours: they go to the even mantissa.
    const b = quantizeRow('BF16', Float32Array.of(1, -3.140625, 1 + 2 ** -8, 1 + 3 * 2 ** -8));
    expect([...b]).toEqual([0x3f80, 0xc049, 0x3f80, 0x3f82].flatMap(f16));
  });
});

describe('round trip on random weights', () => {
  const x = randomF32(64 * 32, rng(5));
  // Vary the block scales over four decades, as real weight rows do.
  for (let b = 0; b < 64; b++) for (let j = 0; j < 32; j++) x[b * 32 + j] *= 10 ** ((b % 4) - 3);
  // f16 rounding: half an ulp, 2^−11 relative for normal halves; below 2^−14 the ulp is fixed
  // at 2^−24. The 1e−3 blocks have Q8_0 scales there (1e−3/127 ≈ 8e−6), as small real weights do.
  const f16Error = (v: number) => Math.max(Math.abs(v) * 2 ** -11, 2 ** -25);
  // The quantizer's f32 roundings (x·(1/d), + offset) can move a value across a rounding
  // boundary by ~2^−23 of a level; 1e−4 of a step covers them with room to spare.
  const SLACK = 1e-4;

  /** Worst-case |x̂ − x| for one block, from the type's scale choice; see each case. */
  function bound(type: PackedType, block: Float32Array, v: number): number {
    let amax = 0;
    let max = 0;
    for (const u of block) {
      if (Math.abs(u) > amax) [amax, max] = [Math.abs(u), u];
    }
    const min = Math.min(...block);
    const range = Math.max(...block) - min;
    switch (type) {
      case 'F16':
        return f16Error(v);
      case 'BF16':
        return Math.abs(v) * 2 ** -8;
      case 'Q8_0': {
        // Round to nearest: half a step d = amax/127, plus |q| ≤ 127 times the f16 error of d.
        const d = amax / 127;
        return d * (0.5 + SLACK) + 127 * f16Error(d);
      }
      case 'Q4_0':
      case 'Q5_0': {
        // x/d + half lies in [0, 2·half]: the extreme lands on level 0 exactly, but values within
        // half a step of the opposite end clamp to the top level, which costs up to one full step.
        const half = type === 'Q4_0' ? 8 : 16;
        const d = Math.abs(max) / half;
        return d * (1 + SLACK) + half * f16Error(d);
      }
      default: {
        // (x − min)/d lies in [0, levels − 1], so rounding costs half a step; then the f16
        // errors of d (times the level) and of the minimum, and the f32 rounding of q·d + m.
        const top = type === 'Q4_1' ? 15 : 31;
        const d = range / top;
        return d * (0.5 + SLACK) + top * f16Error(d) + f16Error(min) + (Math.abs(min) + range) * 2 ** -24;
      }
    }
  }

  it.each(TYPES)('%s: every value comes back within the bound its scale allows', (type) => {
    const back = dequantizeRow(type, quantizeRow(type, x), x.length);
    let worst = { excess: -Infinity, i: -1 };
    for (let i = 0; i < x.length; i++) {
      const b = Math.floor(i / 32);
      const excess = Math.abs(back[i] - x[i]) / bound(type, x.subarray(b * 32, b * 32 + 32), x[i]);
      if (excess > worst.excess) worst = { excess, i };
    }
    expect(worst.excess, `x[${worst.i}] = ${x[worst.i]} came back as ${back[worst.i]}`).toBeLessThanOrEqual(1);
  });
});

describe('dequantizeRow', () => {
  const x = randomF32(8 * 32, rng(9), 3);
  const d16 = (q: Uint8Array, at: number) => f16ToF32(q[at] | (q[at + 1] << 8));
  const u32 = (q: Uint8Array, at: number) => q[at] + q[at + 1] * 2 ** 8 + q[at + 2] * 2 ** 16 + q[at + 3] * 2 ** 24;
  // Level of element e of a 32-element block from its nibble bytes at `qs` (and fifth bits at `qh`).
  const nibble = (q: Uint8Array, qs: number, e: number) => (e < 16 ? q[qs + e] & 15 : q[qs + e - 16] >> 4);
  const fifth = (q: Uint8Array, qh: number, e: number) => Math.floor(u32(q, qh) / 2 ** e) % 2;

  /** Element i straight from the layout in float64, one element at a time. */
  function element(type: PackedType, q: Uint8Array, i: number): number {
    const o = Math.floor(i / 32) * PACKED_TYPES[type].blockBytes;
    const e = i % 32;
    switch (type) {
      case 'F16':
        return f16ToF32(q[2 * i] | (q[2 * i + 1] << 8));
      case 'BF16':
        return bf16ToF32(q[2 * i] | (q[2 * i + 1] << 8));
      case 'Q8_0':
        return ((q[o + 2 + e] << 24) >> 24) * d16(q, o);
      case 'Q4_0':
        return (nibble(q, o + 2, e) - 8) * d16(q, o);
      case 'Q4_1':
        return nibble(q, o + 4, e) * d16(q, o) + d16(q, o + 2);
      case 'Q5_0':
        return (nibble(q, o + 6, e) + 16 * fifth(q, o + 2, e) - 16) * d16(q, o);
      case 'Q5_1':
        return (nibble(q, o + 8, e) + 16 * fifth(q, o + 4, e)) * d16(q, o) + d16(q, o + 2);
    }
  }

  // Exact equality: a level times an f16 scale has at most 16 significant bits, and for data
  // like this (minimum and step within a few binades) q·d + m fits f32's 24 bits as well.
  it.each(TYPES)('%s: equals the per-element formula of the layout, exactly', (type) => {
    const q = quantizeRow(type, x);
    const expected = Float32Array.from({ length: x.length }, (_, i) => element(type, q, i));
    expect([...dequantizeRow(type, q, x.length)]).toEqual([...expected]);
    // The same when the bytes start at an odd offset inside a larger buffer (a view of a file chunk).
    const shifted = new Uint8Array(q.length + 3);
    shifted.set(q, 3);
    expect([...dequantizeRow(type, shifted.subarray(3), x.length)]).toEqual([...expected]);
  });

  it('rejects rows that are not whole blocks or bytes that are too short', () => {
    expect(() => quantizeRow('Q4_0', new Float32Array(48))).toThrow(RangeError);
    expect(() => dequantizeRow('Q5_1', new Uint8Array(24), 33)).toThrow(RangeError);
    expect(() => dequantizeRow('Q8_0', new Uint8Array(33), 32)).toThrow(RangeError);
    expect(packedBytes('Q4_1', 64)).toBe(40);
    expect(packedBytes('BF16', 7)).toBe(14);
    expect(isPackedType('Q5_0')).toBe(true);
    expect(isPackedType('Q4_K')).toBe(false);
  });
});
