import { CorruptFileError, DeviceLimitError } from '../../protocol/errors.ts';
import { readF32 } from '../../gpu/buffers.ts';
import type { Gpu } from '../../gpu/device.ts';
import type { KernelOp } from '../../gpu/kernel.ts';
import { createEmbedding } from '../../gpu/kernels/embedding.ts';
import { createPackedEmbedding } from '../../gpu/kernels/embeddingPacked.ts';
import { createGemm, type MatmulDyn, type MatmulOptions } from '../../gpu/kernels/gemm.ts';
import { createGemv } from '../../gpu/kernels/gemv.ts';
import { createKQuantGemm, createKQuantGemv } from '../../gpu/kernels/kquantMatmul.ts';
import { createPackedMatmul } from '../../gpu/kernels/matmulF16.ts';
import { kquantByteLength } from '../formats/kquant.ts';
import { packedBytes } from '../formats/quant.ts';
import type { TensorInfo } from '../formats/source.ts';
import { uploadWeight, weightStorage, type WeightStorage } from './gpuWeights.ts';

/**
 * The vocabulary matrices (token embedding, LM head) are the only tensors of real models that
 * outgrow one storage binding: Qwen2.5-0.5B's 151936 × 896 embedding is 145 MB in Q8_0, Llama
 * 3.2-1B's 128256 × 2048 is 525 MB in F16, against the 128 MiB that many devices bind. Such a
 * matrix goes up as row chunks, each its own buffer within the limit, and every kernel that
 * reads it runs once per chunk. A matrix that fits is one chunk: the kernels and dispatches are
 * those of an unsplit weight.
 *
 * The LM head writes one logits buffer. The matmuls place output row i of a call at
 * (yRowOffset + i) · N, N being the chunk's rows, so a chunk can land at vocabulary offset
 * `first` only when `first` is a multiple of its rows: planVocabChunks chooses sizes that make
 * it so. With one token (decode) the logits are then contiguous [vocab]; with m rows each
 * chunk writes its [m, rows] block at m · first (chunk-major), which LogitsOp.read puts back
 * in [m, vocab] order.
 */

/** The most bytes one buffer can hold and be bound whole on this device. */
export function bindingLimit(gpu: Gpu): number {
  return Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize);
}

