// Causal grouped-query attention over the KV cache for a block of query rows, with online
// softmax, optional soft-capping of the scores (Gemma 2) and an optional sliding window: query
// position p sees keys k with p − window < k ≤ p. The query heads that share one KV head are
// flattened into rows row = token * group + headInGroup, so a workgroup takes ROWS such rows of
// one KV head and every K/V tile it loads serves all of them. Rows are ordered by token, so a
// block's causal horizon is that of its last token, and its window starts where its first
// token's does.
//
// Threads form ROWS rows of LANES. Per KV tile of LANES keys, lane c of row r scores key c;
// then lane c owns output vec4s c, c + LANES, c + 2 LANES, ... of its row.
//
// A tile holds the head dimension in chunks of at most CHUNK_VEC4 vec4s (128 dims): a 16-key
// tile of 256-dim f32 rows alone would fill the 16 KiB of workgroup memory WebGPU guarantees.
// A head of up to 128 dims is a single chunk (the chunk loops run once, with constant bounds);
// a wider one loads K, then V, chunk by chunk: two more barriers per extra chunk and tile.

override HEAD_DIM: u32;
// The KV cache holds packed f16 (element e of a row in word e / 2, the even one in the low
// half) instead of f32. Both layouts are declared as vec4u so one binding serves both: the
// f32 path bitcasts its words, which costs nothing, and the other branch folds away. Only
// the tile loads differ; the tile itself is f32 either way.
override KV_F16: bool = false;
// A sliding-window layer's cache may be a ring of RING_ROWS rows: position p lives in row
// p % RING_ROWS. 0 is no ring (row p), and the wrapper leaves it unset then so that the
// plain pipeline is the one compiled before rings existed. Masking stays by position; the
// wrapper checks that the keys a dispatch reads fall in distinct rows.
override RING_ROWS: u32 = 0u;
const ROWS: u32 = 16u;
const LANES: u32 = 16u;
// Rows are handled as vec4s (the wrapper requires HEAD_DIM % 4 == 0).
override HEAD_VEC4: u32 = HEAD_DIM / 4u;
// A lane owns SLOTS_PER_CHUNK vec4s of each chunk: its output slot i lies in chunk i / SLOTS_PER_CHUNK.
const SLOTS_PER_CHUNK: u32 = 2u;
const MAX_CHUNK_VEC4: u32 = SLOTS_PER_CHUNK * LANES;
override CHUNK_VEC4: u32 = min(HEAD_VEC4, MAX_CHUNK_VEC4);
override CHUNKS: u32 = (HEAD_VEC4 + MAX_CHUNK_VEC4 - 1u) / MAX_CHUNK_VEC4;
// HEAD_VEC4 <= LANES * MAX_VEC4_PER_LANE, i.e. HEAD_DIM <= 256 (checked by the wrapper). A
// narrower head leaves the last slots unindexed once the override constants are substituted.
const MAX_VEC4_PER_LANE: u32 = 4u;
// The K/V tile is padded by one vec4 per row so that the 16 lanes reading 16 key rows at the
// same offset spread over all memory banks.
override STRIDE: u32 = CHUNK_VEC4 + 1u;
// A finite stand-in for -inf: exp(MASKED - m) is 0 and MASKED - MASKED is not NaN.
const MASKED: f32 = -1e30;

