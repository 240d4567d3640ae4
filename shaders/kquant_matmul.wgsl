// Matmuls with ggml K-quant weights: y[i, n] (=|+=) Σ_k x[i, k] · W[n, k], x [m, K] and y [m, N] f32,
// W [N, K] in the GGUF bytes of Q4_K, Q5_K or Q6_K (KTYPE 4, 5, 6): each row is K / 256 super-blocks,
// rows back to back, and nothing is ever widened to f32 outside registers and workgroup memory.
// Layouts (bytes; src/engine/formats/kquant.ts has the element order):
//   Q4_K 144: d, dmin f16 | scales[12] (6-bit scale and min per 32-value sub-block) | qs[128] nibbles
//   Q5_K 176: d, dmin f16 | scales[12] | qh[32] fifth bits | qs[128]
//   Q6_K 210: ql[128] low nibbles | qh[64] top 2 bits | scales[16] int8 per 16 values | d f16
// Q4_K and Q5_K blocks are whole u32 words. A Q6_K block is not: odd blocks start 2 bytes into a
// word, so Q6_K reads go through word_at, which splices two words. No shader-f16: the f16 scales
// are unpacked from u32 pairs with unpack2x16float.
//
// Three entry points share the decoding: `gemv` for decode (one token row at a time), `gemm` for
// prefill, which dequantizes a 64-row × 32-deep tile of W into workgroup memory per K step, and
// `embed`, which gathers rows of a K-quant token embedding (the table is W: no f32 copy exists).
// KTYPE is an override, so each pipeline keeps only its own type's branch.

struct Params {
  m: u32,
  K: u32,
  N: u32,
  x_row_offset: u32,
  y_row_offset: u32,
}

override KTYPE: u32 = 4;
// Adds into y instead of overwriting it, which fuses a residual add into the matmul.
override ACCUMULATE: bool = false;

// gemv: a power of two that divides WG, for the tree reduction; ROWS must equal WG / THREADS_PER_ROW
// (the host passes the value it sizes the dispatch with).
override WG: u32 = 256;
override THREADS_PER_ROW: u32 = 8;
override ROWS: u32 = WG / THREADS_PER_ROW;

// gemm: invocations along the rows of y (WG_M) and its columns (WG_N); each owns a 4×4 block of y.
override WG_M: u32 = 16;
override WG_N: u32 = 16;

const QK_K: u32 = 256u;
// One Q4_K/Q5_K sub-block and two Q6_K scale groups: a tile step never straddles a scale.
const TILE_K: u32 = 32u;
const Q4_K_WORDS: u32 = 36u;
const Q5_K_WORDS: u32 = 44u;
const Q6_K_BYTES: u32 = 210u;

// K is a multiple of 256, so every row of x starts on a 16-byte boundary.
@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
// Token ids and the table's row window, read by `embed` alone (its pipeline binds no x).
@group(0) @binding(4) var<storage, read> ids: array<u32>;
@group(0) @binding(5) var<uniform> rows: EmbedRows;

// The rows of a token embedding that one table holds: ids first .. first+N−1 (N = p.N) of
// `vocab`, a chunk of a vocabulary split across buffers when the whole would exceed
// maxStorageBufferBindingSize. Ids ≥ vocab get a zero row from the chunk that ends the
// vocabulary. Field order: EMBED_ROWS in embeddingPacked.ts.
struct EmbedRows {
  first: u32,
  vocab: u32,
}

// Byte i of a little-endian word sits at bit 8i; these pick the four bytes (and their high nibbles).
const BYTE_SHIFTS = vec4<u32>(0u, 8u, 16u, 24u);
const HIGH_NIBBLE_SHIFTS = vec4<u32>(4u, 12u, 20u, 28u);

