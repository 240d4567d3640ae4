import code from '../../../shaders/embedding.wgsl?raw';
import { DeviceLimitError } from '../../protocol/errors.ts';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

export interface EmbeddingOptions {
  /** Token ids, u32. */
  ids: GPUBuffer;
  /** [V, D] f32. */
  table: GPUBuffer;
  /** [maxM, D] f32. */
  out: GPUBuffer;
  D: number;
  V: number;
  label?: string;
}

const WG = 256;

/** out[i·D + d] = table[ids[i]·D + d] for i < m; an id ≥ V writes a zero row. */
export function createEmbedding(gpu: Gpu, o: EmbeddingOptions): KernelOp<{ m: number }> {
  if (o.table.size < o.V * o.D * 4) throw new RangeError(`embedding: table holds ${o.table.size} bytes, [${o.V}, ${o.D}] f32 needs ${o.V * o.D * 4}`);
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  if (o.table.size > limit) {
    throw new DeviceLimitError(`embedding: the table (${o.table.size} bytes) exceeds this GPU's storage binding limit of ${limit} bytes`);
  }
  const key = `embedding_f32_wg${WG}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({ key, code, constants: { WG } });
  const params = new Params(gpu.device, { m: 'u32', D: 'u32', V: 'u32' }, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.ids, o.table, o.out, params.buffer]);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m }) {
      if (m * 4 > o.ids.size || m * o.D * 4 > o.out.size) throw new RangeError(`embedding: m=${m} exceeds ids or out`);
      if (m === 0) return;
      params.write({ m, D: o.D, V: o.V });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, Math.ceil((m * o.D) / WG), maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}
