// Rotary position embedding. One invocation per (token, head, pair j < headDim/2):
// pairs j < ropeDim/2 are rotated by angle (pos0 + token) * invFreq[j]; out of place, the
// remaining pairs copy dims (2j, 2j+1), which are exactly the dims past ropeDim.
// The engine runs the main_qk_* entry points: Q rotated in place, and K out of place into an
// f32 buffer or a packed-f16 KV cache (with the token block's V rows packed beside it), in one
// dispatch, as Q and K share positions, base, factors and mode and differ only in heads, source
// and destination. The in-place buffer has a binding of its own, because binding one buffer twice
// with a writable usage is a validation error. The one-sided entry points (main_inplace for Q;
// main, main_f16 and main_f16_v for K) are what rope.gpu.test.ts checks against the float64 and
// f16 references, and the fused ones are checked against them word for word.
// f16FromF32 comes from f16_bits.wgsl, which rope.ts prepends to this file.

// false: pairs (2j, 2j+1) as in GGUF / llama2.c; true: pairs (j, j + ropeDim/2) as in HF checkpoints.
override HALVES: bool;
const WORKGROUP: u32 = 64u;
// π/2 in three parts (Cody-Waite): q * HALF_PI_1 is exact in f32 for q < 2^16 (HALF_PI_1 has
// 8 significant bits), so angles up to about 1e5 radians reduce without losing their low bits.
const HALF_PI_1: f32 = 1.5703125;
const HALF_PI_2: f32 = 4.837512969970703125e-4;
const HALF_PI_3: f32 = 7.54978995489188216e-8;
const TWO_OVER_PI: f32 = 0.6366197723675814;