struct Params {
  m: u32,
  pos0: u32,
  nHeads: u32,
  nKvHeads: u32,
  scale: f32,
  // Scores become softcap · tanh(score · invSoftcap) when softcap > 0.
  softcap: f32,
  invSoftcap: f32,
  // Keys per query, counting itself; the wrapper passes at least maxSeq when there is no window.
  window: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
// f32: 4 dims per vec4u. Packed f16: 8 dims (the wrapper then requires HEAD_DIM % 8 == 0, so
// HEAD_VEC4, CHUNK_VEC4 and every offset in vec4s below are even).
@group(0) @binding(2) var<storage, read> kCache: array<vec4u>;
@group(0) @binding(3) var<storage, read> vCache: array<vec4u>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4f>;

// Workgroup memory is kept to the K/V tile on purpose: Q is read from storage, where the
// 16 lanes of a row load the same address (one transaction, cached after the first tile).
// A Q tile as well would double the memory, and SwiftShader's pipeline compile time grows
// with workgroup memory size (measured: about 0.7 ms of CPU per float).
//
// Holds the K tile, then the V tile of the same keys.
var<workgroup> kvTile: array<vec4f, LANES * STRIDE>;
// Scores, then probabilities, of each row for the current tile; finally the rows' sums.
var<workgroup> pTile: array<f32, ROWS * LANES>;

// vec4 offset of flattened row `row`'s query (or output) vector.
fn rowOffset(row: u32, kvHead: u32, group: u32) -> u32 {
  let token = row / group;
  let head = kvHead * group + row % group;
  return (token * params.nHeads + head) * HEAD_VEC4;
}

// The first key that query position qPos sees.
fn windowStart(qPos: u32) -> u32 {
  return qPos + 1u - min(params.window, qPos + 1u);
}

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

// vec4s of the head in chunk `chunk`: CHUNK_VEC4, or what is left for the last chunk.
fn chunkLen(chunk: u32) -> u32 {
  return min(CHUNK_VEC4, HEAD_VEC4 - chunk * CHUNK_VEC4);
}

// Loads chunk `chunk` of keys kv0 .. kv0 + LANES − 1 of the V cache, or of the K cache, into
// kvTile. Keys at or past kvEnd are unwritten cache rows (maybe NaN): they are zeroed, so that
// a zero probability times them stays zero.
fn loadTile(fromV: bool, kv0: u32, kvEnd: u32, kvRowStride: u32, kvHeadOffset: u32, chunk: u32, t: u32) {
  let len = chunkLen(chunk);
  let d0 = chunk * CHUNK_VEC4;
  if (KV_F16) {
    // A thread unpacks one vec4u into two neighbouring vec4s of the tile.
    let pairs = len / 2u;
    for (var e = t; e < LANES * pairs; e += ROWS * LANES) {
      let c = e / pairs;
      let d = 2u * (e % pairs);
      var lo = vec4f();
      var hi = vec4f();
      if (kv0 + c < kvEnd) {
        let w = cacheWords(fromV, (kvRow(kv0 + c) * kvRowStride + kvHeadOffset + d0 + d) / 2u);
        lo = vec4f(unpack2x16float(w.x), unpack2x16float(w.y));
        hi = vec4f(unpack2x16float(w.z), unpack2x16float(w.w));
      }
      kvTile[c * STRIDE + d] = lo;
      kvTile[c * STRIDE + d + 1u] = hi;
    }
    return;
  }
  for (var e = t; e < LANES * len; e += ROWS * LANES) {
    let c = e / len;
    let d = e % len;
    var x = vec4f();
    if (kv0 + c < kvEnd) {
      x = bitcast<vec4f>(cacheWords(fromV, kvRow(kv0 + c) * kvRowStride + kvHeadOffset + d0 + d));
    }
    kvTile[c * STRIDE + d] = x;
  }
}

// The cache row holding key position p.
fn kvRow(p: u32) -> u32 {
  if (RING_ROWS > 0u) {
    // The max keeps the compiler from rejecting a constant % 0 in the branch that RING_ROWS = 0 drops.
    return p % max(RING_ROWS, 1u);
  }
  return p;
}

fn cacheWords(fromV: bool, at: u32) -> vec4u {
  if (fromV) {
    return vCache[at];
  }
  return kCache[at];
}

@compute @workgroup_size(ROWS * LANES)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let group = params.nHeads / params.nKvHeads;
  let kvHead = wg.y;
  let nRows = params.m * group;
  let rowStart = wg.x * ROWS;
  let r = t / LANES;
  let lane = t % LANES;
  // Rows past the end repeat the last row's work so barriers stay uniform; they write nothing.
  let row = min(rowStart + r, nRows - 1u);
  let qOffset = rowOffset(row, kvHead, group);
  let qPos = params.pos0 + row / group;
  let kvEnd = params.pos0 + (min(rowStart + ROWS, nRows) - 1u) / group + 1u;
  // Keys before the block's first window are never loaded, so rows the window dropped (which a
  // cache may hold as anything) cannot reach the output even through a zero probability.
  let kvStart = windowStart(params.pos0 + rowStart / group);
  let qStart = windowStart(qPos);
  let kvRowStride = params.nKvHeads * HEAD_VEC4;
  let kvHeadOffset = kvHead * HEAD_VEC4;

