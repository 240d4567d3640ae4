// Packs f32 rows into a packed-f16 KV cache: one invocation per cache word, which holds the
// elements (2i, 2i+1) of the flattened rows, the even one in the low 16 bits (the order of
// pack2x16float/unpack2x16float). Rows are contiguous on both sides, so a block of m rows is
// one run of words starting at the first destination row's first word. The rounding is
// f16FromF32 from f16_bits.wgsl, which kvStore.ts prepends to this file. Models with RoPE pack
// V in rope.wgsl's main_f16_v instead; this kernel serves K and V of models without RoPE.

const WORKGROUP: u32 = 64u;

struct Params {
  // Words to write: m · width / 2.
  count: u32,
  // First word written: rowOffset · width / 2.
  offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// The f32 inputs as raw bits: the rounding works on the bit pattern.
@group(0) @binding(1) var<storage, read> x: array<vec2u>;
@group(0) @binding(2) var<storage, read_write> cache: array<u32>;

// The host may split the workgroup count across x and y (maxComputeWorkgroupsPerDimension).
@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * groups.x + wg.x) * WORKGROUP + lid;
  if (i < params.count) {
    let pair = x[i];
    cache[params.offset + i] = f16FromF32(pair.x) | (f16FromF32(pair.y) << 16u);
  }
}