/** Rows first .. first+rows−1 of a vocabulary matrix. */
export interface VocabChunk {
  first: number;
  rows: number;
}

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 0)} MiB`;

/** Bytes of one row of a [vocab, K] matrix as the engine stores it (weightStorage). */
export function vocabRowBytes(t: TensorInfo): number {
  const storage = weightStorage(t);
  const K = t.shape[1];
  try {
    if (storage.kind === 'f32') return 4 * K;
    return storage.kind === 'packed' ? packedBytes(storage.type, K) : kquantByteLength(storage.type, K);
  } catch (err) {
    // A row that ends inside a block cannot be sliced from the file (nor read by the kernels).
    throw new CorruptFileError(`${t.source.name}: tensor '${t.name}' has rows of ${K} values, not whole ${t.dtype} blocks (${(err as Error).message})`);
  }
}

/**
 * Splits `vocab` rows of `rowBytes` each into chunks whose buffers (padded to a word) stay within
 * `limit` bytes, each starting at a multiple of its own size (see the file comment). The fewest
 * chunks found wins: full chunks of one size S, then the remainder as power-of-two pieces in
 * falling order, which start at multiples of themselves whenever the largest divides the full
 * chunks' span. S runs from the most rows a buffer holds down to half that, where a power of two
 * always qualifies, so a plan always exists and has at most twice the minimum of full chunks plus
 * log2(S) pieces. Qwen2.5's 151936 rows (2^7 · 1187) fall in two chunks of 75968; Llama 3's 128256
 * F16 rows of 4 KiB in four of 32064. A single row above the limit is a DeviceLimitError.
 */
export function planVocabChunks(vocab: number, rowBytes: number, limit: number, name = 'the vocabulary matrix'): VocabChunk[] {
  // Row counts and offsets go through 32-bit integer bit tricks below (and u32 ids in the shaders).
  if (!(Number.isInteger(vocab) && vocab > 0 && vocab < 2 ** 31 && Number.isSafeInteger(rowBytes) && rowBytes > 0 && limit > 0)) {
    throw new RangeError(`planVocabChunks: vocab, rowBytes and limit must be positive integers (${vocab}, ${rowBytes}, ${limit})`);
  }
  const maxRows = Math.floor((Math.floor(limit / 4) * 4) / rowBytes);
  if (maxRows < 1) {
    throw new DeviceLimitError(
      `${name}: one row takes ${rowBytes} bytes, more than this GPU holds in one buffer (${limit} bytes), so it cannot be split to fit.`,
    );
  }
  if (maxRows >= vocab) return [{ first: 0, rows: vocab }];
  const fewest = Math.ceil(vocab / maxRows);
  let best = { size: 0, count: Infinity };
  for (let size = maxRows; 2 * size >= maxRows && best.count > fewest; size--) {
    const full = Math.floor(vocab / size);
    const span = full * size;
    const rest = vocab - span;
    // The largest piece, 2^⌊log2 rest⌋, divides the span iff the span's lowest set bit exceeds rest / 2.
    if (rest > 0 && 2 * (span & -span) <= rest) continue;
    const count = full + popcount(rest);
    if (count < best.count) best = { size, count };
  }
  const chunks: VocabChunk[] = [];
  let first = 0;
  for (; first + best.size <= vocab; first += best.size) chunks.push({ first, rows: best.size });
  for (let rest = vocab - first; rest > 0; ) {
    const rows = highestPowerOfTwo(rest);
    chunks.push({ first, rows });
    first += rows;
    rest -= rows;
  }
  return chunks;
}

function highestPowerOfTwo(n: number): number {
  return 2 ** (31 - Math.clz32(n));
}

function popcount(n: number): number {
  let bits = 0;
  for (let rest = n; rest > 0; rest &= rest - 1) bits++;
  return bits;
}

export interface VocabMatrixOptions {
  /** Bytes one chunk may take; defaults to bindingLimit. Tests force a small one to split small matrices. */
  limit?: number;
}

/** A weight matmul's buffers; blockSums as PackedMatmulOptions has it (Q4_1/Q5_1 under llama.cpp's numerics). */
export type WeightMatmulOptions = MatmulOptions & { blockSums?: GPUBuffer };

/** The GEMM or GEMV that reads a weight where it lives: f32, or its packed file bytes. */
export function createWeightMatmul(gpu: Gpu, kernel: 'gemm' | 'gemv', storage: WeightStorage, o: WeightMatmulOptions): KernelOp<MatmulDyn> {
  const gemm = kernel === 'gemm';
  // Only the packed kernels take block sums, and they refuse them for types other than Q4_1/Q5_1.
  if (o.blockSums && storage.kind !== 'packed') throw new RangeError(`${o.label ?? kernel}: block sums apply to Q4_1 and Q5_1 weights, not ${storage.kind === 'f32' ? 'F32' : storage.type}`);
  switch (storage.kind) {
    case 'f32':
      return (gemm ? createGemm : createGemv)(gpu, o);
    case 'packed':
      // F16 and BF16 weights take the f16-arithmetic kernels where the device has shader-f16.
      return createPackedMatmul(gpu, kernel, { ...o, type: storage.type });
    case 'kquant':
      return (gemm ? createKQuantGemm : createKQuantGemv)(gpu, { ...o, type: storage.type });
  }
}

/** The rows of `x` to project, as the matmuls take them; the output rows are the LM head's own. */
export interface LogitsDyn {
  m: number;
  xRowOffset?: number;
}

/** The LM head over every chunk into one logits buffer. */
export interface LogitsOp extends KernelOp<LogitsDyn> {
  /**
   * Reads back the logits of an encode of `m` rows (after its submit), [m, vocab] row-major.
   * A split matrix leaves them chunk-major on the GPU; this reorders them.
   */
  read(m: number): Promise<Float32Array>;
}

/** A [vocab, K] weight (token embedding or LM head) in row chunks that each fit one binding. */
export class VocabMatrix {
  private constructor(
    private readonly gpu: Gpu,
    readonly name: string,
    readonly vocab: number,
    readonly K: number,
    readonly storage: WeightStorage,
    readonly chunks: readonly (VocabChunk & { buffer: GPUBuffer })[],
  ) {}

  /**
   * Checks that a row fits before anything is allocated, then uploads the chunks (as uploadWeight
   * does: a piece in CPU memory at a time, packed types as their file bytes) in file order.
   */
  static async upload(gpu: Gpu, t: TensorInfo, options: VocabMatrixOptions = {}): Promise<VocabMatrix> {
    if (t.shape.length !== 2) throw new RangeError(`VocabMatrix: tensor '${t.name}' has shape [${t.shape}], not [vocab, hidden]`);
    const [vocab, K] = t.shape;
    const storage = weightStorage(t);
    const rowBytes = vocabRowBytes(t);
    // Only F32 matrices are widened (weightStorage), so a stored row is a file row, and a chunk a byte slice.
    if (t.byteLength !== vocab * rowBytes) throw new CorruptFileError(`${t.source.name}: tensor '${t.name}': ${t.byteLength} bytes do not hold ${t.dtype}[${t.shape.join(', ')}]`);
    const plan = planVocabChunks(vocab, rowBytes, options.limit ?? bindingLimit(gpu), `Tensor ${t.name}`);
    const chunks: (VocabChunk & { buffer: GPUBuffer })[] = [];
    try {
      for (const chunk of plan) {
        const slice: TensorInfo =
          plan.length === 1
            ? t
            : { ...t, name: rowsLabel(t.name, chunk), shape: [chunk.rows, K], offset: t.offset + chunk.first * rowBytes, byteLength: chunk.rows * rowBytes };
        chunks.push({ ...chunk, buffer: await uploadWeight(gpu, slice) });
      }
    } catch (err) {
      for (const c of chunks) c.buffer.destroy();
      throw err;
    }
    return new VocabMatrix(gpu, t.name, vocab, K, storage, chunks);
  }

  /** Bytes held on the GPU. */
  get bytes(): number {
    return this.chunks.reduce((sum, c) => sum + c.buffer.size, 0);
  }

  /**
   * The token-embedding gather: out[i, :] = row ids[i] for i < m, one dispatch per chunk, each
   * writing only the rows of the ids it holds; an id ≥ vocab gives a zero row.
   */
  createEmbedding(o: { ids: GPUBuffer; out: GPUBuffer; label?: string }): KernelOp<{ m: number }> {
    const ops = this.chunks.map((c) => {
      const options = { ids: o.ids, table: c.buffer, out: o.out, D: this.K, V: c.rows, chunk: { first: c.first, vocab: this.vocab }, label: this.chunkLabel(o.label, c) };
      return this.storage.kind === 'f32' ? createEmbedding(this.gpu, options) : createPackedEmbedding(this.gpu, { ...options, type: this.storage.type });
    });
    return ops.length === 1 ? ops[0] : sequence(ops, o.label ?? `${this.name} embedding`, (pass, dyn) => ops.forEach((op) => op.encode(pass, dyn)));
  }

  /**
   * The LM head: logits[i, :] = W · x[xRowOffset + i, :] for i < m, by GEMV when m = 1 and GEMM
   * otherwise, as a whole weight's Linear is. `logits` holds [m, vocab] for the largest m
   * encoded; with m = 1 its first vocab values are the logits, contiguous, split or not.
   * blockSums: as createWeightMatmul takes them, for a Q4_1/Q5_1 matrix under llama.cpp's numerics.
   */
  createLogits(o: { x: GPUBuffer; logits: GPUBuffer; blockSums?: GPUBuffer; label?: string }): LogitsOp {
    const kernels = this.chunks.map((c) => {
      const options = { x: o.x, w: c.buffer, y: o.logits, K: this.K, N: c.rows, label: this.chunkLabel(o.label, c), ...(o.blockSums ? { blockSums: o.blockSums } : {}) };
      return { chunk: c, gemv: createWeightMatmul(this.gpu, 'gemv', this.storage, options), gemm: createWeightMatmul(this.gpu, 'gemm', this.storage, options) };
    });
    const ops = kernels.flatMap((k) => [k.gemv, k.gemm]);
    const vocab = this.vocab;
    const gpu = this.gpu;
    return {
      ...sequence(ops, o.label ?? `${this.name} logits`, (pass, { m, xRowOffset = 0 }) => {
        // Chunk c's [m, rows] block starts at m · first, a whole number of its rows (planVocabChunks).
        for (const k of kernels) (m === 1 ? k.gemv : k.gemm).encode(pass, { m, xRowOffset, yRowOffset: (m * k.chunk.first) / k.chunk.rows });
      }),
      async read(m) {
        const data = await readF32(gpu, o.logits, m * vocab);
        if (kernels.length === 1 || m === 1) return data;
        const rows = new Float32Array(m * vocab);
        for (const { chunk } of kernels) {
          for (let i = 0; i < m; i++) {
            const from = m * chunk.first + i * chunk.rows;
            rows.set(data.subarray(from, from + chunk.rows), i * vocab + chunk.first);
          }
        }
        return rows;
      },
    };
  }

  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
  }

  /** An unsplit matrix keeps the label a whole weight's op has (the tensor's name, or the caller's). */
  private chunkLabel(label: string | undefined, c: VocabChunk): string {
    const base = label ?? this.name;
    return this.chunks.length === 1 ? base : rowsLabel(base, c);
  }
}

/** Names a chunk's buffer and ops in validation errors. */
function rowsLabel(base: string, c: VocabChunk): string {
  return `${base} rows ${c.first}..${c.first + c.rows - 1}`;
}

/** One op that encodes several; destroying it destroys them all. */
function sequence<D>(ops: { destroy(): void }[], label: string, encode: (pass: GPUComputePassEncoder, dyn: D) => void): KernelOp<D> {
  return {
    label,
    encode,
    destroy() {
      for (const op of ops) op.destroy();
    },
  };
}

/** What a model binds, for checkDeviceLimits. */
export interface BindingNeeds {
  /** Tensors bound whole (every weight but the vocabulary matrices). */
  tensors: TensorInfo[];
  /** [vocab, hidden] matrices uploaded as VocabMatrix: only one row has to fit. */
  vocab: TensorInfo[];
  /** Bytes of one layer's K (or V) cache per token of context. */
  kvBytesPerToken: number;
  contextLength: number;
  /**
   * Rows of the largest layer's cache: contextLength, or less when every layer slides and keeps
   * a ring (slidingCache.ts). Defaults to contextLength.
   */
  cacheRows?: number;
  /** Bytes that gpuWeightBytes gives a tensor bound whole. */
  tensorBytes: (t: TensorInfo) => number;
}

/**
 * Says, before anything is allocated, which buffer a device that binds at most `limit` bytes
 * (bindingLimit) cannot hold, and what would fit: a tensor bound whole, a vocabulary row, and
 * the KV cache of one layer (with the longest context that fits).
 */
export function checkDeviceLimits(limit: number, needs: BindingNeeds): void {
  const have = `this GPU binds at most ${MiB(limit)} in one buffer`;
  for (const t of needs.tensors) {
    const bytes = needs.tensorBytes(t);
    if (bytes > limit) throw new DeviceLimitError(`Tensor ${t.name} needs ${MiB(bytes)} in one buffer, but ${have}.`);
  }
  for (const t of needs.vocab) planVocabChunks(t.shape[0], vocabRowBytes(t), limit, `Tensor ${t.name}`);
  const rows = needs.cacheRows ?? needs.contextLength;
  const kvBytes = rows * needs.kvBytesPerToken;
  if (kvBytes > limit) {
    // A ring holds min(context, window + batch − 1) rows, so a context this short fits either way.
    const fits = Math.floor(limit / needs.kvBytesPerToken);
    const cache = rows < needs.contextLength ? `A sliding-window KV cache of ${rows} rows` : `A KV cache of ${needs.contextLength} tokens`;
    throw new DeviceLimitError(
      `${cache} needs ${MiB(kvBytes)} per layer for its keys (and as much for its values), but ${have}.`,
      `Use a context of at most ${fits} tokens.`,
    );
  }
}
