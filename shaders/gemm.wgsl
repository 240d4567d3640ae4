// Tiled f32 GEMM for prefill: y[i, n] (=|+=) Σ_k x[i, k] · w[n, k].
// x is [m, K] and y is [m, N], both addressed from a row offset; w is [N, K]
// (out × in, the PyTorch Linear and GGUF layout), so both operands are read
// along K and a K step of either is a contiguous run of memory.
//
// Each invocation owns a 4×4 block of y held in four vec4 accumulators (the 4 is
// fixed by vec4, and THREAD_TILE in gemm.ts matches it), so a workgroup of
// WG_N × WG_M invocations covers a (4·WG_M) × (4·WG_N) tile of y. Every K step,
// the workgroup stages a TILE_K-wide slice of its x rows and w rows in workgroup
// memory; each staged value is then read by WG_N (or WG_M) invocations.

struct Params {
  m: u32,
  K: u32,
  N: u32,
  x_row_offset: u32,
  y_row_offset: u32,
}

override WG_M: u32 = 16;
override WG_N: u32 = 16;
override TILE_K: u32 = 16;
// Adds into y instead of overwriting it, which fuses a residual add into the matmul.
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// Transposed staging: xs[k * WG_M + r] holds x rows 4r .. 4r+3 of the tile at step k,
// so the inner loop reads one vec4 per operand per k.
var<workgroup> xs: array<vec4<f32>, TILE_K * WG_M>;
var<workgroup> ws: array<vec4<f32>, TILE_K * WG_N>;

@compute @workgroup_size(WG_N, WG_M)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let threads = WG_M * WG_N;
  let row0 = wg.y * WG_M * 4u;
  let col0 = wg.x * WG_N * 4u;
  var acc: array<vec4<f32>, 4>;

  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {
    // Consecutive invocations load consecutive k of one row, so global reads coalesce.
    // Values past m, N or K are staged as zeros so ragged edges add nothing.
    for (var e = li; e < TILE_K * WG_M * 4u; e += threads) {
      let r = e / TILE_K;
      let k = e % TILE_K;
      var v = 0.0;
      if (row0 + r < p.m && k0 + k < p.K) {
        v = x[(p.x_row_offset + row0 + r) * p.K + k0 + k];
      }
      xs[k * WG_M + r / 4u][r % 4u] = v;
    }
    for (var e = li; e < TILE_K * WG_N * 4u; e += threads) {
      let c = e / TILE_K;
      let k = e % TILE_K;
      var v = 0.0;
      if (col0 + c < p.N && k0 + k < p.K) {
        v = w[(col0 + c) * p.K + k0 + k];
      }
      ws[k * WG_N + c / 4u][c % 4u] = v;
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