// The u32 starting at a byte offset that is 0 or 2 mod 4 (all Q6_K fields are 4-aligned within a
// block). Both words are read and one is selected, not branched on: the lanes of one row work on
// blocks of both parities at once. Offsets reach byte 204 of a block at most, so the second word
// ends by byte 211 (the next block, or the padding to 4 bytes after the last) and stays in the buffer.
fn word_at(byte: u32) -> u32 {
  let i = byte >> 2u;
  let lo = w[i];
  let hi = w[i + 1u];
  return select(lo, (lo >> 16u) | (hi << 16u), (byte & 2u) != 0u);
}

// Q6_K's d: the f16 at byte 208 of the block, in the low or high half of its word.
fn q6_k_d(block_byte: u32) -> f32 {
  let at = block_byte + 208u;
  let pair = unpack2x16float(w[at >> 2u]);
  return select(pair.x, pair.y, (at & 2u) != 0u);
}

// The 6-bit scale and min of sub-block j from the 12 scale bytes s0 | s1 | s2 (ggml's get_scale_min_k4):
// sub-blocks 0-3 keep theirs in the low 6 bits of bytes j and j+4; sub-blocks 4-7 keep their low
// 4 bits in the nibbles of byte j+4 and their top 2 bits in the top bits of bytes j-4 and j.
fn scale_min(j: u32, s0: u32, s1: u32, s2: u32) -> vec2<f32> {
  if (j < 4u) {
    return vec2<f32>(f32(extractBits(s0, 8u * j, 6u)), f32(extractBits(s1, 8u * j, 6u)));
  }
  let b = 8u * (j - 4u);
  let sc = extractBits(s2, b, 4u) | (extractBits(s0, b + 6u, 2u) << 4u);
  let m = extractBits(s2, b + 4u, 4u) | (extractBits(s1, b + 6u, 2u) << 4u);
  return vec2<f32>(f32(sc), f32(m));
}

// The 16-byte head of a Q4_K/Q5_K block at word bw: (d, dmin) and the 12 scale bytes.
struct KHead {
  dm: vec2<f32>,
  s0: u32,
  s1: u32,
  s2: u32,
}

fn k_head(bw: u32) -> KHead {
  return KHead(unpack2x16float(w[bw]), w[bw + 1u], w[bw + 2u], w[bw + 3u]);
}

// Scale d·sc and offset dmin·m of sub-block j.
fn affine(head: KHead, j: u32) -> vec2<f32> {
  return head.dm * scale_min(j, head.s0, head.s1, head.s2);
}

// ---- gemv ----------------------------------------------------------------------------------
//
// A super-block is cut into 8 units of 32 weights, and a row's THREADS_PER_ROW lanes take its
// units in turn (neighbouring lanes read neighbouring bytes). Each unit sums x·q and x per scale
// and applies the scale and min once: Σ x·(d·q − m) = d·Σ x·q − m·Σ x.

// Q4_K/Q5_K unit: chunk c = part / 2 of qs, bytes 16h..16h+15 (h = part % 2), whose low nibbles are
// sub-block 2c, elements 64c+16h.., and high nibbles sub-block 2c+1, elements 64c+32+16h..
fn unit_q45_k(blk: u32, part: u32, xb: u32) -> f32 {
  let c = part >> 1u;
  let h = part & 1u;
  let five = KTYPE == 5u;
  let bw = blk * select(Q4_K_WORDS, Q5_K_WORDS, five);
  let head = k_head(bw);
  let lo = affine(head, 2u * c);
  let hi = affine(head, 2u * c + 1u);
  let qs = bw + select(4u, 12u, five) + 8u * c + 4u * h;
  var dot_lo = 0.0;
  var dot_hi = 0.0;
  var sum_lo = vec4<f32>(0.0);
  var sum_hi = vec4<f32>(0.0);
  for (var t = 0u; t < 4u; t++) {
    let q = vec4<u32>(w[qs + t]);
    var q_lo = (q >> BYTE_SHIFTS) & vec4<u32>(15u);
    var q_hi = (q >> HIGH_NIBBLE_SHIFTS) & vec4<u32>(15u);
    if (five) {
      // qh byte l carries the fifth bit of element 64c+l at bit 2c and of 64c+32+l at bit 2c+1.
      let qh = vec4<u32>(w[bw + 4u + 4u * h + t]);
      q_lo |= ((qh >> (BYTE_SHIFTS + 2u * c)) & vec4<u32>(1u)) << vec4<u32>(4u);
      q_hi |= ((qh >> (BYTE_SHIFTS + 2u * c + 1u)) & vec4<u32>(1u)) << vec4<u32>(4u);
    }
    let a = x4[xb + 16u * c + 4u * h + t];
    let b = x4[xb + 16u * c + 8u + 4u * h + t];
    dot_lo += dot(a, vec4<f32>(q_lo));
    dot_hi += dot(b, vec4<f32>(q_hi));
    sum_lo += a;
    sum_hi += b;
  }
  let ones = vec4<f32>(1.0);
  return lo.x * dot_lo - lo.y * dot(sum_lo, ones) + hi.x * dot_hi - hi.y * dot(sum_hi, ones);
}

