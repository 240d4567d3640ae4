import { packedBytes, PACKED_TYPES, type PackedType } from '../../engine/formats/quant.ts';
import { DeviceLimitError } from '../../protocol/errors.ts';
import { createStorage } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import type { MatmulOptions } from './gemm.ts';

export type { PackedType } from '../../engine/formats/quant.ts';

/** The values of the TYPE override in matmul_packed.wgsl (its T_* constants). */
export const PACKED_TYPE_CODES: Readonly<Record<PackedType, number>> = {
  F16: 0,
  BF16: 1,
  Q8_0: 2,
  Q4_0: 3,
  Q4_1: 4,
  Q5_0: 5,
  Q5_1: 6,
};

/** A weight in its packed type: `w` holds the tensor's GGUF bytes (uploadPackedWeight). */
export interface PackedMatmulOptions extends MatmulOptions {
  type: PackedType;
  /**
   * Q4_1 and Q5_1 under llama.cpp's numerics: [rows of x, K / 32] f32, the residuals that
   * createRoundActivations writes beside x rounded to q8_1 (its `blockSums`). Each block then
   * adds m · residual, which turns the decoded weights' m·Σx into llama.cpp's m·f16(d·Σq).
   */
  blockSums?: GPUBuffer;
}

/** The weight types whose llama.cpp dot product takes a Q8_1 block sum (PackedMatmulOptions.blockSums). */
const BLOCK_SUM_TYPES: ReadonlySet<PackedType> = new Set(['Q4_1', 'Q5_1']);

/**
 * Bytes of an [N, K] weight in `type`: N rows of K / blockElements blocks, as GGUF stores it.
 * The GPU buffer is this rounded up to 4. Throws a RangeError when K is not whole blocks.
 */
export function packedWeightBytes(type: PackedType, N: number, K: number): number {
  if (!(Number.isSafeInteger(N) && N > 0 && Number.isSafeInteger(K) && K > 0)) {
    throw new RangeError(`${type} weight: N and K must be positive integers (N=${N}, K=${K})`);
  }
  return N * packedBytes(type, K);
}

/**
 * Uploads an [N, K] weight's bytes unchanged (no repacking, never widened), zero-padded to a
 * multiple of 4 bytes as storage buffers require. The kernels read any block at its GGUF
 * offset, so a loader can hand over the tensor exactly as it lies in the file.
 */
export function uploadPackedWeight(gpu: Gpu, label: string, type: PackedType, bytes: Uint8Array, N: number, K: number): GPUBuffer {
  const size = packedWeightBytes(type, N, K);
  if (bytes.byteLength !== size) throw new RangeError(`${label}: ${type}[${N}, ${K}] is ${size} bytes, got ${bytes.byteLength}`);
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  if (size > limit) throw new DeviceLimitError(`${label}: ${size} bytes exceed this GPU's storage binding limit of ${limit} bytes`);
  const buffer = createStorage(gpu, label, size);
  // writeBuffer takes whole words: the body goes straight from the caller's bytes, and only a
  // ragged tail of 2 bytes (blocks and halves are even-sized) goes through a padded word.
  const body = size & ~3;
  if (body > 0) gpu.device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, body);
  if (body < size) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(body));
    gpu.device.queue.writeBuffer(buffer, body, tail);
  }
  return buffer;
}

/** The creation-time checks of checkMatmulOptions, for a packed w: whole blocks, enough bytes, bindings within limits. */
export function checkPackedMatmulOptions(gpu: Gpu, o: PackedMatmulOptions, kernel: string): void {
  if (!Object.hasOwn(PACKED_TYPES, o.type)) throw new RangeError(`${kernel}: unknown packed type ${String(o.type)}`);
  const need = packedWeightBytes(o.type, o.N, o.K);
  if (o.w.size < need) throw new RangeError(`${kernel}: w holds ${o.w.size} bytes, ${o.type}[${o.N}, ${o.K}] needs ${need}`);
  if (o.blockSums && !BLOCK_SUM_TYPES.has(o.type)) throw new RangeError(`${kernel}: block sums apply to Q4_1 and Q5_1 weights, not ${o.type}`);
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  for (const [name, buffer] of [['x', o.x], ['w', o.w], ['y', o.y], ['blockSums', o.blockSums]] as const) {
    if (buffer && buffer.size > limit) {
      throw new DeviceLimitError(`${kernel}: ${name} (${buffer.size} bytes) exceeds this GPU's storage binding limit of ${limit} bytes`);
    }
  }
}

/**
 * The bind group of a *_block_sums entry point of matmul_packed.wgsl: x, w, y and the parameter
 * block at bindings 0..3, as bindBuffers places them, and the residuals at binding 6.
 */
export function bindBlockSums(gpu: Gpu, pipeline: GPUComputePipeline, label: string, o: PackedMatmulOptions, params: GPUBuffer): GPUBindGroup {
  const buffers = [o.x, o.w, o.y, params];
  return gpu.device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: [...buffers.map((buffer, binding) => ({ binding, resource: { buffer } })), { binding: 6, resource: { buffer: o.blockSums! } }],
  });
}

/** Checks that the residuals of x rows xRowOffset .. xRowOffset+m−1 lie inside blockSums. */
export function checkBlockSumRows(o: PackedMatmulOptions, m: number, xRowOffset: number, kernel: string): void {
  const end = (xRowOffset + m) * (o.K / 32);
  if (o.blockSums && end * 4 > o.blockSums.size) {
    throw new RangeError(`${kernel}: rows ${xRowOffset}..${xRowOffset + m} need ${end} block sums, blockSums holds ${o.blockSums.size / 4}`);
  }
}

/** The overrides that select the weight type in matmul_packed.wgsl. */
export function packedTypeConstants(type: PackedType): Record<string, number> {
  const { blockElements, blockBytes } = PACKED_TYPES[type];
  return { TYPE: PACKED_TYPE_CODES[type], BLOCK_ELEMS: blockElements, BLOCK_BYTES: blockBytes };
}