struct Params {
  m: u32,
  pos0: u32,
  outRowOffset: u32,
  nHeads: u32,
  headDim: u32,
  ropeDim: u32,
  // The output is a ring of this many rows (a sliding-window layer's cache): row r is written to
  // row r % ringRows, so a block may wrap around. 0: no ring.
  ringRows: u32,
  // Heads of the in-place buffer q. nHeads counts the heads of x and its output, 0 for main_inplace.
  qHeads: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// theta^(-2j/ropeDim) computed on the CPU in f32, because WGSL's pow may be off by tens of ULP.
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// A packed-f16 cache: element e of a row in word e / 2, the even element in the low 16 bits.
@group(0) @binding(4) var<storage, read_write> outF16: array<u32>;
// main_f16_v's V rows, as wide as K's ([m, nHeads · headDim] f32 read as raw bit pairs), and the
// V cache they are packed into, laid out as outF16.
@group(0) @binding(5) var<storage, read> v: array<vec2u>;
@group(0) @binding(6) var<storage, read_write> vCache: array<u32>;
// Q, [m, qHeads, headDim], rotated where it lies.
@group(0) @binding(7) var<storage, read_write> q: array<f32>;

struct Pair {
  // Element indices of the pair inside its block's row layout.
  a: u32,
  b: u32,
  rotate: bool,
  cosSin: vec2f,
}

// Pair `id` of a block of m tokens of nHeads heads; false past the block's end.
fn locate(id: u32, nHeads: u32, pair: ptr<function, Pair>) -> bool {
  let halfDim = params.headDim / 2u;
  let perToken = nHeads * halfDim;
  if (id >= params.m * perToken) {
    return false;
  }
  let token = id / perToken;
  let head = (id % perToken) / halfDim;
  let j = id % halfDim;
  let base = (token * nHeads + head) * params.headDim;
  let halfRope = params.ropeDim / 2u;
  (*pair).rotate = j < halfRope;
  if ((*pair).rotate && HALVES) {
    (*pair).a = base + j;
    (*pair).b = base + j + halfRope;
  } else {
    (*pair).a = base + 2u * j;
    (*pair).b = base + 2u * j + 1u;
  }
  if ((*pair).rotate) {
    (*pair).cosSin = cosSin(f32(params.pos0 + token) * invFreq[j]);
  }
  return true;
}

// WGSL only bounds cos/sin to 2^-11 absolute error and SwiftShader is near that (2e-4), so
// positions would encode differently on each device. Minimax polynomials on [-π/4, π/4]
// (Cephes' single-precision coefficients) give about 1 ulp everywhere.
fn cosSin(angle: f32) -> vec2f {
  let q = round(angle * TWO_OVER_PI);
  let r = ((angle - q * HALF_PI_1) - q * HALF_PI_2) - q * HALF_PI_3;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  // angle = q·π/2 + r: each quarter turn maps (cos, sin) to (-sin, cos).
  switch (i32(q) & 3) {
    case 0: { return vec2f(c, s); }
    case 1: { return vec2f(-s, c); }
    case 2: { return vec2f(-c, -s); }
    default: { return vec2f(s, -c); }
  }
}

// Index i of the output counted from its row 0 (outRowOffset included), moved into the ring;
// rowLen is a row's length in i's units. Only a row's number wraps, not the place within it.
fn inRing(i: u32, rowLen: u32) -> u32 {
  if (params.ringRows == 0u) {
    return i;
  }
  return i % (params.ringRows * rowLen);
}

fn rotated(a: f32, b: f32, cosSin: vec2f) -> vec2f {
  return vec2f(a * cosSin.x - b * cosSin.y, a * cosSin.y + b * cosSin.x);
}

fn invocation(wg: vec3u, groups: vec3u, lid: u32) -> u32 {
  return (wg.y * groups.x + wg.x) * WORKGROUP + lid;
}

// In a fused dispatch Q's pair invocations come first and K's work follows. Each main_qk_* pairs
// rotateQ with one of K's writers, spelled out three times since WGSL cannot pass a function.
fn qPairs() -> u32 {
  return params.m * params.qHeads * (params.headDim / 2u);
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  copyPair(invocation(wg, groups, lid));
}

@compute @workgroup_size(WORKGROUP)
fn main_inplace(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  rotateQ(invocation(wg, groups, lid));
}

@compute @workgroup_size(WORKGROUP)
fn main_f16(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  packWord(invocation(wg, groups, lid));
}

@compute @workgroup_size(WORKGROUP)
fn main_f16_v(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  packWords(invocation(wg, groups, lid));
}

@compute @workgroup_size(WORKGROUP)
fn main_qk_copy(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let id = invocation(wg, groups, lid);
  if (id < qPairs()) {
    rotateQ(id);
  } else {
    copyPair(id - qPairs());
  }
}

@compute @workgroup_size(WORKGROUP)
fn main_qk_f16(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let id = invocation(wg, groups, lid);
  if (id < qPairs()) {
    rotateQ(id);
  } else {
    packWord(id - qPairs());
  }
}

@compute @workgroup_size(WORKGROUP)
fn main_qk_f16_v(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let id = invocation(wg, groups, lid);
  if (id < qPairs()) {
    rotateQ(id);
  } else {
    packWords(id - qPairs());
  }
}

// Pair `id` of x, rotated (or copied, past ropeDim) into out, outRowOffset rows further on.
fn copyPair(id: u32) {
  var pair: Pair;
  if (!locate(id, params.nHeads, &pair)) {
    return;
  }
  var ab = vec2f(x[pair.a], x[pair.b]);
  if (pair.rotate) {
    ab = rotated(ab.x, ab.y, pair.cosSin);
  }
  let rowLen = params.nHeads * params.headDim;
  let shift = params.outRowOffset * rowLen;
  out[inRing(pair.a + shift, rowLen)] = ab.x;
  out[inRing(pair.b + shift, rowLen)] = ab.y;
}

// Pair `id` of Q, rotated in place; dims past ropeDim are already where they belong.
fn rotateQ(id: u32) {
  var pair: Pair;
  if (!locate(id, params.qHeads, &pair) || !pair.rotate) {
    return;
  }
  let ab = rotated(q[pair.a], q[pair.b], pair.cosSin);
  q[pair.a] = ab.x;
  q[pair.b] = ab.y;
}

// Into a packed-f16 cache. One invocation per output word, i.e. per output elements (2i, 2i+1)
// of a head, so no two invocations write the same word; with HALVES those two elements belong
// to two different pairs. Each element is computed by the same expressions as in copyPair, so
// the stored halves are exactly its f32 results rounded.
fn packWord(id: u32) {
  if (id < cacheWords()) {
    outF16[cacheWord(id)] = ropedWord(id);
  }
}

// packWord, and V's word `id` beside K's: V has K's row width, so the K grid covers it exactly and
// both words land at the same index of their caches. The packing is kv_store.wgsl's, bit for bit.
fn packWords(id: u32) {
  if (id < cacheWords()) {
    let at = cacheWord(id);
    outF16[at] = ropedWord(id);
    let pair = v[id];
    vCache[at] = f16FromF32(pair.x) | (f16FromF32(pair.y) << 16u);
  }
}

// Words the block's m rows fill: m · nHeads · headDim / 2.
fn cacheWords() -> u32 {
  return params.m * params.nHeads * (params.headDim / 2u);
}

// Row outRowOffset + token of a cache starts at word (outRowOffset + token) · nHeads · headDim / 2,
// so word `id` of the block goes to the cache word outRowOffset rows further on (in a ring, that
// row's place in it).
fn cacheWord(id: u32) -> u32 {
  let rowWords = params.nHeads * (params.headDim / 2u);
  return inRing(params.outRowOffset * rowWords + id, rowWords);
}

// Word `id` of the block's rotated rows: its elements (2i, 2i+1) of a head rounded to f16.
fn ropedWord(id: u32) -> u32 {
  let halfDim = params.headDim / 2u;
  let token = id / (params.nHeads * halfDim);
  let base = (id / halfDim) * params.headDim;
  let e = 2u * (id % halfDim);
  let lo = f16FromF32(bitcast<u32>(ropedElement(token, base, e)));
  let hi = f16FromF32(bitcast<u32>(ropedElement(token, base, e + 1u)));
  return lo | (hi << 16u);
}

// Element e of the rotated head whose input row starts at x[base], for token `token` of the block.
fn ropedElement(token: u32, base: u32, e: u32) -> f32 {
  if (e >= params.ropeDim) {
    return x[base + e];
  }
  let halfRope = params.ropeDim / 2u;
  var j: u32;
  var second: bool;
  var a: u32;
  if (HALVES) {
    second = e >= halfRope;
    j = select(e, e - halfRope, second);
    a = base + j;
  } else {
    second = (e & 1u) == 1u;
    j = e / 2u;
    a = base + 2u * j;
  }
  let b = select(a + 1u, a + halfRope, HALVES);
  let ab = rotated(x[a], x[b], cosSin(f32(params.pos0 + token) * invFreq[j]));
  return select(ab.x, ab.y, second);
}
