import code from '../../../shaders/layernorm.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

export interface LayernormOptions {
  /** [rows, D] f32. */
  x: GPUBuffer;
  /** [D] f32. */
  weight: GPUBuffer;
  /** [D] f32. */
  bias: GPUBuffer;
  /** [rows, D] f32, a buffer other than x. */
  out: GPUBuffer;
  D: number;
  eps: number;
  label?: string;
}

/** One workgroup per row; a power of two for the tree reductions. */
const WG = 256;

/** out[i, :] = (x[i, :] − mean) / √(variance + eps) · weight + bias for rows rowOffset .. rowOffset+m−1. */
export function createLayernorm(gpu: Gpu, o: LayernormOptions): KernelOp<{ m: number; rowOffset?: number }> {
  if (o.x === o.out) throw new RangeError('layernorm: x and out must be distinct buffers');
  for (const [name, b] of [['weight', o.weight], ['bias', o.bias]] as const) {
    if (b.size < o.D * 4) throw new RangeError(`layernorm: ${name} holds ${b.size} bytes, D=${o.D} needs ${o.D * 4}`);
  }
  const key = `layernorm_f32_wg${WG}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({ key, code, constants: { WG } });
  const params = new Params(gpu.device, { m: 'u32', D: 'u32', eps: 'f32', rowOffset: 'u32' }, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.x, o.weight, o.bias, o.out, params.buffer]);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m, rowOffset = 0 }) {
      const bytes = (rowOffset + m) * o.D * 4;
      if (bytes > o.x.size || bytes > o.out.size) throw new RangeError(`layernorm: rows ${rowOffset}..${rowOffset + m} exceed x or out`);
      if (m === 0) return;
      params.write({ m, D: o.D, eps: o.eps, rowOffset });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, m, maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}
