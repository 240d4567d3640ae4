// Rounds a matmul's f32 activations the way llama.cpp's x86 CPU backend does before its dot
// product ("vec_dot_type"), and writes them back as f32, so our kernels see the same inputs:
//   round_block  q8_0 / q8_1 (quantize_row_q8_0/q8_1, AVX2 path), one workgroup per block of 32:
//                  amax = max|x|, d = amax/127 stored as f16, id = amax ≠ 0 ? 127/amax : 0,
//                  q = round_half_even(x·id), out = q · f16(d)
//                q8_K (quantize_row_q8_K_ref), one workgroup per block of 256:
//                  max = the first element of largest |x| with its sign, iscale = −127/max,
//                  q = min(127, round_half_even(iscale·x)), d = 1/iscale in f32, out = q · d;
//                  an all-zero block stays zero
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

// f32 bits → f16 bits, nearest even, overflow to ±inf, NaN kept quiet with its top payload bits (F16C).
fn f16FromF32(b: u32) -> u32 {
  let sign = (b >> 16u) & 0x8000u;
  let e = i32((b >> 23u) & 0xffu);
  let mant = b & 0x7fffffu;
  if (e == 255) {
    return sign | 0x7c00u | select(0u, 0x200u | (mant >> 13u), mant != 0u);
  }
  let he = e - 112;
  if (he >= 31) {
    return sign | 0x7c00u;
  }
  if (he <= 0) {
    // An f16 subnormal (or zero below 2^−25): shift the full significand into 10 bits.
    if (he < -10) {
      return sign;
    }
    let full = mant | 0x800000u;
    let shift = u32(14 - he);
    let half = 1u << (shift - 1u);
    let rem = full & ((1u << shift) - 1u);
    var m = full >> shift;
    if (rem > half || (rem == half && (m & 1u) == 1u)) {
      m += 1u;
    }
    // A carry out of the subnormals lands on the smallest normal's encoding, as it should.
    return sign | m;
  }
  var h = sign | (u32(he) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  // A carry may roll into the exponent, up to infinity: the right rounding.
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) {
    h += 1u;
  }
  return h;
}

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

// One workgroup per block; the host may split the workgroup count across x and y, and the
// workgroup index is uniform, so a spare workgroup leaves before any barrier as a whole.
@compute @workgroup_size(BLOCK)
fn round_block(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let block = wg.y * nwg.x + wg.x;
  if (block >= p.count) {
    return;
  }
  let i = p.first + block * BLOCK + li;
  let bits = x[i];
  absBits[li] = bits & 0x7fffffffu;
  argIndex[li] = li;
  workgroupBarrier();
  // Largest |x|; on equal magnitudes the lower index wins, as ggml's strict `>` scan keeps the first.
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
  let amax = absBits[0];
  let v = bitcast<f32>(bits);
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
  var id = 0.0;
  var d = 0.0;
  if (amax != 0u) {
    id = divF32(F32_127, amax);
    d = bitcast<f32>(f32FromF16(f16FromF32(bitcast<u32>(divF32(amax, F32_127)))));
  }
  // q has at most 8 significant bits and f16(d) 11, so q · d is exact.
  out[i] = bitcast<u32>(f32(i32(round(v * id))) * d);
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
