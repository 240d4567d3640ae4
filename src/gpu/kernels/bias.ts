import code from '../../../shaders/bias.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

export interface BiasAddOptions {
  /** [rows, N] f32, updated in place. */
  y: GPUBuffer;
  /** [N] f32. */
  bias: GPUBuffer;
  N: number;
  label?: string;
}

const WG = 256;

/** y[rowOffset + r, j] += bias[j] for r < m, j < N: the q/k/v and FFN biases of qwen2 and gpt2. */
export function createBiasAdd(gpu: Gpu, o: BiasAddOptions): KernelOp<{ m: number; rowOffset?: number }> {
  if (!Number.isInteger(o.N) || o.N <= 0) throw new RangeError(`bias: N=${o.N} must be a positive integer`);
  if (o.bias.size < o.N * 4) throw new RangeError(`bias: bias holds ${o.bias.size} bytes, N=${o.N} needs ${o.N * 4}`);
  const key = `bias_f32_wg${WG}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({ key, code, constants: { WG } });
  const params = new Params(gpu.device, { count: 'u32', N: 'u32', rowOffset: 'u32' }, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.y, o.bias, params.buffer]);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m, rowOffset = 0 }) {
      if ((rowOffset + m) * o.N * 4 > o.y.size) throw new RangeError(`bias: rows ${rowOffset}..${rowOffset + m} exceed y`);
      const count = m * o.N;
      if (count === 0) return;
      params.write({ count, N: o.N, rowOffset });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, Math.ceil(count / WG), maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}
