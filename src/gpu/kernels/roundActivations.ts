import f16Bits from '../../../shaders/f16_bits.wgsl?raw';
import kernelSource from '../../../shaders/round_activations.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';
import { createStorage } from '../buffers.ts';
import { f16ToF32, f32ToF16 } from '../../engine/formats/dtype.ts';

// WGSL has no includes: the kernel calls the shared f16 rounding, prepended here.
const code = f16Bits + kernelSource;

/** The type llama.cpp's CPU backend converts a matmul's f32 activations to before the dot product. */
export type ActivationRounding = 'q8_0' | 'q8_1' | 'q8_K' | 'f16' | 'bf16';

/**
 * ggml-cpu's `vec_dot_type` for each weight type this engine loads (F32 weights keep f32 activations).
 * The type alone decides the rounding, whichever kernel llama.cpp runs: on AVX2 the repacked
 * Q4_0/Q4_K GEMM and GEMV quantize their input with ggml_quantize_mat_q8_0_4x8 / q8_K_4x8, which
 * decode to the same values as quantize_row_q8_0 / q8_K (libggml-cpu-haswell, on roundingTestRows;
 * the q8_K one may store a block with q and d both negated), and tinyBLAS takes quantize_row_q8_0's.
 */
const VEC_DOT_TYPE: Record<string, ActivationRounding | undefined> = {
  F32: undefined,
  F16: 'f16',
  BF16: 'bf16',
  Q4_0: 'q8_0',
  Q5_0: 'q8_0',
  Q8_0: 'q8_0',
  Q4_1: 'q8_1',
  Q5_1: 'q8_1',
  Q2_K: 'q8_K',
  Q3_K: 'q8_K',
  Q4_K: 'q8_K',
  Q5_K: 'q8_K',
  Q6_K: 'q8_K',
};

/**
 * The rounding llama.cpp's CPU backend applies to a matmul's activations for a weight of this GGUF
 * type name ('F32' → undefined; 'F16' → 'f16'; 'BF16' → 'bf16'; Q4_0/Q5_0/Q8_0 → 'q8_0';
 * Q4_1/Q5_1 → 'q8_1'; Q2_K..Q6_K → 'q8_K'). Any other name throws: silently keeping f32 for a type
 * whose vec_dot_type is unknown would defeat the emulation without a trace.
 */
export function llamaCppRounding(type: string): ActivationRounding | undefined {
  if (!Object.hasOwn(VEC_DOT_TYPE, type)) throw new RangeError(`llama.cpp numerics: no known activation rounding for weight type ${type}`);
  return VEC_DOT_TYPE[type];
}

/** Shader MODE, elements per block (0: element-wise) for each rounding. */
const MODES: Record<ActivationRounding, { mode: number; block: number }> = {
  q8_0: { mode: 0, block: 32 },
  q8_1: { mode: 0, block: 32 },
  q8_K: { mode: 1, block: 256 },
  f16: { mode: 2, block: 0 },
  bf16: { mode: 3, block: 0 },
};

const WG = 256;

export interface RoundActivationsOptions {
  /** [rows, K] f32. */
  x: GPUBuffer;
  /** [rows, K] f32; a different buffer from x. */
  out: GPUBuffer;
  K: number;
  mode: ActivationRounding;
  /**
   * q8_1 only: [rows, K / 32] f32 that receives, per block, llama.cpp's block sum f16(d·Σq) minus
   * the sum of the block's rounded values (PackedMatmulOptions.blockSums reads it).
   */
  blockSums?: GPUBuffer;
  label?: string;
}

/**
 * out[r, :] = x[r, :] rounded as llama.cpp would, then decoded back to f32 (q · f16(d) for q8_0/q8_1,
 * q · d in f32 for q8_K, the rounded value for f16/bf16), for rows rowOffset..rowOffset+m−1 (the same
 * rows in x and out, and in blockSums when given). K must be a multiple of the block (32 for
 * q8_0/q8_1, 256 for q8_K).
 */
