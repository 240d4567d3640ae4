// Matmuls whose weights stay packed in their GGUF bytes: y[i, n] (=|+=) Σ_k x[i, k] · w[n, k],
// x [m, K] and y [m, N] f32 (addressed from row offsets), w [N, K] in one of the types of
// src/engine/formats/quant.ts, chosen by TYPE. Weights are dequantized in registers, eight at
// a time (`weights8`), and never written back anywhere as f32.
//
// Three entry points share the decoding: `gemv` for decode (the layout of gemv.wgsl: lanes of
// a row stride along it, then a tree reduction), `gemm` for prefill (the 4×4 register
// tiling of gemm.wgsl, with each K step of w dequantized into workgroup memory), and `embed`,
// which gathers rows of a packed token embedding (the table is w, so no f32 copy of it exists).
// `gemv_block_sums` and `gemm_block_sums` are gemv and gemm for Q4_1 and Q5_1 under llama.cpp's
// numerics (see `sum_residuals`); they are entry points of their own, not an override, so that
// the other pipelines' automatic layouts do not gain their binding.
//
// The bytes are read as u32 words. Rows are not padded, and Q4_0, Q5_0 and Q8_0 blocks are
// 18, 22 and 34 bytes long, so a block, and a field inside it, may start in the middle of a
// word: every read goes through `word_at`, which takes any even byte offset. No `shader-f16`
// is needed: halves are unpacked with unpack2x16float and bf16 is a 16-bit shift.

struct Params {
  m: u32,
  K: u32,
  N: u32,
  x_row_offset: u32,
  y_row_offset: u32,
}

// Weight types, numbered as PACKED_TYPE_CODES in src/gpu/kernels/packedWeights.ts.
const T_F16 = 0u;
const T_BF16 = 1u;
const T_Q8_0 = 2u;
const T_Q4_0 = 3u;
const T_Q4_1 = 4u;
const T_Q5_0 = 5u;
const T_Q5_1 = 6u;

override TYPE: u32;
// Elements and bytes per block (1 and 2 for F16 and BF16).
override BLOCK_ELEMS: u32;
override BLOCK_BYTES: u32;
// Adds into y instead of overwriting it, which fuses a residual add into the matmul.
override ACCUMULATE: bool = false;

// gemv: see gemv.wgsl.
override WG: u32 = 256;
override THREADS_PER_ROW: u32 = 4;
override ROWS: u32 = WG / THREADS_PER_ROW;

// gemm: see gemm.wgsl. The K step is one 32-element block, so every staged row is whole blocks.
override WG_M: u32 = 16;
override WG_N: u32 = 16;
const TILE_K = 32u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
// Token ids and the table's row window, read by `embed` alone (its pipeline binds no x).
@group(0) @binding(4) var<storage, read> ids: array<u32>;
@group(0) @binding(5) var<uniform> rows: EmbedRows;
// The *_block_sums entry points' extra input, [rows of x, K / 32]: per block of x, llama.cpp's
// Q8_1 block sum f16(d·Σq) minus the sum of the block's values (round_activations.wgsl's
// round_block_sums). llama.cpp's Q4_1/Q5_1 dot product adds m·f16(d·Σq) per block where the
// decoded weights q·d + m give m·Σx, so adding m times this residual closes the gap.
@group(0) @binding(6) var<storage, read> sum_residuals: array<f32>;

// The rows of a token embedding that one table holds: ids first .. first+N−1 (N = p.N) of
// `vocab`, a chunk of a vocabulary split across buffers when the whole would exceed
// maxStorageBufferBindingSize. Ids ≥ vocab get a zero row from the chunk that ends the
// vocabulary. Field order: EMBED_ROWS in embeddingPacked.ts.
struct EmbedRows {
  first: u32,
  vocab: u32,
}

struct Eight {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

// The u32 at an even byte offset. An odd half-word offset joins two words; the second index is
// clamped because an F16/BF16 group that runs past K at the end of the buffer asks for bytes
// past it.
fn word_at(byte: u32) -> u32 {
  let i = byte >> 2u;
  if ((byte & 2u) == 0u) {
    return w[i];
  }
  return (w[i] >> 16u) | (w[min(i + 1u, arrayLength(&w) - 1u)] << 16u);
}

fn half_at(byte: u32) -> f32 {
  return unpack2x16float(w[byte >> 2u] >> ((byte & 2u) * 8u)).x;
}

// Byte lanes of a word, as vec4 shift amounts.
const BYTE_SHIFTS = vec4<u32>(0u, 8u, 16u, 24u);

// The low (shift 0) or high (shift 4) nibbles of the four bytes of v.
fn nibbles(v: u32, shift: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(v) >> (BYTE_SHIFTS + shift)) & vec4<u32>(15u));
}

