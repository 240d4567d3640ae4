import code from '../../../shaders/matmul_f16.wgsl?raw';
import { DeviceLimitError } from '../../protocol/errors.ts';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';
import { checkMatmulRows, MATMUL_PARAMS, tiledMatmulOp, type MatmulDyn } from './gemm.ts';
import { createPackedGemm } from './gemmPacked.ts';
import { gemvThreadsPerRow } from './gemv.ts';
import { createPackedGemv } from './gemvPacked.ts';
import { checkPackedMatmulOptions, type PackedMatmulOptions, type PackedType } from './packedWeights.ts';

/** The weight types the f16 kernels read: their values are f16 already, or convert to it exactly. */
export type HalfType = 'F16' | 'BF16';

/** The values of the TYPE override in matmul_f16.wgsl (its T_* constants). */
export const F16_MATMUL_TYPE_CODES: Readonly<Record<HalfType, number>> = { F16: 0, BF16: 1 };

/** Invocations per GEMV workgroup. */
const WG = 256;
/** GEMM: invocations along y's rows and columns, each owning a 4×4 block (the shader's vec4 accumulators). */
const WG_M = 16;
const WG_N = 16;
const TILE_M = WG_M * 4;
const TILE_N = WG_N * 4;
/**
 * The GEMM's K step: f16 staging holds a 64 × 32 tile of x and of w in 2 × 32 × 64 × 2 B = 8 KiB,
 * half of what matmul_packed.wgsl stages for the same step.
 */
const TILE_K = 32;

export function hasShaderF16(gpu: Gpu): boolean {
  return gpu.device.features.has('shader-f16');
}

/**
 * Whether the f16 kernels take an [N, K] weight of `type` on this device: the device has
 * shader-f16, the weight is F16 or BF16, and K is whole groups of eight (one 16-byte read).
 */
export function f16MatmulApplies(gpu: Gpu, type: PackedType, K: number): boolean {
  return hasShaderF16(gpu) && (type === 'F16' || type === 'BF16') && K % 8 === 0;
}

function checkF16Options(gpu: Gpu, o: PackedMatmulOptions, kernel: string): HalfType {
  checkPackedMatmulOptions(gpu, o, kernel);
  if (o.type !== 'F16' && o.type !== 'BF16') throw new RangeError(`${kernel} f16: weights must be F16 or BF16, got ${o.type}`);
  if (o.K % 8 !== 0) throw new RangeError(`${kernel} f16: K must be a multiple of 8 (K=${o.K})`);
  if (!hasShaderF16(gpu)) throw new DeviceLimitError(`${kernel} f16: this GPU device has no shader-f16`);
  return o.type;
}

/**
 * GEMV for decode over F16/BF16 weights in f16 arithmetic: the contract of createPackedGemv
 * (y = x · wᵀ over f32 x and y, any m, row offsets, accumulate). Needs a device with
 * shader-f16 and K % 8 == 0 (f16MatmulApplies); throws otherwise.
 */
export function createF16Gemv(gpu: Gpu, o: PackedMatmulOptions): KernelOp<MatmulDyn> {
  const type = checkF16Options(gpu, o, 'gemv');
  // A lane's step is eight weights of each of its four rows, against eight x values.
  const THREADS_PER_ROW = gemvThreadsPerRow(gpu, o.K / 8);
  const LANE_GROUPS = WG / THREADS_PER_ROW;
  // Rows per workgroup: each lane group serves four (ROWS_PER_LANE in the shader).
  const groupRows = LANE_GROUPS * 4;
  const key = `gemv_${type.toLowerCase()}_f16math_wg${WG}_t${THREADS_PER_ROW}${o.accumulate ? '_acc' : ''}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code,
    entryPoint: 'gemv',
    constants: { TYPE: F16_MATMUL_TYPE_CODES[type], WG, THREADS_PER_ROW, LANE_GROUPS, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
  const params = new Params(gpu.device, MATMUL_PARAMS, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.x, o.w, o.y, params.buffer]);
  const rowGroups = Math.ceil(o.N / groupRows);
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

/** Tiled GEMM for prefill over F16/BF16 weights in f16 arithmetic: createPackedGemm's contract, createF16Gemv's conditions. */
export function createF16Gemm(gpu: Gpu, o: PackedMatmulOptions): KernelOp<MatmulDyn> {
  const type = checkF16Options(gpu, o, 'gemm');
  const key = `gemm_${type.toLowerCase()}_f16math_t${TILE_M}x${TILE_N}_k${TILE_K}${o.accumulate ? '_acc' : ''}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code,
    entryPoint: 'gemm',
    constants: { TYPE: F16_MATMUL_TYPE_CODES[type], WG_M, WG_N, TILE_K, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
  return tiledMatmulOp(gpu, o, pipeline, label, TILE_M, TILE_N);
}

/**
 * The GEMV or GEMM for a weight kept packed: the f16 kernels where f16MatmulApplies, the
 * f32 ones of matmul_packed.wgsl (which every device runs) otherwise.
 */
export function createPackedMatmul(gpu: Gpu, kernel: 'gemv' | 'gemm', o: PackedMatmulOptions): KernelOp<MatmulDyn> {
  if (f16MatmulApplies(gpu, o.type, o.K)) return kernel === 'gemv' ? createF16Gemv(gpu, o) : createF16Gemm(gpu, o);
  return kernel === 'gemv' ? createPackedGemv(gpu, o) : createPackedGemm(gpu, o);
}
