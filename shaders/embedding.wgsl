// Token embedding lookup: out[i, d] = table[ids[i], d], one invocation per output
// element. An id outside the table (a bad tokenizer or a corrupt prompt) writes a
// zero row instead of reading past the binding.

struct Params {
  m: u32,
  D: u32,
  V: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<f32>;
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
  if (j >= p.m * p.D) {
    return;
  }
  let id = ids[j / p.D];
  var v = 0.0;
  if (id < p.V) {
    v = table[id * p.D + j % p.D];
  }
  out[j] = v;
}
