// Matmuls over 16-bit float weights in f16 arithmetic, for devices with `shader-f16`:
// y[i, n] (=|+=) Σ_k x[i, k] · w[n, k], with x [m, K] and y [m, N] f32 (addressed from row
// offsets, as in gemm.wgsl) and w [N, K] in its GGUF bytes, F16 or BF16 (TYPE).
//
// The model's activations stay f32 in memory and are rounded to f16 as they are read, so the
// model needs no second set of buffers. Products and sums of eight products (CHUNK) are f16;
// those sums are added up in f32, since an f16 running sum over K terms would lose a digit
// every time it doubled. An |x| above 65504, f16's largest value, becomes infinite: the
// matmul inputs of a model (normed hidden states, SwiGLU and attention outputs) stay far below.
//
// Two entry points: `gemv` for decode (lanes of a row stride along it and fold their sums in a
// tree, as in gemv.wgsl; each lane serves four rows, so one x load and its conversion feed four
// weight rows) and `gemm` for prefill (gemm.wgsl's 4×4 register tiling; both staged tiles are
// f16, half the workgroup memory of the f32 kernels). K must be a multiple of 8: every read
// takes eight weights as one vec4<u32> and eight x values as two vec4<f32>.

enable f16;

struct Params {
  m: u32,
  K: u32,
  N: u32,
  x_row_offset: u32,
  y_row_offset: u32,
}

// Weight types, numbered as F16_MATMUL_TYPE_CODES in src/gpu/kernels/matmulF16.ts.
const T_F16 = 0u;
const T_BF16 = 1u;

override TYPE: u32;
// Adds into y instead of overwriting it, which fuses a residual add into the matmul.
override ACCUMULATE: bool = false;

// gemv: invocations per workgroup, and lanes that share one row.
override WG: u32 = 256;
override THREADS_PER_ROW: u32 = 4;
// Lane groups per workgroup; each serves ROWS_PER_LANE rows, LANE_GROUPS rows apart.
override LANE_GROUPS: u32 = WG / THREADS_PER_ROW;
const ROWS_PER_LANE = 4u;

// gemm: invocations along the rows (WG_M) and columns (WG_N) of y, each owning a 4×4 block,
// and the K step staged in workgroup memory (a multiple of CHUNK).
override WG_M: u32 = 16;
override WG_N: u32 = 16;
override TILE_K: u32 = 32;

// Products summed in f16 before the sum joins the f32 accumulator. The host's tolerance
// (matmulF16 tests) counts the roundings of such a sum: one per product, seven additions.
const CHUNK = 8u;

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

struct Eight {
  lo: vec4<f16>,
  hi: vec4<f16>,
}

// w[row, 8g .. 8g+7]. Rows are K / 8 whole vec4<u32>, element 2j in the low half of word j.
fn weights8(row: u32, g: u32) -> Eight {
  let v = w[row * (p.K / 8u) + g];
  if (TYPE == T_F16) {
    return Eight(
      vec4<f16>(bitcast<vec2<f16>>(v.x), bitcast<vec2<f16>>(v.y)),
      vec4<f16>(bitcast<vec2<f16>>(v.z), bitcast<vec2<f16>>(v.w)),
    );
  }
  // A bf16 is the top half of an f32. Its 8-bit mantissa fits in f16's 11 bits, so the
  // conversion is exact for weights in f16's normal range (6.1e-5 .. 65504).
  let even = bitcast<vec4<f32>>(v << vec4<u32>(16u));
  let odd = bitcast<vec4<f32>>(v & vec4<u32>(0xffff0000u));
  return Eight(
    vec4<f16>(vec4<f32>(even.x, odd.x, even.y, odd.y)),
    vec4<f16>(vec4<f32>(even.z, odd.z, even.w, odd.w)),
  );
}

// x[row, 8g .. 8g+7] rounded to f16, with row counted from the start of x.
fn x8(row: u32, g: u32) -> Eight {
  let at = row * (p.K / 4u) + g * 2u;
  return Eight(vec4<f16>(x[at]), vec4<f16>(x[at + 1u]));
}

fn dot8(a: Eight, b: Eight) -> f16 {
  return dot(a.lo, b.lo) + dot(a.hi, b.hi);
}

// y[token, row] (=|+=) v.
fn store(token: u32, row: u32, v: f32) {
  let idx = (p.y_row_offset + token) * p.N + row;
  var out = v;
  if (ACCUMULATE) {
    out += y[idx];
  }
  y[idx] = out;
}

var<workgroup> partial: array<vec4<f32>, WG>;

