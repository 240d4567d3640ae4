// Flash-decoding, pass 1: one query token (at position pos0) attends to keys keyStart ..= pos0
// (keyStart > 0 under a sliding window), split into chunks of tilesPerSplit * TILE keys. A
// workgroup takes one chunk and HEADS query heads that share one KV head, so each K/V element is
// read once for all of them, and writes
// per head the unnormalised output, running max and sum (online softmax) for
// attention_reduce.wgsl to combine.
//
// Per tile, thread c scores key c for every head; then thread t owns output dims t, t + TILE,
// t + 2 TILE, ... of every head.

override HEAD_DIM: u32;
override HEADS: u32;
// The KV cache holds packed f16 (element e of a row in word e / 2, the even one in the low
// half) instead of f32. Both layouts are declared as u32 words so one binding serves both;
// the f32 path bitcasts its words, which costs nothing, and the other branch folds away.
override KV_F16: bool = false;
// A sliding-window layer's cache may be a ring of RING_ROWS rows: position p lives in row
// p % RING_ROWS. 0 is no ring (row p), and the wrapper leaves it unset then so that the
// plain pipeline is the one compiled before rings existed. Masking stays by position.
override RING_ROWS: u32 = 0u;
const TILE: u32 = 64u;
// Keys and queries are read as vec4s (the wrapper requires HEAD_DIM % 4 == 0); V is read as
// f32 so that all TILE threads share the output dims.
override HEAD_VEC4: u32 = HEAD_DIM / 4u;
// Output dims per thread and head.
override DIM_SLOTS: u32 = (HEAD_DIM + TILE - 1u) / TILE;
// Accumulator registers per thread, HEADS * DIM_SLOTS of them used: the wrapper takes HEADS <=
// min(MAX_HEADS, ACC_SLOTS / DIM_SLOTS), so up to 128 dims get 8 heads per workgroup and 256
// dims 4, keeping the per-thread state the same size.
const MAX_HEADS: u32 = 8u;
const ACC_SLOTS: u32 = 16u;
// A finite stand-in for -inf: exp(MASKED - m) is 0 and MASKED - MASKED is not NaN.
const MASKED: f32 = -1e30;