// Q6_K unit: half = part / 4 of the block, l = 8·(part % 4) .. +7 in each of its four quadrants
// (elements 128·half + 32·quadrant + l). ql[l] holds quadrants 0 and 2, ql[l+32] quadrants 1 and 3,
// qh[l] the top bits of all four; quadrant r uses scale 8·half + 2r + l/16.
fn unit_q6_k(blk: u32, part: u32, xb: u32) -> f32 {
  let half = part >> 2u;
  let l0 = 8u * (part & 3u);
  let bb = blk * Q6_K_BYTES;
  let ql = bb + 64u * half + l0;
  let qh = bb + 128u + 32u * half + l0;
  var dots = vec4<f32>(0.0);
  for (var t = 0u; t < 2u; t++) {
    let a = vec4<u32>(word_at(ql + 4u * t));
    let b = vec4<u32>(word_at(ql + 32u + 4u * t));
    let h = vec4<u32>(word_at(qh + 4u * t));
    let mask = vec4<u32>(15u);
    let top = vec4<u32>(3u);
    let q0 = ((a >> BYTE_SHIFTS) & mask) | (((h >> BYTE_SHIFTS) & top) << vec4<u32>(4u));
    let q1 = ((b >> BYTE_SHIFTS) & mask) | (((h >> (BYTE_SHIFTS + 2u)) & top) << vec4<u32>(4u));
    let q2 = ((a >> HIGH_NIBBLE_SHIFTS) & mask) | (((h >> (BYTE_SHIFTS + 4u)) & top) << vec4<u32>(4u));
    let q3 = ((b >> HIGH_NIBBLE_SHIFTS) & mask) | (((h >> (BYTE_SHIFTS + 6u)) & top) << vec4<u32>(4u));
    let xq = xb + 32u * half + l0 / 4u + t;
    let centre = vec4<f32>(32.0);
    dots += vec4<f32>(
      dot(x4[xq], vec4<f32>(q0) - centre),
      dot(x4[xq + 8u], vec4<f32>(q1) - centre),
      dot(x4[xq + 16u], vec4<f32>(q2) - centre),
      dot(x4[xq + 24u], vec4<f32>(q3) - centre),
    );
  }
  // Scales 8·half + g + {0, 2, 4, 6} (g = l0/16): bytes g and g+2 of the first word, of the second.
  let g = l0 / 16u;
  let s0 = i32(word_at(bb + 192u + 8u * half));
  let s1 = i32(word_at(bb + 196u + 8u * half));
  let scales = vec4<f32>(
    f32(extractBits(s0, 8u * g, 8u)),
    f32(extractBits(s0, 8u * g + 16u, 8u)),
    f32(extractBits(s1, 8u * g, 8u)),
    f32(extractBits(s1, 8u * g + 16u, 8u)),
  );
  return q6_k_d(bb) * dot(scales, dots);
}

