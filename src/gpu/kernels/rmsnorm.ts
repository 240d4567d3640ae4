import code from '../../../shaders/rmsnorm.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

export interface RmsnormOptions {
  /** [rows, D] f32. */
  x: GPUBuffer;
  /** [D] f32. */
  weight: GPUBuffer;
  /** [rows, D] f32; may be `x` itself (in place, e.g. q/k norms over rows of one head each). */
  out: GPUBuffer;
  D: number;
  eps: number;
  label?: string;
}

/** One workgroup per row; a power of two for the tree reduction. */
const WG = 256;

/** out[i, :] = x[i, :] / √(mean(x[i, :]²) + eps) · weight for rows rowOffset .. rowOffset+m−1. */
export function createRmsnorm(gpu: Gpu, o: RmsnormOptions): KernelOp<{ m: number; rowOffset?: number }> {
  if (o.weight.size < o.D * 4) throw new RangeError(`rmsnorm: weight holds ${o.weight.size} bytes, D=${o.D} needs ${o.D * 4}`);
  const inPlace = o.x === o.out;
  const key = `rmsnorm_f32_wg${WG}${inPlace ? '_inplace' : ''}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({ key, code, entryPoint: inPlace ? 'main_inplace' : 'main', constants: { WG } });
  const params = new Params(gpu.device, { m: 'u32', D: 'u32', eps: 'f32', rowOffset: 'u32' }, `${label} params`);
  // The in-place entry point does not use binding 0, so its auto layout has no slot for it.
  const bindGroup = inPlace
    ? gpu.device.createBindGroup({
        label,
        layout: pipeline.getBindGroupLayout(0),
        entries: [o.weight, o.out, params.buffer].map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
      })
    : bindBuffers(gpu.device, pipeline, label, [o.x, o.weight, o.out, params.buffer]);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m, rowOffset = 0 }) {
      const bytes = (rowOffset + m) * o.D * 4;
      if (bytes > o.x.size || bytes > o.out.size) throw new RangeError(`rmsnorm: rows ${rowOffset}..${rowOffset + m} exceed x or out`);
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
