import code from '../../../shaders/argmax.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

export interface ArgmaxOptions {
  /** [rows, N] f32. */
  logits: GPUBuffer;
  /** u32, at least one element: receives the index. */
  out: GPUBuffer;
  N: number;
  label?: string;
}

/**
 * One workgroup scans the whole row: a vocabulary of 150k costs ~600 strided loads
 * per invocation, small beside the LM head that produced the logits; a power of two.
 */
const WG = 256;

/** out[0] = the first index of the maximum of logits[rowOffset·N .. rowOffset·N + N). */
export function createArgmax(gpu: Gpu, o: ArgmaxOptions): KernelOp<{ rowOffset?: number }> {
  const key = `argmax_f32_wg${WG}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({ key, code, constants: { WG } });
  const params = new Params(gpu.device, { N: 'u32', rowOffset: 'u32' }, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.logits, o.out, params.buffer]);
  return {
    label,
    encode(pass, { rowOffset = 0 }) {
      if ((rowOffset + 1) * o.N * 4 > o.logits.size) throw new RangeError(`argmax: row ${rowOffset} exceeds logits`);
      params.write({ N: o.N, rowOffset });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(1);
    },
    destroy() {
      params.destroy();
    },
  };
}
