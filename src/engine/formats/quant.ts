import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './dtype.ts';

/**
 * Weight types that stay packed on the GPU: the 16-bit floats and ggml's 32-element block
 * formats (ggml-common.h). A row of K weights is K / blockElements blocks laid end to end,
 * and a tensor's rows follow each other with no padding, exactly as GGUF stores them.
 *
 *   Q8_0  34 B: f16 d, 32 × i8 q                      w = q·d
 *   Q4_0  18 B: f16 d, 16 B nibbles                   w = (q − 8)·d
 *   Q4_1  20 B: f16 d, f16 m, 16 B nibbles            w = q·d + m
 *   Q5_0  22 B: f16 d, u32 high bits, 16 B nibbles    w = (q − 16)·d
 *   Q5_1  24 B: f16 d, f16 m, u32 high bits, 16 B     w = q·d + m
 *
 * Nibble byte j (0 ≤ j < 16) holds element j in its low half and element j + 16 in its high
 * half; bit e of the little-endian high-bit word is bit 4 of element e.
 */
export type PackedType = 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1';

export interface PackedLayout {
  /** Elements per block; a row's length must be a multiple of it. */
  blockElements: number;
  blockBytes: number;
}

export const PACKED_TYPES: Readonly<Record<PackedType, PackedLayout>> = {
  F16: { blockElements: 1, blockBytes: 2 },
  BF16: { blockElements: 1, blockBytes: 2 },
  Q8_0: { blockElements: 32, blockBytes: 34 },
  Q4_0: { blockElements: 32, blockBytes: 18 },
  Q4_1: { blockElements: 32, blockBytes: 20 },
  Q5_0: { blockElements: 32, blockBytes: 22 },
  Q5_1: { blockElements: 32, blockBytes: 24 },
};

export function isPackedType(dtype: string): dtype is PackedType {
  return Object.hasOwn(PACKED_TYPES, dtype);
}

/** Bytes of `elements` values of `type`; throws a RangeError when they are not whole blocks. */
export function packedBytes(type: PackedType, elements: number): number {
  const { blockElements, blockBytes } = PACKED_TYPES[type];
  if (!Number.isSafeInteger(elements) || elements < 0 || elements % blockElements !== 0) {
    throw new RangeError(`${type}: ${elements} elements are not whole blocks of ${blockElements}`);
  }
  return (elements / blockElements) * blockBytes;
}

/**
 * Decodes `elements` values from the start of `bytes` as llama.cpp's dequantize_row_* does,
 * in f32: each value is one f32 product (plus one f32 add for the types with a minimum).
 */
