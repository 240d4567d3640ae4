import code from '../../../shaders/gemm.wgsl?raw';
import { DeviceLimitError } from '../../protocol/errors.ts';
import type { Gpu } from '../device.ts';
import { bindBuffers, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

/** y = x · wᵀ over f32 row-major buffers; shared by the GEMM (prefill) and GEMV (decode) paths. */
export interface MatmulOptions {
  /** Activations, [rows, K]. */
  x: GPUBuffer;
  /** Weights, [N, K] (out × in: PyTorch Linear and GGUF order). */
  w: GPUBuffer;
  /** Output, [rows, N]. */
  y: GPUBuffer;
  K: number;
  N: number;
  /** Add into y instead of overwriting it (a fused residual add). */
  accumulate?: boolean;
  label?: string;
}

/** Computes rows xRowOffset .. xRowOffset+m−1 of x into rows yRowOffset .. yRowOffset+m−1 of y. */
export interface MatmulDyn {
  m: number;
  xRowOffset?: number;
  yRowOffset?: number;
}

/** Field order matches `struct Params` in gemm.wgsl and gemv.wgsl. */
export const MATMUL_PARAMS = { m: 'u32', K: 'u32', N: 'u32', xRowOffset: 'u32', yRowOffset: 'u32' } as const;

/** Checks what is known at creation: the weight fits its binding and holds N × K values. */
export function checkMatmulOptions(gpu: Gpu, o: MatmulOptions, kernel: string): void {
  if (!(Number.isInteger(o.K) && o.K > 0 && Number.isInteger(o.N) && o.N > 0)) {
    throw new RangeError(`${kernel}: K and N must be positive integers (K=${o.K}, N=${o.N})`);
  }
  if (o.w.size < o.N * o.K * 4) throw new RangeError(`${kernel}: w holds ${o.w.size} bytes, [${o.N}, ${o.K}] f32 needs ${o.N * o.K * 4}`);
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  for (const [name, buffer] of [['x', o.x], ['w', o.w], ['y', o.y]] as const) {
    if (buffer.size > limit) {
      throw new DeviceLimitError(`${kernel}: ${name} (${buffer.size} bytes) exceeds this GPU's storage binding limit of ${limit} bytes`);
    }
  }
}

/** Checks that the rows one call touches lie inside x and y; returns the offsets with defaults filled in. */
export function checkMatmulRows(o: MatmulOptions, dyn: MatmulDyn, kernel: string): Required<MatmulDyn> {
  const { m, xRowOffset = 0, yRowOffset = 0 } = dyn;
  if (!(Number.isInteger(m) && m >= 0 && Number.isInteger(xRowOffset) && xRowOffset >= 0 && Number.isInteger(yRowOffset) && yRowOffset >= 0)) {
    throw new RangeError(`${kernel}: m and row offsets must be non-negative integers`);
  }
  if ((xRowOffset + m) * o.K * 4 > o.x.size) throw new RangeError(`${kernel}: rows ${xRowOffset}..${xRowOffset + m} of x exceed its ${o.x.size} bytes`);
  if ((yRowOffset + m) * o.N * 4 > o.y.size) throw new RangeError(`${kernel}: rows ${yRowOffset}..${yRowOffset + m} of y exceed its ${o.y.size} bytes`);
  return { m, xRowOffset, yRowOffset };
}

/** Invocations per workgroup along the rows of y (WG_M) and along its columns (WG_N). */
const WG_M = 16;
const WG_N = 16;
/** Each invocation's 4×4 block of y: fixed by the four vec4 accumulators in gemm.wgsl. */
const THREAD_TILE = 4;
/** Depth of one K step staged in workgroup memory: 2 × 16 × 64 × 4 B = 8 KiB per workgroup. */
const TILE_K = 16;
const TILE_M = WG_M * THREAD_TILE;
const TILE_N = WG_N * THREAD_TILE;

/**
 * Tiled GEMM for prefill: y[(yRowOffset+i)·N + n] (=|+=) Σ_k x[(xRowOffset+i)·K + k] · w[n·K + k]
 * for i < m, correct for any m, K, N (the shader zero-fills ragged tile edges).
 */
export function createGemm(gpu: Gpu, o: MatmulOptions): KernelOp<MatmulDyn> {
  checkMatmulOptions(gpu, o, 'gemm');
  const key = `gemm_f32_t${TILE_M}x${TILE_N}_k${TILE_K}${o.accumulate ? '_acc' : ''}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code,
    constants: { WG_M, WG_N, TILE_K, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
  return tiledMatmulOp(gpu, o, pipeline, label, TILE_M, TILE_N);
}

/** What a kernel with buffers beyond x, w, y and the parameters adds to tiledMatmulOp. */
export interface TiledMatmulExtra {
  /** The bind group, given the op's parameter buffer (default: x, w, y, params at 0..3). */
  bind?: (params: GPUBuffer) => GPUBindGroup;
  /** Checks the extra buffers hold rows xRowOffset .. xRowOffset+m−1; throws otherwise. */
  checkRows?: (m: number, xRowOffset: number) => void;
}

/**
 * The dispatch every tiled GEMM shares (f32, packed, K-quant): one workgroup per
 * tileM × tileN block of y, the rows of each call checked against x and y.
 */
export function tiledMatmulOp(
  gpu: Gpu,
  o: MatmulOptions,
  pipeline: GPUComputePipeline,
  label: string,
  tileM: number,
  tileN: number,
  extra: TiledMatmulExtra = {},
): KernelOp<MatmulDyn> {
  const params = new Params(gpu.device, MATMUL_PARAMS, `${label} params`);
  const bindGroup = extra.bind ? extra.bind(params.buffer) : bindBuffers(gpu.device, pipeline, label, [o.x, o.w, o.y, params.buffer]);
  const colTiles = Math.ceil(o.N / tileN);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  if (colTiles > maxPerDim) throw new DeviceLimitError(`gemm: N=${o.N} needs ${colTiles} workgroups in x, above the limit of ${maxPerDim}`);
  return {
    label,
    encode(pass, dyn) {
      const { m, xRowOffset, yRowOffset } = checkMatmulRows(o, dyn, 'gemm');
      extra.checkRows?.(m, xRowOffset);
      const rowTiles = Math.ceil(m / tileM);
      if (rowTiles > maxPerDim) throw new DeviceLimitError(`gemm: m=${m} needs ${rowTiles} workgroups in y, above the limit of ${maxPerDim}`);
      if (m === 0) return;
      params.write({ m, K: o.K, N: o.N, xRowOffset, yRowOffset });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(colTiles, rowTiles);
    },
    destroy() {
      params.destroy();
    },
  };
}
