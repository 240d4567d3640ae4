// RMSNorm over rows: out[i, :] = x[i, :] / √(mean(x[i, :]²) + eps) · weight,
// one workgroup per row. The sum of squares is accumulated in f32, first in a
// strided loop per invocation, then by a tree reduction in workgroup memory.
// Two entry points because an in-place call (q/k head norms) binds one buffer, and
// binding it twice with a writable usage is a validation error. In place is safe:
// each invocation writes only the elements it read itself, after the barrier.

struct Params {
  m: u32,
  D: u32,
  eps: f32,
  row_offset: u32,
}

// A power of two, for the tree reduction.
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> partial: array<f32, WG>;

// The row this workgroup normalises; rows ≥ p.m are surplus workgroups of a 2-D split,
// and since the workgroup index is uniform they may leave before the barriers.
fn row(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wg.y * nwg.x + wg.x;
}

// Sums the invocations' shares of the row's squares and returns 1/√(mean + eps).
fn rowScale(li: u32, share: f32) -> f32 {
  partial[li] = share;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (li < stride) {
      partial[li] += partial[li + stride];
    }
    workgroupBarrier();
  }
  return inverseSqrt(partial[0] / f32(p.D) + p.eps);
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let i = row(wg, nwg);
  if (i >= p.m) {
    return;
  }
  let base = (p.row_offset + i) * p.D;
  var sum = 0.0;
  for (var d = li; d < p.D; d += WG) {
    let v = x[base + d];
    sum += v * v;
  }
  let scale = rowScale(li, sum);
  for (var d = li; d < p.D; d += WG) {
    out[base + d] = x[base + d] * scale * weight[d];
  }
}

@compute @workgroup_size(WG)
fn main_inplace(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let i = row(wg, nwg);
  if (i >= p.m) {
    return;
  }
  let base = (p.row_offset + i) * p.D;
  var sum = 0.0;
  for (var d = li; d < p.D; d += WG) {
    let v = out[base + d];
    sum += v * v;
  }
  let scale = rowScale(li, sum);
  for (var d = li; d < p.D; d += WG) {
    out[base + d] = out[base + d] * scale * weight[d];
  }
}