export function dequantizeRow(type: PackedType, bytes: Uint8Array, elements: number): Float32Array {
  const need = packedBytes(type, elements);
  if (bytes.byteLength < need) throw new RangeError(`${type}: ${elements} elements need ${need} bytes, got ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, need);
  const out = new Float32Array(elements);
  if (type === 'F16' || type === 'BF16') {
    const decode = type === 'F16' ? f16ToF32 : bf16ToF32;
    for (let i = 0; i < elements; i++) out[i] = decode(view.getUint16(2 * i, true));
    return out;
  }
  const { blockBytes } = PACKED_TYPES[type];
  for (let b = 0; b < elements / 32; b++) {
    const o = b * blockBytes;
    const y = out.subarray(b * 32, b * 32 + 32);
    const d = f16ToF32(view.getUint16(o, true));
    switch (type) {
      case 'Q8_0':
        for (let j = 0; j < 32; j++) y[j] = view.getInt8(o + 2 + j) * d;
        break;
      case 'Q4_0':
        for (let j = 0; j < 16; j++) {
          const q = bytes[o + 2 + j];
          y[j] = ((q & 15) - 8) * d;
          y[j + 16] = ((q >> 4) - 8) * d;
        }
        break;
      case 'Q4_1': {
        const m = f16ToF32(view.getUint16(o + 2, true));
        for (let j = 0; j < 16; j++) {
          const q = bytes[o + 4 + j];
          y[j] = Math.fround((q & 15) * d) + m;
          y[j + 16] = Math.fround((q >> 4) * d) + m;
        }
        break;
      }
      case 'Q5_0': {
        const qh = view.getUint32(o + 2, true);
        for (let j = 0; j < 16; j++) {
          const q = bytes[o + 6 + j];
          y[j] = ((q & 15) + ((qh >>> j) & 1) * 16 - 16) * d;
          y[j + 16] = ((q >> 4) + ((qh >>> (j + 16)) & 1) * 16 - 16) * d;
        }
        break;
      }
      case 'Q5_1': {
        const m = f16ToF32(view.getUint16(o + 2, true));
        const qh = view.getUint32(o + 4, true);
        for (let j = 0; j < 16; j++) {
          const q = bytes[o + 8 + j];
          y[j] = Math.fround(((q & 15) + ((qh >>> j) & 1) * 16) * d) + m;
          y[j + 16] = Math.fround(((q >> 4) + ((qh >>> (j + 16)) & 1) * 16) * d) + m;
        }
        break;
      }
    }
  }
  return out;
}

// The reference quantizers compute in f32; fround after every operation reproduces that
// exactly (a double result rounded once to f32 equals the f32 operation for + − × ÷).
const f32 = Math.fround;

/** C's roundf: halves go away from zero (Math.round sends −2.5 to −2). */
function roundf(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

/**
 * Encodes `values` (whole blocks) as llama.cpp's quantize_row_*_ref does, byte for byte: the
 * same scale (amax/127, max/−8, max/−16, (max − min)/15, (max − min)/31, kept in f32 for the
 * rounding and stored as f16), the same reciprocal, offsets, truncation and clamps. These are
 * the functions llama-quantize uses when no importance matrix is given.
 */
export function quantizeRow(type: PackedType, values: Float32Array): Uint8Array {
  const out = new Uint8Array(packedBytes(type, values.length));
  const view = new DataView(out.buffer);
  if (type === 'F16' || type === 'BF16') {
    const encode = type === 'F16' ? f32ToF16 : f32ToBf16;
    values.forEach((v, i) => view.setUint16(2 * i, encode(v), true));
    return out;
  }
  const { blockBytes } = PACKED_TYPES[type];
  for (let b = 0; b < values.length / 32; b++) {
    const x = values.subarray(b * 32, b * 32 + 32);
    const o = b * blockBytes;
    switch (type) {
      case 'Q8_0': {
        let amax = 0;
        for (const v of x) amax = Math.max(amax, Math.abs(v));
        const d = f32(amax / 127);
        const id = d ? f32(1 / d) : 0;
        view.setUint16(o, f32ToF16(d), true);
        for (let j = 0; j < 32; j++) view.setInt8(o + 2 + j, roundf(f32(x[j] * id)));
        break;
      }
      case 'Q4_0':
      case 'Q5_0': {
        const levels = type === 'Q4_0' ? 16 : 32;
        // The signed value of largest magnitude (the first one on ties) maps to level 0.
        let amax = 0;
        let max = 0;
        for (const v of x) {
          if (amax < Math.abs(v)) {
            amax = Math.abs(v);
            max = v;
          }
        }
        const d = f32(max / -(levels / 2));
        const id = d ? f32(1 / d) : 0;
        view.setUint16(o, f32ToF16(d), true);
        const q = x.map((v) => Math.min(levels - 1, Math.trunc(f32(f32(v * id) + (levels / 2 + 0.5)))));
        writeNibbles(out, o + (type === 'Q4_0' ? 2 : 6), q);
        if (type === 'Q5_0') view.setUint32(o + 2, highBits(q), true);
        break;
      }
      case 'Q4_1':
      case 'Q5_1': {
        let min = Infinity;
        let max = -Infinity;
        for (const v of x) {
          if (v < min) min = v;
          if (v > max) max = v;
        }
        const levels = type === 'Q4_1' ? 16 : 32;
        const d = f32(f32(max - min) / (levels - 1));
        const id = d ? f32(1 / d) : 0;
        view.setUint16(o, f32ToF16(d), true);
        view.setUint16(o + 2, f32ToF16(min), true);
        // Q4_1 clamps to 15. Q5_1 does not clamp in llama.cpp (max − min lands on 31 give or
        // take an ulp, and 31.5 truncates to 31), so neither does this.
        const top = type === 'Q4_1' ? 15 : Infinity;
        const q = x.map((v) => Math.min(top, Math.trunc(f32(f32(f32(v - min) * id) + 0.5))));
        writeNibbles(out, o + (type === 'Q4_1' ? 4 : 8), q);
        if (type === 'Q5_1') view.setUint32(o + 4, highBits(q), true);
        break;
      }
    }
  }
  return out;
}

/** Element j in the low half of byte j, element j + 16 in the high half. */
function writeNibbles(out: Uint8Array, at: number, q: Float32Array): void {
  for (let j = 0; j < 16; j++) out[at + j] = (q[j] & 15) | ((q[j + 16] & 15) << 4);
}

/** Bit 4 of each of the 32 levels, element e at bit e. */
function highBits(q: Float32Array): number {
  let qh = 0;
  for (let e = 0; e < 32; e++) qh |= ((q[e] >> 4) & 1) << e;
  return qh >>> 0;
}