export function createRoundActivations(gpu: Gpu, o: RoundActivationsOptions): KernelOp<{ m: number; rowOffset?: number }> {
  const { mode, block } = MODES[o.mode];
  if (!Number.isInteger(o.K) || o.K <= 0 || (block && o.K % block !== 0)) {
    throw new RangeError(`round_activations ${o.mode}: K=${o.K} must be a positive multiple of ${block || 1}`);
  }
  if (o.x === o.out) throw new RangeError('round_activations: out must be a different buffer from x');
  if (o.blockSums && o.mode !== 'q8_1') throw new RangeError(`round_activations ${o.mode}: block sums belong to q8_1`);
  const sums = o.blockSums !== undefined;
  const key = block ? `round_activations_${o.mode}_wg${block}${sums ? '_sums' : ''}` : `round_activations_${o.mode}_wg${WG}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code,
    entryPoint: sums ? 'round_block_sums' : block ? 'round_block' : 'round_element',
    constants: sums ? { BLOCK: block } : block ? { MODE: mode, BLOCK: block } : { MODE: mode, WG },
  });
  const params = new Params(gpu.device, { first: 'u32', count: 'u32' }, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.x, o.out, params.buffer, ...(o.blockSums ? [o.blockSums] : [])]);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m, rowOffset = 0 }) {
      const end = (rowOffset + m) * o.K;
      if (end * 4 > o.x.size || end * 4 > o.out.size) throw new RangeError(`${label}: rows ${rowOffset}..${rowOffset + m - 1} exceed x or out`);
      if (o.blockSums && (end / block) * 4 > o.blockSums.size) throw new RangeError(`${label}: rows ${rowOffset}..${rowOffset + m - 1} exceed blockSums`);
      if (m === 0) return;
      const count = block ? (m * o.K) / block : m * o.K;
      params.write({ first: rowOffset * o.K, count });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, block ? count : Math.ceil(count / WG), maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}

const f = Math.fround;
const SQRT_2_OVER_PI = f(0.79788456080286535587989211986876);
const GELU_COEF_A = f(0.044715);

/**
 * ggml_gelu_f32 as llama.cpp's x86 builds with FMA (haswell and later) evaluate it, one f32 rounding
 * per C operation of `0.5f*x*(1.0f + tanhf(SQRT_2_OVER_PI*x*(1.0f + GELU_COEF_A*x*x)))`, except that
 * the compiler fuses `1.0f + (GELU_COEF_A*x)*x`: here the f64 sum of 1 and the exact f64 product,
 * rounded once. With fround(Math.tanh) for glibc's tanhf this gives libggml-cpu-haswell's table on
 * every finite f16 input; unfused (as an sse42-only build would be) one entry differs.
 */
function ggmlGeluF32(x: number): number {
  const inner = f(1 + f(GELU_COEF_A * x) * x);
  const t = f(Math.tanh(f(f(SQRT_2_OVER_PI * x) * inner)));
  return f(f(0.5 * x) * f(1 + t));
}

const geluTables = new WeakMap<GPUDevice, GPUBuffer>();

/**
 * ggml's GELU table (ggml_table_gelu_f16: for each f16 bit pattern h, fp16(ggml_gelu_f32(h))),
 * widened to f32 on the host and uploaded once per device; the GELU kernels' llama.cpp variants
 * index it with the f16 bits of their input. Evaluating GELU on the GPU instead cannot match: for
 * x below about −3, 1 + tanhf(u) cancels in f32 and the table holds a few-bit approximation, which
 * differs from fp16 of the true GELU in 269 of the 37 376 entries in (−10, 10).
 * The buffer lives as long as the device; ops that bind it do not own it.
 */
export function ggmlGeluTable(gpu: Gpu): GPUBuffer {
  let table = geluTables.get(gpu.device);
  if (!table) {
    const values = Float32Array.from({ length: 0x10000 }, (_, h) => f16ToF32(f32ToF16(ggmlGeluF32(f16ToF32(h)))));
    table = createStorage(gpu, 'ggml_gelu_f16_table', values.byteLength);
    gpu.device.queue.writeBuffer(table, 0, values);
    geluTables.set(gpu.device, table);
  }
  return table;
}
