import f16Bits from '../../../shaders/f16_bits.wgsl?raw';
import kernelSource from '../../../shaders/swiglu.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';
import { ggmlGeluTable } from './roundActivations.ts';

// WGSL has no includes: the kernel calls the shared f16 rounding, prepended here.
const code = f16Bits + kernelSource;

/** The gate and up projections: two [rows, F] f32 buffers, or one of rows [gate (F) | up (F)]. */
type GateUp = { gate: GPUBuffer; up: GPUBuffer } | { gateUp: GPUBuffer };

export type SwigluOptions = GateUp & {
  /** [rows, F] f32. */
  out: GPUBuffer;
  F: number;
  /**
   * The gate's activation: 'silu' (Llama, the default), 'gelu_tanh' (Gemma's GeGLU), or
   * 'gelu_tanh_f16', GeGLU as llama.cpp's CPU backend computes it (ggml's f16 GELU table, see
   * ggmlGeluTable): 0 for g ≤ −10, g for g ≥ 10, else the table at fp16(g).
   */
  activation?: FfnActivation;
  label?: string;
};

export type FfnActivation = 'silu' | 'gelu_tanh' | 'gelu_tanh_f16';

const WG = 256;
/** Values of main's ACTIVATION override; gelu_tanh_f16 has its own entry point. */
const ACTIVATIONS: Record<Exclude<FfnActivation, 'gelu_tanh_f16'>, number> = { silu: 0, gelu_tanh: 1 };

/** out[r, j] = act(gate[r, j]) · up[r, j] for r < m, j < F. */
export function createSwiglu(gpu: Gpu, o: SwigluOptions): KernelOp<{ m: number }> {
  const activation = o.activation ?? 'silu';
  const [gate, up] = 'gateUp' in o ? [o.gateUp, o.gateUp] : [o.gate, o.up];
  const fused = 'gateUp' in o;
  const key = `${activation === 'silu' ? 'swiglu' : `swiglu_${activation}`}_f32${fused ? '_fused' : ''}_wg${WG}`;
  const label = o.label ?? key;
  const table = activation === 'gelu_tanh_f16';
  const FUSED = fused ? 1 : 0;
  const pipeline = gpu.pipelines.get(
    table ? { key, code, entryPoint: 'main_table', constants: { WG, FUSED } } : { key, code, constants: { WG, FUSED, ACTIVATION: ACTIVATIONS[activation] } },
  );
  const params = new Params(gpu.device, { count: 'u32', F: 'u32' }, `${label} params`);
  const buffers = [gate, up, o.out, params.buffer];
  if (table) buffers.push(ggmlGeluTable(gpu));
  const bindGroup = bindBuffers(gpu.device, pipeline, label, buffers);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m }) {
      const count = m * o.F;
      if ((fused ? 2 : 1) * count * 4 > gate.size || count * 4 > up.size || count * 4 > o.out.size) throw new RangeError(`swiglu: m=${m} rows exceed gate, up or out`);
      if (count === 0) return;
      params.write({ count, F: o.F });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, Math.ceil(count / WG), maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}
