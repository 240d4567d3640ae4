import { CorruptFileError, UnsupportedDtypeError } from '../../protocol/errors.ts';
import { createStorage } from '../../gpu/buffers.ts';
import type { Gpu } from '../../gpu/device.ts';
import { elementCount, isLoadableDtype } from '../formats/dtype.ts';
import { isKType, kquantByteLength, type KType } from '../formats/kquant.ts';
import { isPackedType, packedBytes, type PackedType } from '../formats/quant.ts';
import { readTensorF32Pieces, type ByteSource, type TensorInfo } from '../formats/source.ts';

/**
 * How a weight lives on the GPU. Matrices of a packed type keep their file bytes and are
 * decoded in registers by the kernels of that type (matmul_packed.wgsl for F16, BF16 and the
 * 32-element block types, kquant_matmul.wgsl for the K-quants); everything else is widened to
 * f32: F32 matrices, and the 1-D norm weights whatever their type (rmsnorm reads f32).
 */
export type WeightStorage = { kind: 'f32' } | { kind: 'packed'; type: PackedType } | { kind: 'kquant'; type: KType };

const RUNNABLE_TYPES = 'F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K';

/** F32 tensors, and vectors of any type the engine can widen. */
function widened(t: TensorInfo): boolean {
  return t.dtype === 'F32' || (t.shape.length !== 2 && isLoadableDtype(t.dtype));
}

/** The storage of a weight the forward pass reads; UnsupportedDtypeError for a type it cannot run. */
export function weightStorage(t: TensorInfo): WeightStorage {
  const matrix = t.shape.length === 2;
  if (widened(t)) return { kind: 'f32' };
  if (matrix && isPackedType(t.dtype)) return { kind: 'packed', type: t.dtype };
  if (matrix && isKType(t.dtype)) return { kind: 'kquant', type: t.dtype };
  const where = `${t.source.name}: tensor '${t.name}'`;
  throw new UnsupportedDtypeError(
    matrix
      ? `${where} is ${t.dtype}; Pocket Hub runs ${RUNNABLE_TYPES} weights.`
      : `${where} is ${t.dtype}; Pocket Hub reads vectors (norm weights) in F32, F16 or BF16 only.`,
  );
}

/**
 * Bytes a weight tensor takes on the GPU as the engine stores it (weightStorage): four per
 * value when widened to f32, else its file bytes padded to a whole word. Model pages size their
 * device fit with this, and a tensor of a type the engine refuses counts at its file size.
 */
export function gpuWeightBytes(t: TensorInfo): number {
  return widened(t) ? elementCount(t.shape) * 4 : Math.ceil(t.byteLength / 4) * 4;
}

/**
 * f32 elements per upload piece (4 MiB): small beside a 64 MiB store chunk, large enough
 * that a 7B model takes a few thousand writeBuffer calls. Packed weights go up in pieces of
 * the same byte size.
 */
const UPLOAD_PIECE_ELEMENTS = 2 ** 20;
const UPLOAD_PIECE_BYTES = UPLOAD_PIECE_ELEMENTS * 4;

/**
 * Copies a weight into a new storage buffer as weightStorage says it lives there, a piece at a
 * time, so a tensor of hundreds of MiB never exists whole in JS memory; with a stored source
 * the most a load holds is the chunk being read plus one piece.
 */
export async function uploadWeight(gpu: Gpu, t: TensorInfo): Promise<GPUBuffer> {
  const storage = weightStorage(t);
  return storage.kind === 'f32' ? uploadTensor(gpu, t) : uploadPacked(gpu, t, storage.type);
}

/** Widens each piece of a F32/F16/BF16 tensor to f32 on its way to the GPU. */
async function uploadTensor(gpu: Gpu, t: TensorInfo): Promise<GPUBuffer> {
  const buffer = createStorage(gpu, t.name, elementCount(t.shape) * 4);
  try {
    await readTensorF32Pieces(t, UPLOAD_PIECE_ELEMENTS, (piece, first) =>
      gpu.device.queue.writeBuffer(buffer, first * 4, piece.buffer, piece.byteOffset, piece.byteLength),
    );
  } catch (err) {
    buffer.destroy();
    throw err;
  }
  return buffer;
}

/**
 * Copies a matrix's file bytes unchanged (the layout the packed kernels read), in pieces that
 * need not follow rows: nothing is decoded on the way. The buffer is padded to a whole word.
 */
async function uploadPacked(gpu: Gpu, t: TensorInfo, type: PackedType | KType): Promise<GPUBuffer> {
  const [N, K] = t.shape;
  const size = isKType(type) ? kquantByteLength(type, N * K) : N * packedBytes(type, K);
  const where = `${t.source.name}: tensor '${t.name}'`;
  if (t.byteLength !== size) throw new CorruptFileError(`${where}: ${t.byteLength} bytes do not hold ${type}[${t.shape.join(', ')}]`);
  if (t.offset < 0 || t.offset + size > t.source.size)
    throw new CorruptFileError(`${where}: bytes ${t.offset}..${t.offset + size} lie past the end of the file (${t.source.size} bytes)`);
  const buffer = createStorage(gpu, t.name, size);
  try {
    for (let at = 0; at < size; at += UPLOAD_PIECE_BYTES) await uploadPiece(gpu, buffer, t, at, Math.min(UPLOAD_PIECE_BYTES, size - at));
  } catch (err) {
    buffer.destroy();
    throw err;
  }
  return buffer;
}

/**
 * Its own function so that the bytes read (often a view of a whole stored chunk) are not left
 * referenced from a suspended frame while the next piece is read. writeBuffer takes whole words:
 * only the last piece can be ragged (pieces are whole words), and it goes through a padded copy.
 */
async function uploadPiece(gpu: Gpu, buffer: GPUBuffer, t: TensorInfo, at: number, length: number): Promise<void> {
  let bytes = await t.source.read(t.offset + at, length);
  if (length % 4 !== 0) {
    const padded = new Uint8Array(Math.ceil(length / 4) * 4);
    padded.set(bytes);
    bytes = padded;
  }
  gpu.device.queue.writeBuffer(buffer, at, bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The tensors ordered as their bytes lie: file by file, by offset. Checkpoints store them
 * in their own order (HF sorts names), and reading in the forward pass's order instead
 * would fetch the same stored chunk again for every jump back.
 */
export function inFileOrder(tensors: TensorInfo[]): TensorInfo[] {
  const files = new Map<ByteSource, number>();
  for (const t of tensors) if (!files.has(t.source)) files.set(t.source, files.size);
  return [...tensors].sort((a, b) => files.get(a.source)! - files.get(b.source)! || a.offset - b.offset);
}
