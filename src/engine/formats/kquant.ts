import { f16ToF32, f32ToF16 } from './dtype.ts';

/**
 * ggml's K-quants Q4_K, Q5_K and Q6_K: 256-element super-blocks, the formats of most
 * Q4_K_M / Q5_K_M / Q6_K GGUF files. Byte layouts (little-endian, no padding):
 *
 *   Q4_K (144 B): d f16 @0, dmin f16 @2, scales[12] @4, qs[128] @16
 *   Q5_K (176 B): d f16 @0, dmin f16 @2, scales[12] @4, qh[32] @16, qs[128] @48
 *   Q6_K (210 B): ql[128] @0, qh[64] @128, scales[16] int8 @192, d f16 @208
 *
 * Q4_K/Q5_K: eight sub-blocks of 32 with a 6-bit scale and a 6-bit min each,
 * w = d·sc_j·q − dmin·m_j. qs holds four 32-byte chunks; chunk c carries sub-block 2c in
 * its low nibbles and 2c+1 in its high nibbles. Q5_K's fifth bit of element 64c+l (l < 32)
 * is bit 2c of qh[l], of element 64c+32+l bit 2c+1.
 *
 * Q6_K: sixteen groups of 16 with an int8 scale each, w = d·sc[e/16]·(q − 32). Each half
 * of 128 elements owns 64 bytes of ql and 32 of qh: for l < 32, element l is the low
 * nibble of ql[l], l+32 the low nibble of ql[l+32], l+64 and l+96 their high nibbles;
 * qh[l] holds the top two bits of l, l+32, l+64, l+96 at bits 0, 2, 4, 6.
 */
export type KType = 'Q4_K' | 'Q5_K' | 'Q6_K';

export const QK_K = 256;

export const K_TYPES: Record<KType, { blockElements: number; blockBytes: number }> = {
  Q4_K: { blockElements: QK_K, blockBytes: 144 },
  Q5_K: { blockElements: QK_K, blockBytes: 176 },
  Q6_K: { blockElements: QK_K, blockBytes: 210 },
};

export function isKType(dtype: string): dtype is KType {
  return Object.hasOwn(K_TYPES, dtype);
}

/** Bytes that `elements` values (a whole number of super-blocks) occupy. */
export function kquantByteLength(type: KType, elements: number): number {
  if (!Number.isInteger(elements) || elements < 0 || elements % QK_K !== 0) {
    throw new RangeError(`${type}: ${elements} elements are not whole super-blocks of ${QK_K}`);
  }
  return (elements / QK_K) * K_TYPES[type].blockBytes;
}

// ggml computes its quantizers in f32 (x86-64 SSE, no FMA contraction in the reference build), so
// every intermediate is rounded to f32 here: the same inputs then give the same bytes.
const f = Math.fround;
// ggml's GROUP_MAX_EPS: a group whose largest magnitude is below it counts as all zero.
const GROUP_MAX_EPS = f(1e-15);
const TENTH = f(0.1);

/**
 * ggml's nearest_int: adding 1.5·2^23 in f32 leaves the integer part in the mantissa, rounding
 * halves to even. The double sum is exact whenever a tie is possible (|v| ≥ 2^-5 gives v an ulp
 * of at least 2^-29), so one fround reproduces the f32 addition.
 */
function nearestInt(v: number): number {
  return f(v + 12582912) - 12582912;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function readF16(bytes: Uint8Array, at: number): number {
  return f16ToF32(bytes[at] | (bytes[at + 1] << 8));
}

function writeF16(bytes: Uint8Array, at: number, value: number): number {
  const bits = f32ToF16(value);
  bytes[at] = bits & 0xff;
  bytes[at + 1] = bits >>> 8;
  return f16ToF32(bits);
}

/** The 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes at `at` (ggml's get_scale_min_k4). */
function scaleMinK4(j: number, bytes: Uint8Array, at: number): [scale: number, min: number] {
  const q = (i: number) => bytes[at + i];
  if (j < 4) return [q(j) & 63, q(j + 4) & 63];
  return [(q(j + 4) & 0xf) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)];
}