// Workgroups are numbered token-major over the row groups of LANE_GROUPS × ROWS_PER_LANE rows,
// split across x and y by the host when there are more than maxComputeWorkgroupsPerDimension;
// the surplus of the split finds token >= m and stays inactive.
@compute @workgroup_size(WG)
fn gemv(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let linear = wg.y * nwg.x + wg.x;
  let group_rows = LANE_GROUPS * ROWS_PER_LANE;
  let groups = (p.N + group_rows - 1u) / group_rows;
  let token = linear / groups;
  let lane = li % THREADS_PER_ROW;
  let row0 = (linear % groups) * group_rows + li / THREADS_PER_ROW;

  var acc = vec4<f32>(0.0);
  if (token < p.m) {
    let xr = p.x_row_offset + token;
    // Rows past N read row N − 1 again, so the loop needs no branch; their sums are dropped.
    let rows = min(vec4<u32>(row0) + vec4<u32>(0u, 1u, 2u, 3u) * LANE_GROUPS, vec4<u32>(p.N - 1u));
    // Neighbouring lanes read neighbouring 16-byte pieces of a row.
    for (var g = lane; g < p.K / 8u; g += THREADS_PER_ROW) {
      let xv = x8(xr, g);
      let sums = vec4<f16>(
        dot8(weights8(rows.x, g), xv),
        dot8(weights8(rows.y, g), xv),
        dot8(weights8(rows.z, g), xv),
        dot8(weights8(rows.w, g), xv),
      );
      acc += vec4<f32>(sums);
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
  if (token < p.m && lane == 0u) {
    for (var r = 0u; r < ROWS_PER_LANE; r++) {
      let row = row0 + r * LANE_GROUPS;
      if (row < p.N) {
        store(token, row, partial[li][r]);
      }
    }
  }
}

// Transposed staging as in gemm.wgsl: xs[k * WG_M + r] holds x rows 4r .. 4r+3 at step k,
// ws[k * WG_N + c] weight rows (columns of y) 4c .. 4c+3.
var<workgroup> xs: array<vec4<f16>, TILE_K * WG_M>;
var<workgroup> ws: array<vec4<f16>, TILE_K * WG_N>;

@compute @workgroup_size(WG_N, WG_M)
fn gemm(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let threads = WG_M * WG_N;
  let row0 = wg.y * WG_M * 4u;
  let col0 = wg.x * WG_N * 4u;
  let eights = p.K / 8u;
  let tile_eights = TILE_K / 8u;
  var acc: array<vec4<f32>, 4>;

  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {
    // Eight values per invocation and step, neighbours on neighbouring pieces of a row; the
    // x values are rounded to f16 once here, not once per use. Past m, N or K: zeros.
    for (var e = li; e < WG_M * 4u * tile_eights; e += threads) {
      let r = e / tile_eights;
      let g = k0 / 8u + e % tile_eights;
      var v = Eight(vec4<f16>(0.0), vec4<f16>(0.0));
      if (row0 + r < p.m && g < eights) {
        v = x8(p.x_row_offset + row0 + r, g);
      }
      let k = g * 8u - k0;
      for (var i = 0u; i < 4u; i++) {
        xs[(k + i) * WG_M + r / 4u][r % 4u] = v.lo[i];
        xs[(k + 4u + i) * WG_M + r / 4u][r % 4u] = v.hi[i];
      }
    }
    for (var e = li; e < WG_N * 4u * tile_eights; e += threads) {
      let c = e / tile_eights;
      let g = k0 / 8u + e % tile_eights;
      var v = Eight(vec4<f16>(0.0), vec4<f16>(0.0));
      if (col0 + c < p.N && g < eights) {
        v = weights8(col0 + c, g);
      }
      let k = g * 8u - k0;
      for (var i = 0u; i < 4u; i++) {
        ws[(k + i) * WG_N + c / 4u][c % 4u] = v.lo[i];
        ws[(k + 4u + i) * WG_N + c / 4u][c % 4u] = v.hi[i];
      }
    }
    workgroupBarrier();

    for (var kc = 0u; kc < TILE_K; kc += CHUNK) {
      // Zeroed explicitly: lavapipe under Dawn kept a bare `var part: …;` from the previous chunk.
      var part = array<vec4<f16>, 4>();
      for (var k = kc; k < kc + CHUNK; k++) {
        let a = xs[k * WG_M + lid.y];
        let b = ws[k * WG_N + lid.x];
        part[0] += a.x * b;
        part[1] += a.y * b;
        part[2] += a.z * b;
        part[3] += a.w * b;
      }
      for (var i = 0u; i < 4u; i++) {
        acc[i] += vec4<f32>(part[i]);
      }
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
        store(row, col, acc[i][c]);
      }
    }
  }
}
