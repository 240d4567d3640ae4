// f32 → f16 conversion shared by every kernel that stores or looks up halves. WGSL has no
// includes: each wrapper prepends this file to its kernel's source, and the kernel calls
// f16FromF32 without declaring it.

// f32 bits → f16 bits, round to nearest, ties to even, as llama.cpp's GGML_FP32_TO_FP16 (F16C)
// does: too large rounds to ±inf, NaN stays a quiet NaN with the top bits of its payload.
// Integers rather than pack2x16float because WGSL does not pin that builtin's rounding and
// leaves out-of-range values indeterminate, and SwiftShader truncates where the result is
// subnormal (measured: all 1024 subnormal ties of kvStore.gpu.test.ts went the wrong way).
fn f16FromF32(b: u32) -> u32 {
  let sign = (b >> 16u) & 0x8000u;
  let e = i32((b >> 23u) & 0xffu);
  let mant = b & 0x7fffffu;
  if (e == 255) {
    return sign | 0x7c00u | select(0u, 0x200u | (mant >> 13u), mant != 0u);
  }
  // Rebias the exponent (127 → 15); 31 and up is 2^16 and up, past the largest half.
  let he = e - 112;
  if (he >= 31) {
    return sign | 0x7c00u;
  }
  if (he <= 0) {
    // An f16 subnormal: shift the full significand into 10 bits. Under 2^−25 the result is 0;
    // 2^−25 itself, the tie between 0 and the smallest subnormal, reaches the even 0 by rounding.
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
