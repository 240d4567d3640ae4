// Rounds a matmul's f32 activations the way llama.cpp's x86 CPU backend does before its dot
// product ("vec_dot_type"), and writes them back as f32, so our kernels see the same inputs:
//   round_block  q8_0 / q8_1 (quantize_row_q8_0/q8_1, AVX2 path), one workgroup per block of 32:
//                  amax = max|x|, d = amax/127 stored as f16, id = amax ≠ 0 ? 127/amax : 0,
//                  q = round_half_even(x·id), out = q · f16(d)
//                q8_K (quantize_row_q8_K_ref), one workgroup per block of 256:
//                  max = the first element of largest |x| with its sign, iscale = −127/max,
//                  q = min(127, round_half_even(iscale·x)), d = 1/iscale in f32, out = q · d;
//                  an all-zero block stays zero
//   round_block_sums  q8_1 as round_block, plus the residual of each block's f16 sum (see there)
//   round_element  f16 / bf16 (GGML_FP32_TO_FP16 via F16C, GGML_FP32_TO_BF16): nearest even
// Exactness is the point, so nothing here trusts an operation WGSL lets an implementation round
// loosely: division (2.5 ULP in WGSL) is done by integer long division, f32 → f16 (pack2x16float's
// rounding is not pinned by the spec) and f16 → f32 (a device may flush f16 subnormals) with bit
// operations, and the magnitude reduction compares bit patterns (|x| as u32 orders like the float
// and cannot be flushed). x·id and q·d are single f32 products, which WGSL rounds correctly.
// Buffers are read and written as u32 so NaN payloads, −0 and subnormals pass through untouched.

struct Params {
  // Index of the first element touched: rowOffset · K.
  first: u32,
  // round_block: blocks to process (m · K / BLOCK); round_element: elements (m · K).
  count: u32,
}

// 0: q8_0 / q8_1 (identical values: q8_1 only adds a sum llama.cpp keeps beside the block), 1: q8_K,
// 2: f16, 3: bf16.
override MODE: u32 = 0u;
// Elements per block and invocations per workgroup of round_block (32 for q8_0/q8_1, 256 for q8_K);
// a power of two, for the tree reduction.
override BLOCK: u32 = 32u;
override WG: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> absBits: array<u32, BLOCK>;
var<workgroup> argIndex: array<u32, BLOCK>;

const F32_127: u32 = 0x42fe0000u;
const F32_1: u32 = 0x3f800000u;

// The correctly rounded quotient a/b of two positive f32 bit patterns, by long division of the
// 24-bit significands: 24 quotient bits and a round bit, the remainder as sticky bit, ties to even.
// Only for operands that are not normal or a quotient near the ends of the exponent range (a block
// whose largest magnitude is below about 2^−120, where llama.cpp's own scales are already subnormal
// or infinite) does the device's division stand in.
fn divF32(a: u32, b: u32) -> f32 {
  let ea = i32(a >> 23u);
  let eb = i32(b >> 23u);
  var e = ea - eb + 127;
  let mb = (b & 0x7fffffu) | 0x800000u;
  var r = (a & 0x7fffffu) | 0x800000u;
  if (r < mb) {
    r = r << 1u;
    e -= 1;
  }
  if (ea == 0 || ea == 255 || eb == 0 || eb == 255 || e < 1 || e > 253) {
    return bitcast<f32>(a) / bitcast<f32>(b);
  }
  // r is in [mb, 2·mb) so the first quotient bit is 1; r stays below 2^25 throughout.
  var q = 0u;
  for (var i = 0u; i < 25u; i++) {
    q = q << 1u;
    if (r >= mb) {
      r -= mb;
      q |= 1u;
    }
    r = r << 1u;
  }
  var sig = q >> 1u;
  if ((q & 1u) == 1u && (r != 0u || (sig & 1u) == 1u)) {
    sig += 1u;
  }
  // Rounding up from 2^24 − 1 carries into the exponent; e ≤ 253 keeps that finite.
  if (sig == 0x1000000u) {
    sig = 0x800000u;
    e += 1;
  }
  return bitcast<f32>((u32(e) << 23u) | (sig & 0x7fffffu));
}

// f16FromF32 (f32 bits → f16 bits, nearest even, as F16C) comes from f16_bits.wgsl, which
// roundActivations.ts prepends to this file.

// f16 bits → f32 bits, exactly (every f16, subnormals included, is a normal f32 or zero).
fn f32FromF16(h: u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    if (m == 0u) {
      return sign;
    }
    // m · 2^−24: normalise the leading bit of m into the implicit bit.
    let lead = firstLeadingBit(m);
    return sign | ((lead + 103u) << 23u) | ((m << (23u - lead)) & 0x7fffffu);
  }
  if (e == 31u) {
    return sign | 0x7f800000u | (m << 13u);
  }
  return sign | ((e + 112u) << 23u) | (m << 13u);
}

// f32 bits → bf16 → f32 bits: nearest even by adding 0x7fff plus the kept lowest bit; NaN forced quiet.
fn bf16Round(b: u32) -> u32 {
  if ((b & 0x7fffffffu) > 0x7f800000u) {
    return ((b >> 16u) | 0x40u) << 16u;
  }
  return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) << 16u;
}

