// LayerNorm over rows (gpt2): out[i, :] = (x[i, :] − μ) / √(σ² + eps) · weight + bias, with μ the
// row's mean and σ² its biased variance, one workgroup per row. Two passes over the row, as
// ggml_norm does: the variance is summed from (x − μ)², never as E[x²] − μ², which cancels
// catastrophically when |μ| is large next to σ (residual streams with a big constant offset).

struct Params {
  m: u32,
  D: u32,
  eps: f32,
  row_offset: u32,
}

// A power of two, for the tree reductions.
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> partial: array<f32, WG>;

// The workgroup's sum of every invocation's `share`.
fn workgroupSum(li: u32, share: f32) -> f32 {
  // The previous call's result must be read by all before partial[0] is overwritten.
  workgroupBarrier();
  partial[li] = share;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (li < stride) {
      partial[li] += partial[li + stride];
    }
    workgroupBarrier();
  }
  return partial[0];
}

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
    sum += x[base + d];
  }
  let mean = workgroupSum(li, sum) / f32(p.D);
  var sumSq = 0.0;
  for (var d = li; d < p.D; d += WG) {
    let c = x[base + d] - mean;
    sumSq += c * c;
  }
  let scale = inverseSqrt(workgroupSum(li, sumSq) / f32(p.D) + p.eps);
  for (var d = li; d < p.D; d += WG) {
    out[base + d] = (x[base + d] - mean) * scale * weight[d] + bias[d];
  }
}