function checkRow(type: KType, bytes: Uint8Array, elements: number): number {
  const need = kquantByteLength(type, elements);
  if (bytes.byteLength < need) throw new RangeError(`${type}: ${elements} values need ${need} bytes, got ${bytes.byteLength}`);
  return elements / QK_K;
}

/** Decodes the first `elements` values of `bytes` exactly as ggml's dequantize_row_q{4,5,6}_K (f32 products). */
export function dequantizeRowK(type: KType, bytes: Uint8Array, elements: number): Float32Array {
  const blocks = checkRow(type, bytes, elements);
  const out = new Float32Array(elements);
  const size = K_TYPES[type].blockBytes;
  for (let b = 0; b < blocks; b++) {
    const at = b * size;
    const y = out.subarray(b * QK_K, (b + 1) * QK_K);
    if (type === 'Q6_K') dequantizeQ6K(bytes, at, y);
    else dequantizeQ45K(type === 'Q5_K', bytes, at, y);
  }
  return out;
}

function dequantizeQ45K(five: boolean, bytes: Uint8Array, at: number, y: Float32Array): void {
  const d = readF16(bytes, at);
  const dmin = readF16(bytes, at + 2);
  const qs = at + (five ? 48 : 16);
  const qh = at + 16;
  for (let j = 0; j < 8; j++) {
    const [sc, m] = scaleMinK4(j, bytes, at + 4);
    const dj = f(d * sc);
    const mj = f(dmin * m);
    const chunk = qs + 32 * (j >> 1);
    const shift = (j & 1) * 4;
    for (let l = 0; l < 32; l++) {
      let q = (bytes[chunk + l] >> shift) & 0xf;
      if (five) q += ((bytes[qh + l] >> j) & 1) << 4;
      y[32 * j + l] = f(dj * q) - mj;
    }
  }
}

function dequantizeQ6K(bytes: Uint8Array, at: number, y: Float32Array): void {
  const d = readF16(bytes, at + 208);
  for (let e = 0; e < QK_K; e++) {
    const half = e >> 7;
    const quadrant = (e >> 5) & 3;
    const l = e & 31;
    const lo = (bytes[at + 64 * half + 32 * (quadrant & 1) + l] >> (4 * (quadrant >> 1))) & 0xf;
    const hi = (bytes[at + 128 + 32 * half + l] >> (2 * quadrant)) & 3;
    const sc = (bytes[at + 192 + (e >> 4)] << 24) >> 24;
    y[e] = f(f(d * sc) * ((lo | (hi << 4)) - 32));
  }
}

/**
 * Quantizes `values` (a whole number of super-blocks) as llama.cpp's reference quantizers
 * quantize_row_q{4,5,6}_K_ref do (the path `llama-quantize` takes without an imatrix), with every
 * f32 rounding of theirs: the bytes equal those of a generic x86-64 build of ggml. A build that
 * fuses multiply-adds (GCC with -march=native contracts to FMA) may pick a different level or
 * scale where two candidates tie to within one f32 rounding.
 */
export function quantizeRowK(type: KType, values: Float32Array): Uint8Array {
  const blocks = kquantByteLength(type, values.length) / K_TYPES[type].blockBytes;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`${type}: value ${values[i]} at ${i} cannot be quantized`);
  }
  const size = K_TYPES[type].blockBytes;
  const out = new Uint8Array(blocks * size);
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * QK_K, (b + 1) * QK_K);
    const y = out.subarray(b * size, (b + 1) * size);
    if (type === 'Q6_K') quantizeQ6K(x, y);
    else quantizeQ45K(type === 'Q5_K', x, y);
  }
  return out;
}

