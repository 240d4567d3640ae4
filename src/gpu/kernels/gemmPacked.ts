import code from '../../../shaders/matmul_packed.wgsl?raw';
import type { Gpu } from '../device.ts';
import type { KernelOp } from '../kernel.ts';
import { tiledMatmulOp, type MatmulDyn } from './gemm.ts';
import { bindBlockSums, checkBlockSumRows, checkPackedMatmulOptions, packedTypeConstants, type PackedMatmulOptions } from './packedWeights.ts';

/** Invocations per workgroup along the rows of y (WG_M) and along its columns (WG_N), as gemm.ts. */
const WG_M = 16;
const WG_N = 16;
/** Each invocation's 4×4 block of y, fixed by the vec4 accumulators in matmul_packed.wgsl. */
const THREAD_TILE = 4;
/** The shader's K step (its TILE_K constant): one 32-element block per staged row. */
const TILE_K = 32;
const TILE_M = WG_M * THREAD_TILE;
const TILE_N = WG_N * THREAD_TILE;

/**
 * Tiled GEMM for prefill over packed weights: the contract of createGemm, with w holding the
 * GGUF bytes of `o.type`. Each K step dequantizes a 64 × 32 tile of w into workgroup memory
 * (2 × 32 × 64 × 4 B = 16 KiB of staging with x) and runs gemm.wgsl's 4×4 register tiling on it.
 * With `blockSums` (Q4_1/Q5_1) each block adds its minimum times the x row's block-sum residual.
 */
export function createPackedGemm(gpu: Gpu, o: PackedMatmulOptions): KernelOp<MatmulDyn> {
  checkPackedMatmulOptions(gpu, o, 'gemm');
  const key = `gemm_${o.type.toLowerCase()}_t${TILE_M}x${TILE_N}_k${TILE_K}${o.accumulate ? '_acc' : ''}${o.blockSums ? '_sums' : ''}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code,
    entryPoint: o.blockSums ? 'gemm_block_sums' : 'gemm',
    constants: { ...packedTypeConstants(o.type), WG_M, WG_N, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
  const sums = o.blockSums
    ? { bind: (params: GPUBuffer) => bindBlockSums(gpu, pipeline, label, o, params), checkRows: (m: number, xRowOffset: number) => checkBlockSumRows(o, m, xRowOffset, 'gemm') }
    : {};
  return tiledMatmulOp(gpu, o, pipeline, label, TILE_M, TILE_N, sums);
}

