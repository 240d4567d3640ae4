// Element-wise ops over the first `count` elements of a buffer, one invocation each:
//   gelu     out[j] = gelu_tanh(x[j])        (gpt2's ungated FFN; gelu_inplace: x = out)
//   gelu_table  the same as llama.cpp's CPU backend computes it (ggml_vec_gelu_f32 under
//            GGML_GELU_FP16): 0 for x ≤ −10, x for x ≥ 10, else ggml's f16 GELU table (binding 3,
//            widened to f32 on the host) at the f16 nearest x; gelu_table_inplace: x = out
//   softcap  x[j] ← cap · tanh(x[j] / cap)   (gemma2's final logits), in place
//   scale    x[j] ← x[j] · value              (gemma's embedding scale √hidden), in place
// In-place entry points bind only `out`: binding one buffer twice with a writable usage
// is a validation error.

struct Params {
  count: u32,
  // scale: the factor; softcap: the cap; unused by gelu.
  value: f32,
  // softcap: 1/cap rounded to f32 once on the host, so every element divides the same way.
  inv_value: f32,
}

override WG: u32 = 256;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_COEF: f32 = 0.044715;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> gelu_lut: array<f32>;

// ½·g·(1 + tanh(u)) with u = √(2/π)·(g + 0.044715·g³), written g / (1 + e^(−2u)): equal, since
// ½(1 + tanh(u)) = 1/(1 + e^(−2u)), and free of the cancellation in 1 + tanh(u) for g < 0. The
// gated form in swiglu.wgsl uses the same expression. Overflow of e^(−2u) or g³ gives ±0 or g.
fn geluTanh(g: f32) -> f32 {
  let u = SQRT_2_OVER_PI * (g + GELU_COEF * g * g * g);
  return g / (1.0 + exp(-2.0 * u));
}

// tanh with a relative error of a few ULP everywhere and no overflow: WGSL only promises
// tanh the accuracy of sinh/cosh, which overflow past |y| ≈ 89. Below |y| = 1/4, where
// 1 − e^(−2|y|) would cancel, the Taylor series to y⁹ (next term < 1e-8 relative) is used.
fn tanhStable(y: f32) -> f32 {
  let a = abs(y);
  if (a < 0.25) {
    let z = y * y;
    return y + y * z * (-1.0 / 3.0 + z * (2.0 / 15.0 + z * (-17.0 / 315.0 + z * (62.0 / 2835.0))));
  }
  let e = exp(-2.0 * a);
  return sign(y) * ((1.0 - e) / (1.0 + e));
}

// f16FromF32 comes from f16_bits.wgsl, which elementwise.ts prepends to this file.
fn geluFromTable(g: f32) -> f32 {
  if (g <= -10.0) {
    return 0.0;
  }
  if (g >= 10.0) {
    return g;
  }
  return gelu_lut[f16FromF32(bitcast<u32>(g))];
}

fn index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
  return (wg.y * nwg.x + wg.x) * WG + li;
}

// The host may split the workgroup count across x and y (maxComputeWorkgroupsPerDimension).
@compute @workgroup_size(WG)
fn gelu(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = index(wg, nwg, li);
  if (j < p.count) {
    out[j] = geluTanh(x[j]);
  }
}

@compute @workgroup_size(WG)
fn gelu_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = index(wg, nwg, li);
  if (j < p.count) {
    out[j] = geluTanh(out[j]);
  }
}

@compute @workgroup_size(WG)
fn gelu_table(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = index(wg, nwg, li);
  if (j < p.count) {
    out[j] = geluFromTable(x[j]);
  }
}

@compute @workgroup_size(WG)
fn gelu_table_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = index(wg, nwg, li);
  if (j < p.count) {
    out[j] = geluFromTable(out[j]);
  }
}

@compute @workgroup_size(WG)
fn softcap(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = index(wg, nwg, li);
  if (j < p.count) {
    out[j] = p.value * tanhStable(out[j] * p.inv_value);
  }
}

@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = index(wg, nwg, li);
  if (j < p.count) {
    out[j] *= p.value;
  }
}