var<workgroup> partial: array<f32, WG>;

// Workgroups are numbered token-major over ceil(N / ROWS) row groups; the host may split that count
// across x and y to respect maxComputeWorkgroupsPerDimension, and the surplus workgroups of the
// split find token >= m and stay inactive (they still take part in the barriers).
@compute @workgroup_size(WG)
fn gemv(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let linear = wg.y * nwg.x + wg.x;
  let groups = (p.N + ROWS - 1u) / ROWS;
  let token = linear / groups;
  let row = (linear % groups) * ROWS + li / THREADS_PER_ROW;
  let lane = li % THREADS_PER_ROW;
  let in_range = token < p.m && row < p.N;
  var acc = 0.0;
  if (in_range) {
    let blocks = p.K / QK_K;
    let xb = (p.x_row_offset + token) * (p.K / 4u);
    for (var u = lane; u < blocks * 8u; u += THREADS_PER_ROW) {
      let blk = row * blocks + u / 8u;
      let xs = xb + (u / 8u) * (QK_K / 4u);
      if (KTYPE == 6u) {
        acc += unit_q6_k(blk, u % 8u, xs);
      } else {
        acc += unit_q45_k(blk, u % 8u, xs);
      }
    }
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var stride = THREADS_PER_ROW / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      partial[li] += partial[li + stride];
    }
    workgroupBarrier();
  }
  if (in_range && lane == 0u) {
    let idx = (p.y_row_offset + token) * p.N + row;
    var v = partial[li];
    if (ACCUMULATE) {
      v += y[idx];
    }
    y[idx] = v;
  }
}

// ---- gemm ----------------------------------------------------------------------------------

// The 8 weights k .. k+7 (k a multiple of 8) of row n, as ggml's dequantize_row_* computes them:
// (d·sc)·q − dmin·m for Q4_K/Q5_K, (d·sc)·(q − 32) for Q6_K.
fn dequant8(n: u32, k: u32) -> array<vec4<f32>, 2> {
  let blk = n * (p.K / QK_K) + k / QK_K;
  let e = k % QK_K;
  var out: array<vec4<f32>, 2>;
  if (KTYPE == 6u) {
    let half = e / 128u;
    let quadrant = (e / 32u) % 4u;
    let l0 = e % 32u;
    let bb = blk * Q6_K_BYTES;
    let ql = bb + 64u * half + 32u * (quadrant & 1u) + l0;
    let qh = bb + 128u + 32u * half + l0;
    let group = e / 16u;
    let sc = f32(extractBits(i32(word_at(bb + 192u + (group & ~3u))), 8u * (group & 3u), 8u));
    let scale = q6_k_d(bb) * sc;
    for (var t = 0u; t < 2u; t++) {
      let lo = (vec4<u32>(word_at(ql + 4u * t)) >> (BYTE_SHIFTS + 4u * (quadrant / 2u))) & vec4<u32>(15u);
      let hi = (vec4<u32>(word_at(qh + 4u * t)) >> (BYTE_SHIFTS + 2u * quadrant)) & vec4<u32>(3u);
      out[t] = scale * (vec4<f32>(lo | (hi << vec4<u32>(4u))) - vec4<f32>(32.0));
    }
    return out;
  }
  let five = KTYPE == 5u;
  let j = e / 32u;
  let l0 = e % 32u;
  let bw = blk * select(Q4_K_WORDS, Q5_K_WORDS, five);
  let scale_offset = affine(k_head(bw), j);
  let qs = bw + select(4u, 12u, five) + 8u * (j / 2u) + l0 / 4u;
  for (var t = 0u; t < 2u; t++) {
    var q = (vec4<u32>(w[qs + t]) >> (BYTE_SHIFTS + 4u * (j & 1u))) & vec4<u32>(15u);
    if (five) {
      q |= ((vec4<u32>(w[bw + 4u + l0 / 4u + t]) >> (BYTE_SHIFTS + j)) & vec4<u32>(1u)) << vec4<u32>(4u);
    }
    out[t] = scale_offset.x * vec4<f32>(q) - vec4<f32>(scale_offset.y);
  }
  return out;
}