/**
 * ggml's make_qkx2_quants: fits x ≈ scale·L − min with L in [0, nmax] by trying nstep+1 grids
 * (nmax + rmin + rdelta·is levels over the range) and a weighted least-squares fit on each,
 * keeping the one with the smallest weighted squared error. Writes L; returns scale and −min.
 */
function makeQkx2(
  x: Float32Array,
  weights: Float32Array,
  L: Uint8Array,
  nmax: number,
  rmin: number,
  rdelta: number,
  nstep: number,
): [scale: number, min: number] {
  const n = x.length;
  const Laux = new Uint8Array(n);
  let min = x[0];
  let max = x[0];
  let sumW = weights[0];
  let sumX = f(sumW * x[0]);
  for (let i = 1; i < n; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sumW = f(sumW + weights[i]);
    sumX = f(sumX + f(weights[i] * x[i]));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0);
    return [0, -min];
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    L[i] = clamp(nearestInt(f(iscale * f(x[i] - min))), 0, nmax);
    const diff = f(f(f(scale * L[i]) + min) - x[i]);
    bestError = f(bestError + f(weights[i] * f(diff * diff)));
  }
  for (let is = 0; is <= nstep; is++) {
    // Later grids start from the best fit so far: `min` moves whenever a grid wins, as in ggml.
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(f(iscale * f(x[i] - min))), 0, nmax);
      Laux[i] = l;
      const wl = f(weights[i] * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * x[i]));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (!(D > 0)) continue;
    let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
    let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = f(sumXL / sumL2);
    }
    let error = 0;
    for (let i = 0; i < n; i++) {
      const diff = f(f(f(thisScale * Laux[i]) + thisMin) - x[i]);
      error = f(error + f(weights[i] * f(diff * diff)));
    }
    if (error < bestError) {
      L.set(Laux);
      bestError = error;
      scale = thisScale;
      min = thisMin;
    }
  }
  return [scale, -min];
}

/** quantize_row_q4_K_ref and quantize_row_q5_K_ref for one super-block. */
function quantizeQ45K(five: boolean, x: Float32Array, y: Uint8Array): void {
  // Q4_K: 16 levels, grids of 14..16 levels over the range; Q5_K: 32 levels, 30.5..32 (ggml's choices).
  const [nmax, rmin, nstep] = five ? [31, -0.5, 15] : [15, -1, 20];
  const L = new Uint8Array(QK_K);
  const weights = new Float32Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const xj = x.subarray(32 * j, 32 * j + 32);
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(xj[l] * xj[l]));
    // Each weight is the sub-block's RMS plus the value's own magnitude: large values count more.
    const avX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(xj[l]));
    [scales[j], mins[j]] = makeQkx2(xj, weights, L.subarray(32 * j, 32 * j + 32), nmax, rmin, TENTH, nstep);
    if (scales[j] > maxScale) maxScale = scales[j];
    if (mins[j] > maxMin) maxMin = mins[j];
  }

  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const packed = y.subarray(4, 16);
  for (let j = 0; j < 8; j++) {
    // ggml stores nearest_int into a uint8_t before clamping, hence the & 0xff.
    const ls = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
    const lm = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
    if (j < 4) {
      packed[j] = ls;
      packed[j + 4] = lm;
    } else {
      packed[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      packed[j - 4] |= (ls >> 4) << 6;
      packed[j] |= (lm >> 4) << 6;
    }
  }
  const d = writeF16(y, 0, f(maxScale / 63));
  const dmin = writeF16(y, 2, f(maxMin / 63));

  // Re-quantize against the scales as stored. A sub-block whose scale rounded to 0 keeps
  // the levels of its own fit, as in ggml (they decode to −min whatever they are).
  const top = five ? 31 : 15;
  for (let j = 0; j < 8; j++) {
    const [sc, m] = scaleMinK4(j, y, 4);
    const dj = f(d * sc);
    if (dj === 0) continue;
    const mj = f(dmin * m);
    for (let l = 0; l < 32; l++) L[32 * j + l] = clamp(nearestInt(f(f(x[32 * j + l] + mj) / dj)), 0, top);
  }

  const qs = y.subarray(five ? 48 : 16);
  for (let c = 0; c < 4; c++) {
    for (let l = 0; l < 32; l++) {
      const lo = L[64 * c + l];
      const hi = L[64 * c + 32 + l];
      qs[32 * c + l] = (lo & 0xf) | ((hi & 0xf) << 4);
      if (five) y[16 + l] |= ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1));
    }
  }
}

