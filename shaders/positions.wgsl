// Learned absolute positions (gpt2): x[r, :] += table[pos0 + r, :] for r < m, one invocation
// per element of x's first m rows.

struct Params {
  count: u32,
  D: u32,
  pos0: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
// [maxPositions, D] f32.
@group(0) @binding(1) var<storage, read> table: array<f32>;
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
    // Row r of x takes row pos0 + r of the table: the same element, pos0 rows further on.
    x[i] += table[p.pos0 * p.D + i];
  }
}
