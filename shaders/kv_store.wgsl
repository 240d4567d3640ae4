// Packs f32 rows into a packed-f16 KV cache: one invocation per packed word, which holds the
// elements (2i, 2i+1) of the flattened rows, the even one in the low 16 bits (the order of
// pack2x16float/unpack2x16float). Rows are contiguous on both sides, so a block of m rows is
// one run of words starting at the first destination row's first word. The rounding is
// f16FromF32 from f16_bits.wgsl, which kvStore.ts prepends to this file. Models with RoPE pack
// V in rope.wgsl's main_qk_f16_v instead; this kernel serves K and V of models without RoPE.
// With F32 the cache holds f32 and each invocation copies the two elements as they are: the V rows of a layer whose
// f32 cache is a ring, which its matmul cannot write into since a block may wrap around.

override F32: bool = false;
const WORKGROUP: u32 = 64u;

struct Params {
  // Element pairs to store: m · width / 2.
  count: u32,
  // First cache word written: rowOffset · width / 2 (f16), rowOffset · width (F32).
  offset: u32,
  // A ring of rows (a sliding-window layer's cache) holds this many words: word w is stored at
  // w % ringWords, which moves whole rows since a row is a whole number of words. 0: no ring.
  ringWords: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// The f32 inputs as raw bits: the rounding works on the bit pattern.
@group(0) @binding(1) var<storage, read> x: array<vec2u>;
@group(0) @binding(2) var<storage, read_write> cache: array<u32>;

// The host may split the workgroup count across x and y (maxComputeWorkgroupsPerDimension).
@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * groups.x + wg.x) * WORKGROUP + lid;
  if (i < params.count) {
    let pair = x[i];
    if (F32) {
      // offset and ringWords are multiples of the even width, so both words stay in one row.
      let at = inRing(params.offset + 2u * i);
      cache[at] = pair.x;
      cache[at + 1u] = pair.y;
    } else {
      cache[inRing(params.offset + i)] = f16FromF32(pair.x) | (f16FromF32(pair.y) << 16u);
    }
  }
}

fn inRing(word: u32) -> u32 {
  if (params.ringWords == 0u) {
    return word;
  }
  return word % params.ringWords;
}
