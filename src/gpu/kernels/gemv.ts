import code from '../../../shaders/gemv.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';
import { checkMatmulOptions, checkMatmulRows, MATMUL_PARAMS, type MatmulDyn, type MatmulOptions } from './gemm.ts';

/** Invocations per workgroup. */
const WG = 256;
/** Loads (vec4 or f32) each lane should make along a row before the lanes fold their sums. */
const LOADS_PER_LANE = 16;
const MIN_THREADS_PER_ROW = 4;
const MAX_THREADS_PER_ROW = 64;

/**
 * Lanes that share one weight row: a power of two.
 *
 * On a GPU it is sized from K. Short rows get few lanes, so a workgroup covers many rows and idle
 * lanes do not sit through the tree reduction; long rows get up to 64 lanes, whose 256-weight
 * stride keeps neighbouring lanes on neighbouring addresses and keeps enough invocations in flight.
 *
 * On a CPU implementation (Gpu.software) one lane takes a whole row: a barrier costs a fiber
 * switch per invocation, and a row read end to end by one thread is what a CPU's caches and
 * prefetchers want. On SwiftShader (2 cores) f32 GEMVs of 576×1536, 1536×576, 896×4864 and
 * 4864×896 took 3.3–6.5 times less time with one lane than with K's 16–64 (6.8 against 44 ms for
 * the first); two or four lanes were in between.
 */
export function gemvThreadsPerRow(gpu: Gpu, loadsPerRow: number): number {
  if (gpu.software) return 1;
  let threads = MIN_THREADS_PER_ROW;
  while (threads < MAX_THREADS_PER_ROW && threads * LOADS_PER_LANE < loadsPerRow) threads *= 2;
  return threads;
}

/**
 * GEMV for decode: the same contract as createGemm, tuned for m = 1 (one token)
 * but correct for any m, with one set of row-group workgroups per token. Uses vec4
 * loads when K % 4 == 0 and scalar loads otherwise.
 */
export function createGemv(gpu: Gpu, o: MatmulOptions): KernelOp<MatmulDyn> {
  checkMatmulOptions(gpu, o, 'gemv');
  const width = o.K % 4 === 0 ? 'vec4' : 'scalar';
  const THREADS_PER_ROW = gemvThreadsPerRow(gpu, width === 'vec4' ? o.K / 4 : o.K);
  // Output rows per workgroup; passed to the shader too, so the dispatch cannot drift from it.
  const ROWS = WG / THREADS_PER_ROW;
  const key = `gemv_f32_${width}_wg${WG}_t${THREADS_PER_ROW}${o.accumulate ? '_acc' : ''}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code,
    entryPoint: `main_${width}`,
    constants: { WG, THREADS_PER_ROW, ROWS, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
  const params = new Params(gpu.device, MATMUL_PARAMS, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.x, o.w, o.y, params.buffer]);
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
