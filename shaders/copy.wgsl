// The roofline kernel: dst[i] = src[i] over vec4<f32>, one vec4 per invocation, so every
// invocation issues one 16-byte load and one 16-byte store and neighbouring invocations touch
// neighbouring addresses. Whatever bandwidth this reaches is the most a memory-bound kernel
// (a decode GEMV) can hope for on the same device.

struct Params {
  count: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

// The host may split the workgroup count across x and y (maxComputeWorkgroupsPerDimension);
// the surplus invocations of the last row find i >= count and do nothing.
@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  if (i < p.count) {
    dst[i] = src[i];
  }
}
