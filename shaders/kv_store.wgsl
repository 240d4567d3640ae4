// Packs f32 rows into a packed-f16 KV cache: one invocation per cache word, which holds the
// elements (2i, 2i+1) of the flattened rows, the even one in the low 16 bits (the order of
// pack2x16float/unpack2x16float). Rows are contiguous on both sides, so a block of m rows is
// one run of words starting at the first destination row's first word.

const WORKGROUP: u32 = 64u;

struct Params {
  // Words to write: m · width / 2.
  count: u32,
  // First word written: rowOffset · width / 2.
  offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// The f32 inputs as raw bits: the rounding below works on the bit pattern.
@group(0) @binding(1) var<storage, read> x: array<vec2u>;
@group(0) @binding(2) var<storage, read_write> cache: array<u32>;

// f32 bits to f16 bits, round to nearest, ties to even, as llama.cpp's GGML_FP32_TO_FP16 (F16C)
// does; too large rounds to ±inf and NaN stays NaN. Not pack2x16float: SwiftShader truncates
// instead of rounding where the result is subnormal (measured: all 1024 subnormal ties of
// kvStore.gpu.test.ts went the wrong way), and WGSL leaves out-of-range values indeterminate.
// rope.wgsl holds a copy of this function; both are checked bit for bit against the same TS rounding.
fn f16Bits(b: u32) -> u32 {
  let sign = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) {
    return sign | 0x7e00u | ((a >> 13u) & 0x3ffu);
  }
  // 2^16 and up (infinity included): past the largest half even before rounding.
  if (a >= 0x47800000u) {
    return sign | 0x7c00u;
  }
  // 2^-14 and up: a normal half. Subtracting 112 << 23 rebiases the exponent (127 → 15); the
  // round-up may carry into the exponent, up to infinity, which is the right result.
  if (a >= 0x38800000u) {
    let h = (a - 0x38000000u) >> 13u;
    let rem = a & 0x1fffu;
    return sign | (h + select(0u, 1u, rem + (h & 1u) > 0x1000u));
  }
  // 2^-25 (the tie between 0 and the smallest subnormal, which goes to the even 0) and below.
  if (a <= 0x33000000u) {
    return sign;
  }
  // A subnormal half: the significand with its implicit bit, shifted by 14 to 24 places.
  let full = (a & 0x7fffffu) | 0x800000u;
  let shift = 126u - (a >> 23u);
  let m = full >> shift;
  let rem = full & ((1u << shift) - 1u);
  return sign | (m + select(0u, 1u, rem + (m & 1u) > (1u << (shift - 1u))));
}

// The host may split the workgroup count across x and y (maxComputeWorkgroupsPerDimension).
@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * groups.x + wg.x) * WORKGROUP + lid;
  if (i < params.count) {
    let pair = x[i];
    cache[params.offset + i] = f16Bits(pair.x) | (f16Bits(pair.y) << 16u);
  }
}
