// f32 GEMV for decode: y[i, n] (=|+=) Σ_k x[i, k] · w[n, k], one token row i at a
// time. w is [N, K] (out × in), so each output reads one contiguous weight row.
//
// A workgroup of WG invocations computes ROWS = WG / THREADS_PER_ROW outputs of one
// token: THREADS_PER_ROW lanes stride along a weight row together (neighbouring
// lanes read neighbouring addresses), then fold their partial sums with a tree
// reduction in workgroup memory. Subgroup reductions would save the tree, but
// subgroups are optional and as narrow as 4 lanes, so this path needs none.
//
// Two entry points share everything but the load width: `main_vec4` reads vec4s
// and needs K % 4 == 0 (rows then start on 16-byte boundaries); `main_scalar`
// reads f32s for any K. They bind different types at the same binding numbers,
// which WGSL allows because no entry point uses both.

struct Params {
  m: u32,
  K: u32,
  N: u32,
  x_row_offset: u32,
  y_row_offset: u32,
}

override WG: u32 = 256;
// A power of two that divides WG, for the tree reduction.
override THREADS_PER_ROW: u32 = 64;
// Must equal WG / THREADS_PER_ROW; the host passes the value it sizes the dispatch with.
override ROWS: u32 = WG / THREADS_PER_ROW;
// Adds into y instead of overwriting it, which fuses a residual add into the matmul.
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(0) var<storage, read> x1: array<f32>;
@group(0) @binding(1) var<storage, read> w1: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> partial: array<f32, WG>;

struct Slot {
  token: u32,
  row: u32,
  lane: u32,
  in_range: bool,
}

// Workgroups are numbered token-major over ceil(N / ROWS) row groups; the host may
// split that count across x and y to respect maxComputeWorkgroupsPerDimension,
// and the surplus workgroups of the split find token >= m and stay inactive.
fn slot(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> Slot {
  let linear = wg.y * nwg.x + wg.x;
  let groups = (p.N + ROWS - 1u) / ROWS;
  let token = linear / groups;
  let row = (linear % groups) * ROWS + li / THREADS_PER_ROW;
  return Slot(token, row, li % THREADS_PER_ROW, token < p.m && row < p.N);
}

fn reduce_and_store(acc: f32, s: Slot, li: u32) {
  partial[li] = acc;
  workgroupBarrier();
  for (var stride = THREADS_PER_ROW / 2u; stride > 0u; stride /= 2u) {
    if (s.lane < stride) {
      partial[li] += partial[li + stride];
    }
    workgroupBarrier();
  }
  if (s.in_range && s.lane == 0u) {
    let idx = (p.y_row_offset + s.token) * p.N + s.row;
    var v = partial[li];
    if (ACCUMULATE) {
      v += y[idx];
    }
    y[idx] = v;
  }
}

@compute @workgroup_size(WG)
fn main_vec4(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let s = slot(wg, nwg, li);
  var acc = 0.0;
  if (s.in_range) {
    let k4 = p.K / 4u;
    let xb = (p.x_row_offset + s.token) * k4;
    let wb = s.row * k4;
    for (var k = s.lane; k < k4; k += THREADS_PER_ROW) {
      acc += dot(x4[xb + k], w4[wb + k]);
    }
  }
  reduce_and_store(acc, s, li);
}

@compute @workgroup_size(WG)
fn main_scalar(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let s = slot(wg, nwg, li);
  var acc = 0.0;
  if (s.in_range) {
    let xb = (p.x_row_offset + s.token) * p.K;
    let wb = s.row * p.K;
    for (var k = s.lane; k < p.K; k += THREADS_PER_ROW) {
      acc += x1[xb + k] * w1[wb + k];
    }
  }
  reduce_and_store(acc, s, li);
}
