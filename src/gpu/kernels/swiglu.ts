import code from '../../../shaders/swiglu.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

export interface SwigluOptions {
  /** [rows, F] f32: the gate projection. */
  gate: GPUBuffer;
  /** [rows, F] f32: the up projection. */
  up: GPUBuffer;
  /** [rows, F] f32. */
  out: GPUBuffer;
  F: number;
  /** The gate's activation: 'silu' (Llama, the default) or 'gelu_tanh' (Gemma's GeGLU). */
  activation?: FfnActivation;
  label?: string;
}

export type FfnActivation = 'silu' | 'gelu_tanh';

const WG = 256;
/** Values of the shader's ACTIVATION override. */
const ACTIVATIONS: Record<FfnActivation, number> = { silu: 0, gelu_tanh: 1 };

/** out[j] = act(gate[j]) · up[j] for j < m·F. */
export function createSwiglu(gpu: Gpu, o: SwigluOptions): KernelOp<{ m: number }> {
  const activation = o.activation ?? 'silu';
  const key = activation === 'silu' ? `swiglu_f32_wg${WG}` : `swiglu_${activation}_f32_wg${WG}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({ key, code, constants: { WG, ACTIVATION: ACTIVATIONS[activation] } });
  const params = new Params(gpu.device, { count: 'u32' }, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.gate, o.up, o.out, params.buffer]);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m }) {
      const count = m * o.F;
      if ([o.gate, o.up, o.out].some((b) => count * 4 > b.size)) throw new RangeError(`swiglu: m=${m} rows exceed gate, up or out`);
      if (count === 0) return;
      params.write({ count });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, Math.ceil(count / WG), maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}
