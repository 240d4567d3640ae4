// Bias add over rows: y[row_offset + r, j] += bias[j] for r < m, j < N, one invocation
// per element. Used after a projection whose matmul has no bias epilogue.

struct Params {
  count: u32,
  N: u32,
  row_offset: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// The host may split the workgroup count across x and y (maxComputeWorkgroupsPerDimension).
@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  if (i < p.count) {
    y[p.row_offset * p.N + i] += bias[i % p.N];
  }
}