struct Params {
  pos0: u32,
  nHeads: u32,
  nKvHeads: u32,
  tilesPerSplit: u32,
  scale: f32,
  // Scores become softcap · tanh(score · invSoftcap) when softcap > 0.
  softcap: f32,
  invSoftcap: f32,
  // The first key the query sees: pos0 + 1 − window, or 0.
  keyStart: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
// f32: 4 dims per vec4u. Packed f16: 8 dims (the wrapper then requires HEAD_DIM % 8 == 0, so
// every head starts on a vec4u).
@group(0) @binding(2) var<storage, read> kCache: array<vec4u>;
@group(0) @binding(3) var<storage, read> vCache: array<u32>;
// [nSplits, nHeads, HEAD_DIM + 2]: unnormalised output, then max, then sum.
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

// q stays in storage, where all threads load the same address at once: workgroup memory is
// kept small because SwiftShader's pipeline compile time grows with it (see attention_prefill.wgsl).

// Per head and key of the tile: scores, reduced in place to their max, then probabilities;
// at the end the threads' shares of each head's sum, reduced the same way.
var<workgroup> tile: array<f32, HEADS * TILE>;

// tanh with a few ULP of relative error and no overflow (elementwise.wgsl explains the two branches).
fn tanhStable(y: f32) -> f32 {
  let a = abs(y);
  if (a < 0.25) {
    let z = y * y;
    return y + y * z * (-1.0 / 3.0 + z * (2.0 / 15.0 + z * (-17.0 / 315.0 + z * (62.0 / 2835.0))));
  }
  let e = exp(-2.0 * a);
  return sign(y) * ((1.0 - e) / (1.0 + e));
}

// The cache row holding key position p.
fn kvRow(p: u32) -> u32 {
  if (RING_ROWS > 0u) {
    // The max keeps the compiler from rejecting a constant % 0 in the branch that RING_ROWS = 0 drops.
    return p % max(RING_ROWS, 1u);
  }
  return p;
}

// Element i of the V cache.
fn vAt(i: u32) -> f32 {
  if (KV_F16) {
    return unpack2x16float(vCache[i / 2u])[i & 1u];
  }
  return bitcast<f32>(vCache[i]);
}

// Tree reduction of each head's TILE values in `tile` into its element 0.
fn reduceTile(t: u32, useMax: bool) {
  for (var stride = TILE / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (t < stride) {
      for (var g = 0u; g < HEADS; g++) {
        let a = tile[g * TILE + t];
        let b = tile[g * TILE + t + stride];
        tile[g * TILE + t] = select(a + b, max(a, b), useMax);
      }
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(TILE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let split = wg.x;
  let head0 = wg.y * HEADS;
  let kvHead = head0 / (params.nHeads / params.nKvHeads);
  let kvRowStride = params.nKvHeads * HEAD_DIM;
  let kvHeadOffset = kvHead * HEAD_DIM;
  // Splits start at the window's first key, not at a tile boundary, so no split holds a key the
  // window dropped; the wrapper launches only splits that start at or before pos0, so each sees a key.
  let keyStart = params.keyStart + split * params.tilesPerSplit * TILE;
  let keyEnd = min(keyStart + params.tilesPerSplit * TILE, params.pos0 + 1u);

  var m: array<f32, MAX_HEADS>;
  var lShare: array<f32, MAX_HEADS>;
  var acc: array<f32, ACC_SLOTS>;
  for (var g = 0u; g < HEADS; g++) {
    m[g] = MASKED;
  }

  for (var key0 = keyStart; key0 < keyEnd; key0 += TILE) {
    workgroupBarrier();
    let key = key0 + t;
    var s: array<f32, MAX_HEADS>;
    for (var g = 0u; g < HEADS; g++) {
      s[g] = MASKED;
    }
    if (key < keyEnd) {
      for (var g = 0u; g < HEADS; g++) {
        s[g] = 0.0;
      }
      if (KV_F16) {
        let base = (kvRow(key) * kvRowStride + kvHeadOffset) / 8u;
        for (var d = 0u; d < HEAD_VEC4 / 2u; d++) {
          let w = kCache[base + d];
          let k0 = vec4f(unpack2x16float(w.x), unpack2x16float(w.y));
          let k1 = vec4f(unpack2x16float(w.z), unpack2x16float(w.w));
          for (var g = 0u; g < HEADS; g++) {
            let qAt = (head0 + g) * HEAD_VEC4 + 2u * d;
            s[g] += dot(q[qAt], k0);
            s[g] += dot(q[qAt + 1u], k1);
          }
        }
      } else {
        let base = (kvRow(key) * kvRowStride + kvHeadOffset) / 4u;
        for (var d = 0u; d < HEAD_VEC4; d++) {
          let k = bitcast<vec4f>(kCache[base + d]);
          for (var g = 0u; g < HEADS; g++) {
            s[g] += dot(q[(head0 + g) * HEAD_VEC4 + d], k);
          }
        }
      }
      for (var g = 0u; g < HEADS; g++) {
        s[g] *= params.scale;
        if (params.softcap > 0.0) {
          s[g] = params.softcap * tanhStable(s[g] * params.invSoftcap);
        }
      }
    }
    for (var g = 0u; g < HEADS; g++) {
      tile[g * TILE + t] = s[g];
    }
    reduceTile(t, true);

    var alpha: array<f32, MAX_HEADS>;
    for (var g = 0u; g < HEADS; g++) {
      let mNew = max(m[g], tile[g * TILE]);
      alpha[g] = exp(m[g] - mNew);
      m[g] = mNew;
    }
    workgroupBarrier();
    for (var g = 0u; g < HEADS; g++) {
      let p = exp(s[g] - m[g]);
      tile[g * TILE + t] = p;
      lShare[g] = lShare[g] * alpha[g] + p;
    }
    workgroupBarrier();

    let nKeys = min(TILE, keyEnd - key0);
    for (var i = 0u; i < DIM_SLOTS; i++) {
      let d = t + i * TILE;
      if (d < HEAD_DIM) {
        for (var g = 0u; g < HEADS; g++) {
          acc[g * DIM_SLOTS + i] *= alpha[g];
        }
        for (var c = 0u; c < nKeys; c++) {
          let v = vAt(kvRow(key0 + c) * kvRowStride + kvHeadOffset + d);
          for (var g = 0u; g < HEADS; g++) {
            acc[g * DIM_SLOTS + i] += tile[g * TILE + c] * v;
          }
        }
      }
    }
  }

  workgroupBarrier();
  for (var g = 0u; g < HEADS; g++) {
    tile[g * TILE + t] = lShare[g];
  }
  reduceTile(t, false);

  for (var g = 0u; g < HEADS; g++) {
    let dst = (split * params.nHeads + head0 + g) * (HEAD_DIM + 2u);
    for (var i = 0u; i < DIM_SLOTS; i++) {
      let d = t + i * TILE;
      if (d < HEAD_DIM) {
        partials[dst + d] = acc[g * DIM_SLOTS + i];
      }
    }
    if (t == 0u) {
      partials[dst + HEAD_DIM] = m[g];
      partials[dst + HEAD_DIM + 1u] = tile[g * TILE];
    }
  }
}
