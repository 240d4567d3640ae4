// Llama's gated feed-forward activation: out[j] = silu(gate[j]) · up[j], with
// silu(g) = g / (1 + e^(−g)). For g far below zero e^(−g) overflows to +inf and
// the quotient is a signed zero, which is the right limit, so no clamp is needed.

struct Params {
  count: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// The host may split the workgroup count across x and y (maxComputeWorkgroupsPerDimension).
@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let j = (wg.y * nwg.x + wg.x) * WG + li;
  if (j < p.count) {
    let g = gate[j];
    out[j] = g / (1.0 + exp(-g)) * up[j];
  }
}
