import code from '../../../shaders/positions.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

export interface PositionAddOptions {
  /** [rows, D] f32, updated in place: the token embeddings. */
  x: GPUBuffer;
  /** [maxPositions, D] f32: the learned position embeddings (gpt2's position_embd, wpe). */
  table: GPUBuffer;
  D: number;
  maxPositions: number;
  label?: string;
}

const WG = 256;

/** x[r, :] += table[pos0 + r, :] for r < m: gpt2's learned absolute positions. */
export function createPositionAdd(gpu: Gpu, o: PositionAddOptions): KernelOp<{ m: number; pos0: number }> {
  if (![o.D, o.maxPositions].every((n) => Number.isInteger(n) && n > 0)) {
    throw new RangeError(`positions: D=${o.D} and maxPositions=${o.maxPositions} must be positive integers`);
  }
  if (o.table.size < o.maxPositions * o.D * 4) {
    throw new RangeError(`positions: table holds ${o.table.size} bytes, ${o.maxPositions} positions of D=${o.D} need ${o.maxPositions * o.D * 4}`);
  }
  const key = `positions_f32_wg${WG}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({ key, code, constants: { WG } });
  const params = new Params(gpu.device, { count: 'u32', D: 'u32', pos0: 'u32' }, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.x, o.table, params.buffer]);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m, pos0 }) {
      // Past its last learned position a model has no embedding to add: refuse rather than read past the table.
      if (!Number.isInteger(pos0) || pos0 < 0 || pos0 + m > o.maxPositions) {
        throw new RangeError(`positions: positions ${pos0}..${pos0 + m - 1} exceed the ${o.maxPositions} learned positions`);
      }
      if (m * o.D * 4 > o.x.size) throw new RangeError(`positions: m=${m} rows exceed x`);
      const count = m * o.D;
      if (count === 0) return;
      params.write({ count, D: o.D, pos0 });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, Math.ceil(count / WG), maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}
