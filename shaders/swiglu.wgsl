// Gated feed-forward activation: out[j] = act(gate[j]) · up[j], with act one of
//   silu(g) = g / (1 + e^(−g))                                  (Llama, SwiGLU)
//   gelu_tanh(g) = ½·g·(1 + tanh(u)), u = √(2/π)·(g + 0.044715·g³)  (Gemma, GeGLU)
// GELU is evaluated as g / (1 + e^(−2u)), the same function since ½(1 + tanh(u)) = 1/(1 + e^(−2u)):
// it keeps its relative accuracy for negative g, where 1 + tanh(u) cancels. For g far below
// zero e^(−g) or e^(−2u) overflows to +inf and the quotient is a signed zero, the right limit,
// so no clamp is needed; g³ overflowing to ±inf gives the same limits.
//
// With FUSED the gate and up bindings are one buffer of rows [gate (F) | up (F)], as one matmul
// over the two matrices stacked writes it (the engine's merged gate+up projection); out stays
// [rows, F].
//
// main_table is llama.cpp's CPU GeGLU (ggml_vec_geglu_f32 under GGML_GELU_FP16), for comparing
// with it token for token: 0 for g ≤ −10, g · up for g ≥ 10, and in between ggml's f16 GELU table
// (binding 4, widened to f32 on the host) at the f16 nearest g, times up.

struct Params {
  count: u32,
  F: u32,
}

override WG: u32 = 256;
override FUSED: bool = false;
// 0: silu, 1: gelu_tanh.
override ACTIVATION: u32 = 0u;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_COEF: f32 = 0.044715;

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read> gelu_lut: array<f32>;

// Where out[j]'s gate and up values are: j itself in separate buffers, else its row's two halves.
fn gate_at(j: u32) -> u32 {
  if (FUSED) {
    return (j / p.F) * 2u * p.F + j % p.F;
  }
  return j;
}

fn up_at(j: u32) -> u32 {
  if (FUSED) {
    return gate_at(j) + p.F;
  }
  return j;
}

fn act(g: f32) -> f32 {
  if (ACTIVATION == 1u) {
    let u = SQRT_2_OVER_PI * (g + GELU_COEF * g * g * g);
    return g / (1.0 + exp(-2.0 * u));
  }
  return g / (1.0 + exp(-g));
}

// The host may split the workgroup count across x and y (maxComputeWorkgroupsPerDimension).
@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let j = (wg.y * nwg.x + wg.x) * WG + li;
  if (j < p.count) {
    out[j] = act(gate[gate_at(j)]) * up[up_at(j)];
  }
}

// f16FromF32 comes from f16_bits.wgsl, which swiglu.ts prepends to this file.
@compute @workgroup_size(WG)
fn main_table(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let j = (wg.y * nwg.x + wg.x) * WG + li;
  if (j < p.count) {
    let g = gate[gate_at(j)];
    let u = up[up_at(j)];
    if (g <= -10.0) {
      out[j] = 0.0;
    } else if (g >= 10.0) {
      out[j] = g * u;
    } else {
      out[j] = gelu_lut[f16FromF32(bitcast<u32>(g))] * u;
    }
  }
}