  var m = MASKED;
  // This lane's share of the row's softmax denominator, rescaled with the row's running max;
  // the lanes' shares are summed once at the end.
  var lShare = 0.0;
  var acc: array<vec4f, MAX_VEC4_PER_LANE>;

  for (var kv0 = kvStart; kv0 < kvEnd; kv0 += LANES) {
    let visible = kv0 + lane >= qStart && kv0 + lane <= qPos;
    var dotQK = 0.0;
    for (var chunk = 0u; chunk < CHUNKS; chunk++) {
      workgroupBarrier();
      loadTile(false, kv0, kvEnd, kvRowStride, kvHeadOffset, chunk, t);
      workgroupBarrier();
      if (visible) {
        let d0 = chunk * CHUNK_VEC4;
        for (var d = 0u; d < chunkLen(chunk); d++) {
          dotQK += dot(q[qOffset + d0 + d], kvTile[lane * STRIDE + d]);
        }
      }
    }

    var s = MASKED;
    if (visible) {
      s = dotQK * params.scale;
      if (params.softcap > 0.0) {
        s = params.softcap * tanhStable(s * params.invSoftcap);
      }
    }
    pTile[r * LANES + lane] = s;
    workgroupBarrier();

    // A block's tokens are at most ROWS − 1 < LANES positions apart, so every row's first visible
    // key (its window start) lies in the block's first tile: m is finite from the first tile on,
    // and masked scores get e^(MASKED − m) = 0.
    var mNew = m;
    for (var c = 0u; c < LANES; c++) {
      mNew = max(mNew, pTile[r * LANES + c]);
    }
    let alpha = exp(m - mNew);
    let p = exp(s - mNew);
    m = mNew;
    lShare = lShare * alpha + p;
    workgroupBarrier();

    pTile[r * LANES + lane] = p;
    for (var chunk = 0u; chunk < CHUNKS; chunk++) {
      // The barrier before the first chunk's load is the one above.
      if (chunk > 0u) {
        workgroupBarrier();
      }
      loadTile(true, kv0, kvEnd, kvRowStride, kvHeadOffset, chunk, t);
      workgroupBarrier();
      for (var j = 0u; j < SLOTS_PER_CHUNK; j++) {
        let d = lane + j * LANES;
        if (d < chunkLen(chunk)) {
          let i = chunk * SLOTS_PER_CHUNK + j;
          var a = acc[i] * alpha;
          for (var c = 0u; c < LANES; c++) {
            a += pTile[r * LANES + c] * kvTile[c * STRIDE + d];
          }
          acc[i] = a;
        }
      }
    }
  }

  workgroupBarrier();
  pTile[r * LANES + lane] = lShare;
  workgroupBarrier();
  var l = 0.0;
  for (var c = 0u; c < LANES; c++) {
    l += pTile[r * LANES + c];
  }
  if (rowStart + r < nRows) {
    for (var i = 0u; i < CHUNKS * SLOTS_PER_CHUNK; i++) {
      let d = lane + i * LANES;
      if (d < HEAD_VEC4) {
        out[qOffset + d] = acc[i] / l;
      }
    }
  }
}