// Loads element li of block `block` (from p.first) and leaves in absBits[0] the block's largest
// |x| as bits and in argIndex[0] its first index: ggml's strict `>` scan keeps the first of equal
// magnitudes, so on a tie the lower index wins.
fn block_amax(block: u32, li: u32) -> u32 {
  absBits[li] = x[p.first + block * BLOCK + li] & 0x7fffffffu;
  argIndex[li] = li;
  workgroupBarrier();
  for (var s = BLOCK / 2u; s > 0u; s = s >> 1u) {
    if (li < s) {
      let a = absBits[li];
      let b = absBits[li + s];
      if (b > a || (b == a && argIndex[li + s] < argIndex[li])) {
        absBits[li] = b;
        argIndex[li] = argIndex[li + s];
      }
    }
    workgroupBarrier();
  }
  return absBits[0];
}

// q8_0 / q8_1 from the block's largest magnitude: id = 127/amax and the f32 scale d = amax/127
// (both 0 for an all-zero block), the scale stored as f16 is f16(d).
struct Q8Scales {
  id: f32,
  d: f32,
  d16: f32,
}

fn q8_scales(amax: u32) -> Q8Scales {
  if (amax == 0u) {
    return Q8Scales(0.0, 0.0, 0.0);
  }
  let d = divF32(amax, F32_127);
  return Q8Scales(divF32(F32_127, amax), d, bitcast<f32>(f32FromF16(f16FromF32(bitcast<u32>(d)))));
}

// One workgroup per block; the host may split the workgroup count across x and y, and the
// workgroup index is uniform, so a spare workgroup leaves before any barrier as a whole.
@compute @workgroup_size(BLOCK)
fn round_block(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let block = wg.y * nwg.x + wg.x;
  if (block >= p.count) {
    return;
  }
  let i = p.first + block * BLOCK + li;
  let amax = block_amax(block, li);
  let v = bitcast<f32>(x[i]);
  if (MODE == 1u) {
    if (amax == 0u) {
      out[i] = 0u;
      return;
    }
    // iscale = −127/max has the opposite sign of max; d = 1/iscale carries the same sign.
    let flip = select(1.0, -1.0, (x[p.first + block * BLOCK + argIndex[0]] >> 31u) == 0u);
    let iscaleAbs = divF32(F32_127, amax);
    let iscale = flip * iscaleAbs;
    let d = flip * divF32(F32_1, bitcast<u32>(iscaleAbs));
    // The i32 conversion (ggml stores int8) turns a −0 from round() into 0, so q · d takes d's sign.
    let q = min(127, i32(round(iscale * v)));
    out[i] = bitcast<u32>(f32(q) * d);
    return;
  }
  let s = q8_scales(amax);
  // q has at most 8 significant bits and f16(d) 11, so q · d is exact.
  out[i] = bitcast<u32>(f32(i32(round(v * s.id))) * s.d16);
}

// round_block_sums: q8_1 with its block sums. Besides round_block's values it writes, per block,
// llama.cpp's sum y.s = f16(d · Σq) (quantize_row_q8_1, AVX2: d the f32 scale, not f16(d))
// minus the sum of the values written, Σq · f16(d), to sum_residuals[first / BLOCK + block]:
// matmul_packed.wgsl's *_block_sums entry points add it back, times each Q4_1/Q5_1 block minimum.
// |Σq| ≤ 32 · 127 < 2^12 and f16(d) has at most 11 significant bits, so Σq · f16(d), and every
// partial sum of the values in any order, is exact in f32: it is the Σx that the matmul's decoded
// weights (q·d + m) multiply by m. The difference is exact too: for a normal f16 sum the two
// terms are within 2^−10 of each other (Sterbenz's lemma), and otherwise both are multiples of
// 2^−24 below 2^−13.
@group(0) @binding(3) var<storage, read_write> sum_residuals: array<f32>;
var<workgroup> qSums: array<i32, BLOCK>;

@compute @workgroup_size(BLOCK)
fn round_block_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let block = wg.y * nwg.x + wg.x;
  if (block >= p.count) {
    return;
  }
  let i = p.first + block * BLOCK + li;
  let s = q8_scales(block_amax(block, li));
  let q = i32(round(bitcast<f32>(x[i]) * s.id));
  out[i] = bitcast<u32>(f32(q) * s.d16);
  qSums[li] = q;
  workgroupBarrier();
  for (var stride = BLOCK / 2u; stride > 0u; stride = stride >> 1u) {
    if (li < stride) {
      qSums[li] += qSums[li + stride];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    let sumq = f32(qSums[0]);
    let stored = bitcast<f32>(f32FromF16(f16FromF32(bitcast<u32>(sumq * s.d))));
    sum_residuals[p.first / BLOCK + block] = stored - sumq * s.d16;
  }
}

@compute @workgroup_size(WG)
fn round_element(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = (wg.y * nwg.x + wg.x) * WG + li;
  if (j >= p.count) {
    return;
  }
  let i = p.first + j;
  if (MODE == 2u) {
    out[i] = f32FromF16(f16FromF32(x[i]));
  } else {
    out[i] = bf16Round(x[i]);
  }
}
