// Token embedding lookup: out[i, d] = table[ids[i] − first, d], one invocation per output
// element. The table may be one row chunk of a vocabulary split across buffers (a matrix above
// maxStorageBufferBindingSize): it holds ids first .. first+rows−1 of `vocab`, and an id held by
// another chunk leaves its output row to that chunk's dispatch. An id ≥ vocab gets a zero row from
// the chunk that ends the vocabulary, so a bad tokenizer or a corrupt prompt neither reads past
// the binding nor leaves a stale row behind.

struct Params {
  m: u32,
  D: u32,
  rows: u32,
  first: u32,
  vocab: u32,
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
  // An id below `first` wraps around to a huge row, so one comparison finds ids of other chunks.
  let row = id - p.first;
  let held = row < p.rows;
  if (!held && (id < p.vocab || p.first + p.rows < p.vocab)) {
    return;
  }
  var v = 0.0;
  if (held) {
    v = table[row * p.D + j % p.D];
  }
  out[j] = v;
}
