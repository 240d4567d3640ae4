// In-place residual add: x[j] += y[j] for j < count, one invocation per element.

struct Params {
  count: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// The host may split the workgroup count across x and y (maxComputeWorkgroupsPerDimension).
@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let j = (wg.y * nwg.x + wg.x) * WG + li;
  if (j < p.count) {
    x[j] += y[j];
  }
}