// Transposed staging as in gemm.wgsl: xs[k * WG_M + r] holds x rows 4r .. 4r+3 of the tile at depth
// k, ws[k * WG_N + c] weight rows 4c .. 4c+3, so the inner loop reads one vec4 per operand per k.
// 2 × 32 × 16 vec4 = 16 KiB, the guaranteed minimum of maxComputeWorkgroupStorageSize.
var<workgroup> xs: array<vec4<f32>, TILE_K * WG_M>;
var<workgroup> ws: array<vec4<f32>, TILE_K * WG_N>;

@compute @workgroup_size(WG_N, WG_M)
fn gemm(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let threads = WG_M * WG_N;
  let row0 = wg.y * WG_M * 4u;
  let col0 = wg.x * WG_N * 4u;
  var acc: array<vec4<f32>, 4>;

  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {
    // x: 4·WG_M rows of TILE_K / 4 vec4s; rows past m are staged as zeros.
    for (var e = li; e < WG_M * 4u * (TILE_K / 4u); e += threads) {
      let r = e / (TILE_K / 4u);
      let v = e % (TILE_K / 4u);
      var a = vec4<f32>(0.0);
      if (row0 + r < p.m) {
        a = x4[((p.x_row_offset + row0 + r) * p.K + k0) / 4u + v];
      }
      for (var i = 0u; i < 4u; i++) {
        xs[(4u * v + i) * WG_M + r / 4u][r % 4u] = a[i];
      }
    }
    // W: 4·WG_N rows of TILE_K / 8 runs of 8 weights, each dequantized by one invocation; rows past N are zeros.
    for (var e = li; e < WG_N * 4u * (TILE_K / 8u); e += threads) {
      let c = e / (TILE_K / 8u);
      let run = e % (TILE_K / 8u);
      var v: array<vec4<f32>, 2>;
      if (col0 + c < p.N) {
        v = dequant8(col0 + c, k0 + 8u * run);
      }
      for (var i = 0u; i < 8u; i++) {
        ws[(8u * run + i) * WG_N + c / 4u][c % 4u] = v[i / 4u][i % 4u];
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

  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y * 4u + i;
    if (row >= p.m) {
      break;
    }
    for (var c = 0u; c < 4u; c++) {
      let col = col0 + lid.x * 4u + c;
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

// ---- embed ---------------------------------------------------------------------------------

// y[i, k] = W[ids[i] − first, k] for i < m, k < K and the ids this table holds (EmbedRows), with N
// its rows: a token embedding kept in its K-quant type, each run of eight decoded by dequant8. One
// invocation per run, numbered token-major and split across x and y by the host like gemv's
// workgroups. Ids past the vocabulary write a zero row, as embedding.wgsl does.
@compute @workgroup_size(WG)
fn embed(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let runs = p.K / 8u;
  let j = (wg.y * nwg.x + wg.x) * WG + li;
  if (j >= p.m * runs) {
    return;
  }
  let token = j / runs;
  let k = 8u * (j % runs);
  let id = ids[token];
  // An id below `first` wraps around to a huge row: one comparison finds other chunks' ids.
  let row = id - rows.first;
  let held = row < p.N;
  if (!held && (id < rows.vocab || rows.first + p.N < rows.vocab)) {
    return;
  }
  var v: array<vec4<f32>, 2>;
  if (held) {
    v = dequant8(row, k);
  }
  let base = token * p.K + k;
  for (var i = 0u; i < 8u; i++) {
    y[base + i] = v[i / 4u][i % 4u];
  }
}
