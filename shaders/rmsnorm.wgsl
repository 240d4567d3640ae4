// RMSNorm over rows: out[i, :] = x[i, :] / √(mean(x[i, :]²) + eps) · weight,
// one workgroup per row. The sum of squares is accumulated in f32, first in a
// strided loop per invocation, then by a tree reduction in workgroup memory.

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

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  // The workgroup index is uniform, so surplus workgroups of a 2-D split may leave early.
  let i = wg.y * nwg.x + wg.x;
  if (i >= p.m) {
    return;
  }
  let base = (p.row_offset + i) * p.D;
  var sum = 0.0;
  for (var d = li; d < p.D; d += WG) {
    let v = x[base + d];
    sum += v * v;
  }
  partial[li] = sum;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (li < stride) {
      partial[li] += partial[li + stride];
    }
    workgroupBarrier();
  }
  let scale = inverseSqrt(partial[0] / f32(p.D) + p.eps);
  for (var d = li; d < p.D; d += WG) {
    out[base + d] = x[base + d] * scale * weight[d];
  }
}