/**
 * ggml's make_qx_quants with rmse_type 1 and no importance weights: a symmetric fit
 * x ≈ scale·(L − nmax), L in [0, 2·nmax), weighted by x², over 19 candidate grids.
 * Writes L; returns the scale (negative when the largest magnitude is positive).
 */
function makeQx(x: Float32Array, L: Uint8Array, nmax: number): number {
  const n = x.length;
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0);
    return 0;
  }
  const level = (iscale: number, v: number) => clamp(nearestInt(f(iscale * v)), -nmax, nmax - 1);
  let iscale = f(-nmax / max);
  let sumLX = 0;
  let sumL2 = 0;
  for (let i = 0; i < n; i++) {
    const l = level(iscale, x[i]);
    L[i] = l + nmax;
    const w = f(x[i] * x[i]);
    sumLX = f(sumLX + f(f(w * x[i]) * l));
    sumL2 = f(sumL2 + f(f(w * l) * l));
  }
  let scale = sumL2 ? f(sumLX / sumL2) : 0;
  let best = f(scale * sumLX);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(TENTH * is)) / max);
    sumLX = 0;
    sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const l = level(iscale, x[i]);
      const w = f(x[i] * x[i]);
      sumLX = f(sumLX + f(f(w * x[i]) * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
    }
    if (sumL2 > 0 && f(sumLX * sumLX) > f(best * sumL2)) {
      for (let i = 0; i < n; i++) L[i] = level(iscale, x[i]) + nmax;
      scale = f(sumLX / sumL2);
      best = f(scale * sumLX);
    }
  }
  return scale;
}

/** quantize_row_q6_K_ref for one super-block. */
function quantizeQ6K(x: Float32Array, y: Uint8Array): void {
  const L = new Uint8Array(QK_K);
  const scales = new Float32Array(16);
  let maxScale = 0;
  let maxAbsScale = 0;
  for (let g = 0; g < 16; g++) {
    scales[g] = makeQx(x.subarray(16 * g, 16 * g + 16), L.subarray(16 * g, 16 * g + 16), 32);
    const abs = Math.abs(scales[g]);
    if (abs > maxAbsScale) {
      maxAbsScale = abs;
      maxScale = scales[g];
    }
  }
  // A block of (near) zeros is all zero bytes, d included.
  if (maxAbsScale < GROUP_MAX_EPS) return;

  const iscale = f(-128 / maxScale);
  const d = writeF16(y, 208, f(1 / iscale));
  for (let g = 0; g < 16; g++) {
    // |scales[g]| ≤ |maxScale| keeps iscale·scales[g] within ±128, so only +128 needs the clamp to fit an int8.
    const sc = Math.min(127, nearestInt(f(iscale * scales[g])));
    y[192 + g] = sc & 0xff;
    const dg = f(d * sc);
    if (dg === 0) continue;
    for (let i = 0; i < 16; i++) L[16 * g + i] = clamp(nearestInt(f(x[16 * g + i] / dg)), -32, 31) + 32;
  }

  for (let half = 0; half < 2; half++) {
    const Lh = L.subarray(128 * half);
    for (let l = 0; l < 32; l++) {
      y[64 * half + l] = (Lh[l] & 0xf) | ((Lh[l + 64] & 0xf) << 4);
      y[64 * half + l + 32] = (Lh[l + 32] & 0xf) | ((Lh[l + 96] & 0xf) << 4);
      y[128 + 32 * half + l] = (Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6);
    }
  }
}
