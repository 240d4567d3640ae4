import code from '../../../shaders/kquant_matmul.wgsl?raw';
import { isKType, kquantByteLength, QK_K, type KType } from '../../engine/formats/kquant.ts';
import { DeviceLimitError } from '../../protocol/errors.ts';
import { createStorage } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';
import { checkMatmulRows, MATMUL_PARAMS, tiledMatmulOp, type MatmulDyn, type MatmulOptions } from './gemm.ts';
import { gemvThreadsPerRow } from './gemv.ts';

/** The matmul contract of createGemm/createGemv with `w` holding K-quant GGUF bytes instead of f32. */
export interface KQuantMatmulOptions extends MatmulOptions {
  type: KType;
}

/** The shader's KTYPE override. */
export const KTYPE: Readonly<Record<KType, number>> = { Q4_K: 4, Q5_K: 5, Q6_K: 6 };

/** gemv: invocations per workgroup. */
const WG = 256;
/** gemv: 32-weight units per super-block, each a few weight words and 8 vec4 activation loads. */
const UNITS_PER_BLOCK = 8;
const LOADS_PER_UNIT = 8;
/** gemm: a 16×16 workgroup of 4×4 blocks covers 64×64 of y; the 32-deep K step is fixed in the shader. */
const WG_M = 16;
const WG_N = 16;
const TILE_M = WG_M * 4;
const TILE_N = WG_N * 4;
const TILE_K = 32;

/**
 * Checks what is known at creation: a known K-quant type, K whole super-blocks, w holding N rows
 * of K/256 blocks, and every binding within this GPU's limit (a larger weight must be split by rows).
 */
function checkKQuantOptions(gpu: Gpu, o: KQuantMatmulOptions, kernel: string): void {
  if (!isKType(o.type)) throw new RangeError(`${kernel}: ${String(o.type)} is not a K-quant type (Q4_K, Q5_K, Q6_K)`);
  if (!(Number.isInteger(o.K) && o.K > 0 && o.K % QK_K === 0 && Number.isInteger(o.N) && o.N > 0)) {
    throw new RangeError(`${kernel}: ${o.type} needs K a positive multiple of ${QK_K} and N a positive integer (K=${o.K}, N=${o.N})`);
  }
  const need = kquantByteLength(o.type, o.N * o.K);
  if (o.w.size < need) throw new RangeError(`${kernel}: w holds ${o.w.size} bytes, ${o.type} [${o.N}, ${o.K}] needs ${need}`);
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  for (const [name, buffer] of [['x', o.x], ['w', o.w], ['y', o.y]] as const) {
    if (buffer.size > limit) {
      throw new DeviceLimitError(`${kernel}: ${name} (${buffer.size} bytes) exceeds this GPU's storage binding limit of ${limit} bytes`);
    }
  }
}

/**
 * Uploads a K-quant weight [N, K] exactly as GGUF stores it (N rows of K/256 blocks), zero-padded
 * to a multiple of 4 bytes: Q6_K tensors with an odd number of blocks end mid-word.
 */
export function uploadKQuantWeight(gpu: Gpu, label: string, type: KType, bytes: Uint8Array, N: number, K: number): GPUBuffer {
  if (K % QK_K !== 0) throw new RangeError(`${label}: ${type} rows of ${K} values are not whole super-blocks of ${QK_K}`);
  const need = kquantByteLength(type, N * K);
  if (bytes.byteLength !== need) throw new RangeError(`${label}: ${type} [${N}, ${K}] is ${need} bytes, got ${bytes.byteLength}`);
  const buffer = createStorage(gpu, label, need);
  let data = bytes;
  if (need !== buffer.size) {
    data = new Uint8Array(buffer.size);
    data.set(bytes);
  }
  gpu.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, buffer.size);
  return buffer;
}

/**
 * GEMV for decode over K-quant weights, the contract of createGemv: y[(yRowOffset+i)·N + n] (=|+=)
 * Σ_k x[(xRowOffset+i)·K + k] · W[n, k] for i < m. Weights are unpacked in registers.
 */
export function createKQuantGemv(gpu: Gpu, o: KQuantMatmulOptions): KernelOp<MatmulDyn> {
  checkKQuantOptions(gpu, o, 'gemv');
  const THREADS_PER_ROW = gemvThreadsPerRow(gpu, (o.K / QK_K) * UNITS_PER_BLOCK * LOADS_PER_UNIT);
  // Output rows per workgroup; passed to the shader too, so the dispatch cannot drift from it.
  const ROWS = WG / THREADS_PER_ROW;
  const key = `gemv_${o.type.toLowerCase()}_f32_wg${WG}_t${THREADS_PER_ROW}${o.accumulate ? '_acc' : ''}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code,
    entryPoint: 'gemv',
    constants: { KTYPE: KTYPE[o.type], WG, THREADS_PER_ROW, ROWS, ACCUMULATE: o.accumulate ? 1 : 0 },
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

/**
 * Tiled GEMM for prefill over K-quant weights, the contract of createGemm: each K step dequantizes
 * a 64-row × 32-deep tile of W into workgroup memory (one run of 8 weights per invocation), then
 * runs the f32 register tiling of gemm.wgsl on it.
 */
export function createKQuantGemm(gpu: Gpu, o: KQuantMatmulOptions): KernelOp<MatmulDyn> {
  checkKQuantOptions(gpu, o, 'gemm');
  const key = `gemm_${o.type.toLowerCase()}_f32_t${TILE_M}x${TILE_N}_k${TILE_K}${o.accumulate ? '_acc' : ''}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code,
    entryPoint: 'gemm',
    constants: { KTYPE: KTYPE[o.type], WG_M, WG_N, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
  return tiledMatmulOp(gpu, o, pipeline, label, TILE_M, TILE_N);
}
