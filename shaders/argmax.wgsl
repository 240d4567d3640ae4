// Greedy sampling: out[0] = the index of the largest of logits[row_offset·N ..
// row_offset·N + N), the first such index on ties (as llama2.c's argmax), so the
// GPU and a CPU reference pick the same token. A single workgroup scans the row
// with a strided loop, then keeps the best (value, index) pair by a tree reduction.

struct Params {
  N: u32,
  row_offset: u32,
}

// A power of two, for the tree reduction.
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> best_value: array<f32, WG>;
var<workgroup> best_index: array<u32, WG>;

// The index of an invocation that has seen no element yet (N < WG); its value is
// never compared, so no infinity is needed as a starting value.
const NONE = 0xffffffffu;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) li: u32) {
  let base = p.row_offset * p.N;
  var value = 0.0;
  var index = NONE;
  // Ascending indices with a strict `>` keep each invocation's first maximum.
  for (var n = li; n < p.N; n += WG) {
    let v = logits[base + n];
    if (index == NONE || v > value) {
      value = v;
      index = n;
    }
  }
  best_value[li] = value;
  best_index[li] = index;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (li < stride) {
      let v = best_value[li + stride];
      let i = best_index[li + stride];
      let mine = best_index[li];
      let better = v > best_value[li] || (v == best_value[li] && i < mine);
      if (i != NONE && (mine == NONE || better)) {
        best_value[li] = v;
        best_index[li] = i;
      }
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    out[0] = best_index[0];
  }
}