// The four bytes of v as signed integers: each byte is moved to the top and shifted back
// arithmetically.
fn signed_bytes(v: u32) -> vec4<f32> {
  return vec4<f32>((vec4<i32>(bitcast<i32>(v)) << (vec4<u32>(24u) - BYTE_SHIFTS)) >> vec4<u32>(24u));
}

// 16 × bit e .. e+3 of qh: the fifth bit of four consecutive Q5 levels.
fn fifth_bits(qh: u32, e: u32) -> vec4<f32> {
  return vec4<f32>(((vec4<u32>(qh) >> (vec4<u32>(e) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u)) * 16u);
}

// w[row, 8g .. 8g+7]. Rows of the block types are whole blocks; an F16/BF16 row may end inside
// the group of eight (see below).
fn weights8(row: u32, g: u32) -> Eight {
  let k = g * 8u;
  if (TYPE == T_F16 || TYPE == T_BF16) {
    // Rows of an odd length start mid-word. A group that runs past K reads the next row's
    // weights (or, at the end of the buffer, the clamped last word): the x values they meet
    // are zeroed by x8 and by the GEMM staging, so they add nothing.
    let at = (row * p.K + k) * 2u;
    let v = vec4<u32>(word_at(at), word_at(at + 4u), word_at(at + 8u), word_at(at + 12u));
    var lo: vec4<f32>;
    var hi: vec4<f32>;
    if (TYPE == T_F16) {
      lo = vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y));
      hi = vec4<f32>(unpack2x16float(v.z), unpack2x16float(v.w));
    } else {
      let even = bitcast<vec4<f32>>(v << vec4<u32>(16u));
      let odd = bitcast<vec4<f32>>(v & vec4<u32>(0xffff0000u));
      lo = vec4<f32>(even.x, odd.x, even.y, odd.y);
      hi = vec4<f32>(even.z, odd.z, even.w, odd.w);
    }
    return Eight(lo, hi);
  }

  // One quarter q of a 32-element block. Nibble byte j holds element j (low) and j + 16
  // (high), so quarters 0 and 1 read the low nibbles of bytes 0..7 and 8..15, quarters 2
  // and 3 the high nibbles of the same bytes.
  let block = row * (p.K / BLOCK_ELEMS) * BLOCK_BYTES + (g / 4u) * BLOCK_BYTES;
  let q = g % 4u;
  let half_bytes = (q & 1u) * 8u;
  let shift = (q >> 1u) * 4u;
  switch TYPE {
    case T_Q8_0: {
      let d = half_at(block);
      let at = block + 2u + q * 8u;
      return Eight(signed_bytes(word_at(at)) * d, signed_bytes(word_at(at + 4u)) * d);
    }
    case T_Q4_0: {
      let d = half_at(block);
      let at = block + 2u + half_bytes;
      return Eight((nibbles(word_at(at), shift) - 8.0) * d, (nibbles(word_at(at + 4u), shift) - 8.0) * d);
    }
    case T_Q4_1: {
      let dm = unpack2x16float(word_at(block));
      let at = block + 4u + half_bytes;
      return Eight(nibbles(word_at(at), shift) * dm.x + dm.y, nibbles(word_at(at + 4u), shift) * dm.x + dm.y);
    }
    case T_Q5_0: {
      let d = half_at(block);
      let qh = word_at(block + 2u);
      let at = block + 6u + half_bytes;
      let lo = nibbles(word_at(at), shift) + fifth_bits(qh, q * 8u);
      let hi = nibbles(word_at(at + 4u), shift) + fifth_bits(qh, q * 8u + 4u);
      return Eight((lo - 16.0) * d, (hi - 16.0) * d);
    }
    default: { // T_Q5_1
      let dm = unpack2x16float(word_at(block));
      let qh = word_at(block + 4u);
      let at = block + 8u + half_bytes;
      let lo = nibbles(word_at(at), shift) + fifth_bits(qh, q * 8u);
      let hi = nibbles(word_at(at + 4u), shift) + fifth_bits(qh, q * 8u + 4u);
      return Eight(lo * dm.x + dm.y, hi * dm.x + dm.y);
    }
  }
}

