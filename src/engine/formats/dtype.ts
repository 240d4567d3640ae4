/** The element types this engine can turn into f32 today. */
export type DType = 'F32' | 'F16' | 'BF16';

export const dtypeBytes: Record<DType, number> = { F32: 4, F16: 2, BF16: 2 };

export function isLoadableDtype(dtype: string): dtype is DType {
  return Object.hasOwn(dtypeBytes, dtype);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

// One scratch word shared by the bit-cast helpers; typed arrays use the host byte
// order, which is little-endian on every platform WebGPU runs on.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

export function bf16ToF32(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0];
}

/** Rounds to the nearest f16, ties to even, as numpy and torch do. */
export function f32ToF16(value: number): number {
  scratchF32[0] = value;
  const b = scratchU32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Below 2^-25 even the largest mantissa rounds to zero.
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = full & ((1 << shift) - 1);
    let m = full >>> shift;
    if (rem > half || (rem === half && m & 1)) m++;
    // A carry out of the subnormal range lands exactly on the smallest normal's encoding.
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry here may roll into the exponent (or up to infinity), which is the right rounding.
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return h;
}

/** Rounds to the nearest bf16, ties to even; NaN stays NaN (it would round to infinity). */
export function f32ToBf16(value: number): number {
  scratchF32[0] = value;
  const b = scratchU32[0];
  if (Number.isNaN(value)) return (b >>> 16) | 0x40;
  return (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
}

let f16Table: Float32Array | undefined;

/** All 65,536 halves decoded once: a table lookup beats the arithmetic on big tensors. */
function f16Lookup(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(0x10000);
    for (let i = 0; i < 0x10000; i++) f16Table[i] = f16ToF32(i);
  }
  return f16Table;
}

/** Decodes `count` little-endian elements from the start of `bytes`. */
export function toF32(dtype: DType, bytes: Uint8Array, count: number): Float32Array {
  const need = count * dtypeBytes[dtype];
  if (bytes.byteLength < need) throw new RangeError(`toF32: ${count} ${dtype} values need ${need} bytes, got ${bytes.byteLength}`);
  // Copying first gives an aligned buffer whatever the source's byte offset was. (Not
  // `bytes.slice`: on a Node Buffer that is a view, not a copy.)
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(0, need));
  const aligned = copy.buffer;
  if (dtype === 'F32') return new Float32Array(aligned);
  const halves = new Uint16Array(aligned);
  const out = new Float32Array(count);
  if (dtype === 'F16') {
    const table = f16Lookup();
    for (let i = 0; i < count; i++) out[i] = table[halves[i]];
  } else {
    const words = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) words[i] = halves[i] << 16;
  }
  return out;
}
