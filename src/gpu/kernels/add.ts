import code from '../../../shaders/add.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

export interface AddOptions {
  /** [rows, D] f32, updated in place. */
  x: GPUBuffer;
  /** [rows, D] f32. */
  y: GPUBuffer;
  D: number;
  label?: string;
}

const WG = 256;

/** x[j] += y[j] for j < m·D: the residual add where it is not fused into a matmul. */
export function createAdd(gpu: Gpu, o: AddOptions): KernelOp<{ m: number }> {
  const key = `add_f32_wg${WG}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({ key, code, constants: { WG } });
  const params = new Params(gpu.device, { count: 'u32' }, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.x, o.y, params.buffer]);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m }) {
      const count = m * o.D;
      if (count * 4 > o.x.size || count * 4 > o.y.size) throw new RangeError(`add: m=${m} rows exceed x or y`);
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
