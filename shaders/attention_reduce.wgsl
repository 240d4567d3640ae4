// Flash-decoding, pass 2: combines the per-split partial results of attention_decode.wgsl.
// With split maxima m_s, sums l_s and unnormalised outputs o_s, and M = max m_s:
// out = Σ o_s e^(m_s - M) / Σ l_s e^(m_s - M). One workgroup per query head; each thread
// walks all splits itself (there are at most a few hundred) and owns dims t, t + WORKGROUP, ...

override HEAD_DIM: u32;
const WORKGROUP: u32 = 64u;
override DIM_SLOTS: u32 = (HEAD_DIM + WORKGROUP - 1u) / WORKGROUP;
// DIM_SLOTS <= MAX_DIM_SLOTS, i.e. HEAD_DIM <= 256 (checked by the wrapper).
const MAX_DIM_SLOTS: u32 = 4u;

struct Params {
  nHeads: u32,
  nSplits: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// [nSplits, nHeads, HEAD_DIM + 2]: unnormalised output, then max, then sum.
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let head = wg.x;
  let rowLen = HEAD_DIM + 2u;
  var mMax = partials[head * rowLen + HEAD_DIM];
  for (var s = 1u; s < params.nSplits; s++) {
    mMax = max(mMax, partials[(s * params.nHeads + head) * rowLen + HEAD_DIM]);
  }
  var l = 0.0;
  var o: array<f32, MAX_DIM_SLOTS>;
  for (var s = 0u; s < params.nSplits; s++) {
    let base = (s * params.nHeads + head) * rowLen;
    let w = exp(partials[base + HEAD_DIM] - mMax);
    l += partials[base + HEAD_DIM + 1u] * w;
    for (var i = 0u; i < DIM_SLOTS; i++) {
      let d = t + i * WORKGROUP;
      if (d < HEAD_DIM) {
        o[i] += partials[base + d] * w;
      }
    }
  }
  for (var i = 0u; i < DIM_SLOTS; i++) {
    let d = t + i * WORKGROUP;
    if (d < HEAD_DIM) {
      out[head * HEAD_DIM + d] = o[i] / l;
    }
  }
}
