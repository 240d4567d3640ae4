import kquantCode from '../../../shaders/kquant_matmul.wgsl?raw';
import packedCode from '../../../shaders/matmul_packed.wgsl?raw';
import { isKType, kquantByteLength, QK_K, type KType } from '../../engine/formats/kquant.ts';
import { DeviceLimitError } from '../../protocol/errors.ts';
import type { Gpu } from '../device.ts';
import { dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';
import { embeddingRows, type EmbeddingChunk } from './embedding.ts';
import { MATMUL_PARAMS } from './gemm.ts';
import { KTYPE } from './kquantMatmul.ts';
import { packedTypeConstants, packedWeightBytes, type PackedType } from './packedWeights.ts';

export interface PackedEmbeddingOptions {
  /** Token ids, u32. */
  ids: GPUBuffer;
  /** [V, D] in `type`, the tensor's GGUF bytes (uploadPackedWeight / uploadKQuantWeight). */
  table: GPUBuffer;
  /** [maxM, D] f32. */
  out: GPUBuffer;
  type: PackedType | KType;
  D: number;
  /** Rows in the table. */
  V: number;
  /** Absent: the table is the whole vocabulary. */
  chunk?: EmbeddingChunk;
  label?: string;
}

/** Field order of `struct EmbedRows` in matmul_packed.wgsl and kquant_matmul.wgsl. */
const EMBED_ROWS = { first: 'u32', vocab: 'u32' } as const;

const WG = 256;

/**
 * out[i·D + d] = table[ids[i] − first, d] for i < m and the ids the table holds, decoding the rows
 * it gathers in registers (the `embed` entry point of the packed or K-quant matmul shader, so the
 * decoding is the matmuls' own); ids past the vocabulary write a zero row, as createEmbedding
 * does (EmbeddingChunk says how a split table shares that out). A tied model's LM head binds the
 * same table to the packed GEMV and GEMM.
 */
export function createPackedEmbedding(gpu: Gpu, o: PackedEmbeddingOptions): KernelOp<{ m: number }> {
  const rows = embeddingRows(o.V, o.chunk);
  const kquant = isKType(o.type);
  if (kquant && o.D % QK_K !== 0) throw new RangeError(`embedding: ${o.type} rows of ${o.D} values are not whole super-blocks of ${QK_K}`);
  const need = kquant ? kquantByteLength(o.type as KType, o.V * o.D) : packedWeightBytes(o.type as PackedType, o.V, o.D);
  if (o.table.size < need) throw new RangeError(`embedding: table holds ${o.table.size} bytes, ${o.type}[${o.V}, ${o.D}] needs ${need}`);
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  for (const [name, buffer] of [['table', o.table], ['out', o.out]] as const) {
    if (buffer.size > limit) throw new DeviceLimitError(`embedding: ${name} (${buffer.size} bytes) exceeds this GPU's storage binding limit of ${limit} bytes`);
  }
  const key = `embed_${o.type.toLowerCase()}_wg${WG}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({
    key,
    code: kquant ? kquantCode : packedCode,
    entryPoint: 'embed',
    constants: { ...(kquant ? { KTYPE: KTYPE[o.type as KType] } : packedTypeConstants(o.type as PackedType)), WG },
  });
  // The shaders' matmul Params: m tokens, K = D values per row, N = V rows; the offsets stay 0.
  const params = new Params(gpu.device, MATMUL_PARAMS, `${label} params`);
  const chunkParams = new Params(gpu.device, EMBED_ROWS, `${label} rows`);
  chunkParams.write({ first: rows.first, vocab: rows.vocab });
  // Bindings as the shaders number them: no x (binding 0) in this entry point, the ids at 4.
  const bindGroup = gpu.device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 1, resource: { buffer: o.table } },
      { binding: 2, resource: { buffer: o.out } },
      { binding: 3, resource: { buffer: params.buffer } },
      { binding: 4, resource: { buffer: o.ids } },
      { binding: 5, resource: { buffer: chunkParams.buffer } },
    ],
  });
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m }) {
      if (!(Number.isInteger(m) && m >= 0) || m * 4 > o.ids.size || m * o.D * 4 > o.out.size) throw new RangeError(`embedding: m=${m} exceeds ids or out`);
      if (m === 0) return;
      params.write({ m, K: o.D, N: o.V, xRowOffset: 0, yRowOffset: 0 });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, Math.ceil((m * Math.ceil(o.D / 8)) / WG), maxPerDim);
    },
    destroy() {
      params.destroy();
      chunkParams.destroy();
    },
  };
}
