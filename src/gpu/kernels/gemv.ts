import code from '../../../shaders/gemv.wgsl?raw';
import type { Gpu } from '../device.ts';
import { dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';
import { checkMatmulOptions, checkMatmulRows, MATMUL_PARAMS, type MatmulDyn, type MatmulOptions } from './gemm.ts';

/** Invocations per workgroup. */
const WG = 256;
/**
 * Lanes that share one weight row. 64 lanes × 4 floats cover 256 weights per pass,
 * so a 2048-wide row takes 8 passes before the 6-step reduction; a power of two.
 */
const THREADS_PER_ROW = 64;
/** Output rows per workgroup; passed to the shader too, so the dispatch cannot drift from it. */
const ROWS = WG / THREADS_PER_ROW;

/**
 * GEMV for decode: the same contract as createGemm, tuned for m = 1 (one token)
 * but correct for any m, with one set of row-group workgroups per token. Uses vec4
 * loads when K % 4 == 0 and scalar loads otherwise.
 */
export function createGemv(gpu: Gpu, o: MatmulOptions): KernelOp<MatmulDyn> {
  checkMatmulOptions(gpu, o, 'gemv');
  const width = o.K % 4 === 0 ? 'vec4' : 'scalar';
  const key = `gemv_f32_${width}_wg${WG}_r${ROWS}${o.accumulate ? '_acc' : ''}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code,
    entryPoint: `main_${width}`,
    constants: { WG, THREADS_PER_ROW, ROWS, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
  const params = new Params(gpu.device, MATMUL_PARAMS, `${label} params`);
  const bindGroup = gpu.device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: o.x } },
      { binding: 1, resource: { buffer: o.w } },
      { binding: 2, resource: { buffer: o.y } },
      { binding: 3, resource: { buffer: params.buffer } },
    ],
  });
  const rowGroups = Math.ceil(o.N / ROWS);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, dyn) {
      const { m, xRowOffset, yRowOffset } = checkMatmulRows(o, dyn, 'gemv');
      if (m === 0) return;
      params.write({ m, K: o.K, N: o.N, xRowOffset, yRowOffset });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, rowGroups * m, maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}