// x[base + k .. base + k + 7], zero past K (only F16/BF16 rows can end inside a group of 8).
fn x8(base: u32, k: u32) -> Eight {
  if (k + 8u <= p.K) {
    return Eight(
      vec4<f32>(x[base + k], x[base + k + 1u], x[base + k + 2u], x[base + k + 3u]),
      vec4<f32>(x[base + k + 4u], x[base + k + 5u], x[base + k + 6u], x[base + k + 7u]),
    );
  }
  var v = array<f32, 8>();
  for (var i = 0u; k + i < p.K; i++) {
    v[i] = x[base + k + i];
  }
  return Eight(vec4<f32>(v[0], v[1], v[2], v[3]), vec4<f32>(v[4], v[5], v[6], v[7]));
}

// The minimum m of block b of row `row` (Q4_1 and Q5_1: the half after d).
fn block_min(row: u32, b: u32) -> f32 {
  return unpack2x16float(word_at((row * (p.K / BLOCK_ELEMS) + b) * BLOCK_BYTES)).y;
}

var<workgroup> partial: array<f32, WG>;

// One gemv invocation's place: its token, output row and lane along the row.
struct GemvLane {
  token: u32,
  row: u32,
  lane: u32,
  in_range: bool,
}

// Workgroups are numbered token-major over ceil(N / ROWS) row groups, split across x and y
// by the host when there are more than maxComputeWorkgroupsPerDimension; the surplus of the
// split finds token >= m and stays inactive.
fn gemv_lane(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> GemvLane {
  let linear = wg.y * nwg.x + wg.x;
  let groups = (p.N + ROWS - 1u) / ROWS;
  let token = linear / groups;
  let row = (linear % groups) * ROWS + li / THREADS_PER_ROW;
  return GemvLane(token, row, li % THREADS_PER_ROW, token < p.m && row < p.N);
}

// The lane's share of its row's dot product.
fn gemv_dot(t: GemvLane) -> f32 {
  var acc = 0.0;
  if (t.in_range) {
    let xb = (p.x_row_offset + t.token) * p.K;
    let eights = (p.K + 7u) / 8u;
    // Neighbouring lanes take neighbouring quarters of a block, so their reads are adjacent.
    for (var g = t.lane; g < eights; g += THREADS_PER_ROW) {
      let wv = weights8(t.row, g);
      let xv = x8(xb, g * 8u);
      acc += dot(wv.lo, xv.lo) + dot(wv.hi, xv.hi);
    }
  }
  return acc;
}

// Folds the lanes' shares of each row and writes the row's output.
fn gemv_finish(t: GemvLane, li: u32, acc: f32) {
  partial[li] = acc;
  workgroupBarrier();
  for (var stride = THREADS_PER_ROW / 2u; stride > 0u; stride /= 2u) {
    if (t.lane < stride) {
      partial[li] += partial[li + stride];
    }
    workgroupBarrier();
  }
  if (t.in_range && t.lane == 0u) {
    let idx = (p.y_row_offset + t.token) * p.N + t.row;
    var v = partial[li];
    if (ACCUMULATE) {
      v += y[idx];
    }
    y[idx] = v;
  }
}

@compute @workgroup_size(WG)
fn gemv(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let t = gemv_lane(wg, nwg, li);
  gemv_finish(t, li, gemv_dot(t));
}

@compute @workgroup_size(WG)
fn gemv_block_sums(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let t = gemv_lane(wg, nwg, li);
  var acc = gemv_dot(t);
  if (t.in_range) {
    let blocks = p.K / BLOCK_ELEMS;
    let at = (p.x_row_offset + t.token) * blocks;
    for (var b = t.lane; b < blocks; b += THREADS_PER_ROW) {
      acc += block_min(t.row, b) * sum_residuals[at + b];
    }
  }
  gemv_finish(t, li, acc);
}

// Transposed staging as in gemm.wgsl: xs[k * WG_M + r] holds x rows 4r .. 4r+3 at step k.
var<workgroup> xs: array<vec4<f32>, TILE_K * WG_M>;
var<workgroup> ws: array<vec4<f32>, TILE_K * WG_N>;

// The invocation's 4×4 block of y: rows row0 + 4·lid.y + i, columns col0 + 4·lid.x + c.
fn gemm_tile(wg: vec3<u32>, lid: vec3<u32>, li: u32) -> array<vec4<f32>, 4> {
  let threads = WG_M * WG_N;
  let row0 = wg.y * WG_M * 4u;
  let col0 = wg.x * WG_N * 4u;
  var acc: array<vec4<f32>, 4>;

  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {
    for (var e = li; e < TILE_K * WG_M * 4u; e += threads) {
      let r = e / TILE_K;
      let k = e % TILE_K;
      var v = 0.0;
      if (row0 + r < p.m && k0 + k < p.K) {
        v = x[(p.x_row_offset + row0 + r) * p.K + k0 + k];
      }
      xs[k * WG_M + r / 4u][r % 4u] = v;
    }
    // One invocation per eight weights: four per staged row, neighbours on neighbouring quarters.
    for (var e = li; e < WG_N * 4u * (TILE_K / 8u); e += threads) {
      let c = e / (TILE_K / 8u);
      let g = k0 / 8u + e % (TILE_K / 8u);
      var v = Eight(vec4<f32>(0.0), vec4<f32>(0.0));
      if (col0 + c < p.N && g * 8u < p.K) {
        v = weights8(col0 + c, g);
      }
      let k = (g * 8u) % TILE_K;
      for (var i = 0u; i < 4u; i++) {
        ws[(k + i) * WG_N + c / 4u][c % 4u] = v.lo[i];
        ws[(k + 4u + i) * WG_N + c / 4u][c % 4u] = v.hi[i];
      }
    }
    workgroupBarrier();

    for (var k = 0u; k < TILE_K; k++) {
      let a = xs[k * WG_M + lid.y];
      let b = ws[k * WG_N + lid.x];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    // The next step overwrites the staging arrays.
    workgroupBarrier();
  }
  return acc;
}

fn gemm_store(wg: vec3<u32>, lid: vec3<u32>, acc: array<vec4<f32>, 4>) {
  for (var i = 0u; i < 4u; i++) {
    let row = wg.y * WG_M * 4u + lid.y * 4u + i;
    if (row >= p.m) {
      break;
    }
    for (var c = 0u; c < 4u; c++) {
      let col = wg.x * WG_N * 4u + lid.x * 4u + c;
      if (col < p.N) {
        let idx = (p.y_row_offset + row) * p.N + col;
        var v = acc[i][c];
        if (ACCUMULATE) {
          v += y[idx];
        }
        y[idx] = v;
      }
    }
  }
}

@compute @workgroup_size(WG_N, WG_M)
fn gemm(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  gemm_store(wg, lid, gemm_tile(wg, lid, li));
}

// The block-sum terms come after the tile loop, read straight from memory: K / 32 steps of four
// residuals and four minima against the tile's K steps of 32 staged products, a small addition.
@compute @workgroup_size(WG_N, WG_M)
fn gemm_block_sums(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  var acc = gemm_tile(wg, lid, li);
  let blocks = p.K / BLOCK_ELEMS;
  let row0 = wg.y * WG_M * 4u + lid.y * 4u;
  let col0 = wg.x * WG_N * 4u + lid.x * 4u;
  for (var b = 0u; b < blocks; b++) {
    var mins = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) {
      if (col0 + c < p.N) {
        mins[c] = block_min(col0 + c, b);
      }
    }
    for (var i = 0u; i < 4u; i++) {
      if (row0 + i < p.m) {
        acc[i] += sum_residuals[(p.x_row_offset + row0 + i) * blocks + b] * mins;
      }
    }
  }
  gemm_store(wg, lid, acc);
}

// y[i, k] = w[ids[i] − first, k] for i < m, k < K and the ids this table holds (EmbedRows), with
// N its rows: a token embedding kept in its packed type. One invocation per eight values,
// numbered token-major and split across x and y by the host like gemv's workgroups. Ids past the
// vocabulary write a zero row, as embedding.wgsl does.
@compute @workgroup_size(WG)
fn embed(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let eights = (p.K + 7u) / 8u;
  let j = (wg.y * nwg.x + wg.x) * WG + li;
  if (j >= p.m * eights) {
    return;
  }
  let token = j / eights;
  let g = j % eights;
  let id = ids[token];
  // An id below `first` wraps around to a huge row: one comparison finds other chunks' ids.
  let row = id - rows.first;
  let held = row < p.N;
  if (!held && (id < rows.vocab || rows.first + p.N < rows.vocab)) {
    return;
  }
  var v = Eight(vec4<f32>(0.0), vec4<f32>(0.0));
  if (held) {
    v = weights8(row, g);
  }
  // An F16/BF16 row may end inside the group: the values past K belong to the next row.
  let base = token * p.K + g * 8u;
  let count = min(8u, p.K - g * 8u);
  for (var i = 0u; i < count; i++) {
    y[base + i] = select(v.hi[i % 4u], v.lo[i % 4u], i < 4u);
  }
}
