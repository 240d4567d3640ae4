import code from '../../../shaders/embedding.wgsl?raw';
import { DeviceLimitError } from '../../protocol/errors.ts';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

/**
 * A table that is one row chunk of a larger vocabulary (src/engine/model/vocabMatrix.ts): it
 * holds the rows of ids first .. first+V−1 of a vocabulary of `vocab` ids.
 */
export interface EmbeddingChunk {
  first: number;
  vocab: number;
}

export interface EmbeddingOptions {
  /** Token ids, u32. */
  ids: GPUBuffer;
  /** [V, D] f32. */
  table: GPUBuffer;
  /** [maxM, D] f32. */
  out: GPUBuffer;
  D: number;
  /** Rows in the table. */
  V: number;
  /** Absent: the table is the whole vocabulary. */
  chunk?: EmbeddingChunk;
  label?: string;
}

/** The shaders' row window: ids first .. first+rows−1 of a vocabulary of `vocab` ids. */
export interface EmbeddingRows {
  first: number;
  rows: number;
  vocab: number;
}

/**
 * Checks a chunk against its vocabulary. Each id is gathered by the chunk that holds it, and an
 * id past the vocabulary gets its zero row from the chunk that ends it, so no two chunks write
 * the same output row.
 */
export function embeddingRows(V: number, chunk: EmbeddingChunk = { first: 0, vocab: V }): EmbeddingRows {
  const { first, vocab } = chunk;
  if (!(Number.isInteger(first) && first >= 0 && Number.isInteger(V) && V > 0 && first + V <= vocab && vocab <= 0xffffffff)) {
    throw new RangeError(`embedding: rows ${first}..${first + V} are not a chunk of a vocabulary of ${vocab}`);
  }
  return { first, rows: V, vocab };
}

const WG = 256;

/**
 * out[i·D + d] = table[(ids[i] − first)·D + d] for i < m and the ids the table holds; an id past
 * the vocabulary writes a zero row (see EmbeddingChunk for a split table).
 */
export function createEmbedding(gpu: Gpu, o: EmbeddingOptions): KernelOp<{ m: number }> {
  const rows = embeddingRows(o.V, o.chunk);
  if (o.table.size < o.V * o.D * 4) throw new RangeError(`embedding: table holds ${o.table.size} bytes, [${o.V}, ${o.D}] f32 needs ${o.V * o.D * 4}`);
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  if (o.table.size > limit) {
    throw new DeviceLimitError(`embedding: the table (${o.table.size} bytes) exceeds this GPU's storage binding limit of ${limit} bytes`);
  }
  const key = `embedding_f32_wg${WG}`;
  const label = o.label ?? key;
  const pipeline = gpu.pipelines.get({ key, code, constants: { WG } });
  const params = new Params(gpu.device, { m: 'u32', D: 'u32', rows: 'u32', first: 'u32', vocab: 'u32' }, `${label} params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [o.ids, o.table, o.out, params.buffer]);
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m }) {
      if (m * 4 > o.ids.size || m * o.D * 4 > o.out.size) throw new RangeError(`embedding: m=${m} exceeds ids or out`);
      if (m === 0) return;
      params.write({ m, D: o.D, ...rows });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, Math.ceil((m * o.D) / WG), maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}
