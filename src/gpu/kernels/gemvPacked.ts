import code from '../../../shaders/matmul_packed.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';
import { checkMatmulRows, MATMUL_PARAMS, type MatmulDyn } from './gemm.ts';
import { gemvThreadsPerRow } from './gemv.ts';
import { bindBlockSums, checkBlockSumRows, checkPackedMatmulOptions, packedTypeConstants, type PackedMatmulOptions } from './packedWeights.ts';

/** Invocations per workgroup. */
const WG = 256;

/**
 * GEMV for decode over packed weights: the contract of createGemv (y = x · wᵀ, any m, row
 * offsets, accumulate), with w holding the GGUF bytes of `o.type` (uploadPackedWeight) and
 * dequantized in registers. K must be whole blocks of the type (RangeError otherwise). With
 * `blockSums` (Q4_1/Q5_1) each block adds its minimum times the x row's block-sum residual.
 */
export function createPackedGemv(gpu: Gpu, o: PackedMatmulOptions): KernelOp<MatmulDyn> {
  checkPackedMatmulOptions(gpu, o, 'gemv');
  // A lane's unit of work is eight weights (a quarter block) against eight x values, about
  // the two vec4 loads per step that gemv.ts sizes its lanes by.
  const THREADS_PER_ROW = gemvThreadsPerRow(gpu, Math.ceil(o.K / 8));
  // Output rows per workgroup; passed to the shader too, so the dispatch cannot drift from it.
  const ROWS = WG / THREADS_PER_ROW;
  const key = `gemv_${o.type.toLowerCase()}_wg${WG}_t${THREADS_PER_ROW}${o.accumulate ? '_acc' : ''}${o.blockSums ? '_sums' : ''}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code,
    entryPoint: o.blockSums ? 'gemv_block_sums' : 'gemv',
    constants: { ...packedTypeConstants(o.type), WG, THREADS_PER_ROW, ROWS, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
  const params = new Params(gpu.device, MATMUL_PARAMS, `${label} params`);
  const bindGroup = o.blockSums
    ? bindBlockSums(gpu, pipeline, label, o, params.buffer)
    : bindBuffers(gpu.device, pipeline, label, [o.x, o.w, o.y, params.buffer]);
  const rowGroups = Math.ceil(o.N / ROWS);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, dyn) {
      const { m, xRowOffset, yRowOffset } = checkMatmulRows(o, dyn, 'gemv');
      checkBlockSumRows(o, m, xRowOffset, 'gemv');
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
