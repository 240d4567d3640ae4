import { CorruptFileError, UnsupportedDtypeError } from '../../protocol/errors.ts';
import { dtypeBytes, elementCount, isLoadableDtype, toF32, type DType } from './dtype.ts';

/**
 * Random-access bytes of one file. Readers ask only for the ranges they need, so a
 * header can be parsed without holding a multi-gigabyte model in memory.
 */
export interface ByteSource {
  /** Shown in error messages; a file name or URL. */
  readonly name: string;
  readonly size: number;
  /** Resolves to exactly `length` bytes starting at `offset`; the range must lie inside the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new RangeError(`${name}: invalid read of ${length} bytes at ${offset}`);
  }
  if (offset + length > size) {
    throw new CorruptFileError(
      `${name}: truncated: needed bytes ${offset}..${offset + length} but the file has ${size} bytes`,
    );
  }
}

export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(name, bytes.byteLength, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A `File` the user picked, or any Blob; each read slices only the asked-for range. */
export function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange(name, blob.size, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/**
 * A tensor as stored. `shape` is row-major, outermost dimension first (GGUF's ne[]
 * reversed), so a Linear weight is [out, in] in both formats.
 */
export interface TensorInfo {
  name: string;
  /** 'F32', 'F16', 'BF16', or the format's own name for anything else ('Q4_K', 'I64'). */
  dtype: string;
  shape: number[];
  source: ByteSource;
  /** Absolute position of the first byte in `source`. */
  offset: number;
  byteLength: number;
}

/** Checks that a tensor can be widened to f32 and that its bytes lie inside its file. */
function loadable(t: TensorInfo): { dtype: DType; count: number } {
  const where = `${t.source.name}: tensor '${t.name}'`;
  if (!isLoadableDtype(t.dtype)) {
    throw new UnsupportedDtypeError(`${where} has dtype ${t.dtype}; only F32, F16 and BF16 can be loaded`);
  }
  const count = elementCount(t.shape);
  if (t.byteLength !== count * dtypeBytes[t.dtype]) {
    throw new CorruptFileError(`${where}: ${t.byteLength} bytes do not hold ${t.dtype}[${t.shape.join(', ')}]`);
  }
  if (t.offset < 0 || t.offset + t.byteLength > t.source.size) {
    throw new CorruptFileError(
      `${where}: bytes ${t.offset}..${t.offset + t.byteLength} lie past the end of the file (${t.source.size} bytes)`,
    );
  }
  return { dtype: t.dtype, count };
}

/** Reads a F32/F16/BF16 tensor and widens it to f32. */
export async function readTensorF32(t: TensorInfo): Promise<Float32Array> {
  const { dtype, count } = loadable(t);
  return toF32(dtype, await t.source.read(t.offset, t.byteLength), count);
}

/**
 * Reads a F32/F16/BF16 tensor as f32 in consecutive pieces of at most `pieceElements`,
 * handing each to `use` with the index of its first element. One piece is held at a
 * time, so a tensor never sits in memory whole (a loader copies each piece to the GPU).
 */
export async function readTensorF32Pieces(
  t: TensorInfo,
  pieceElements: number,
  use: (piece: Float32Array, firstElement: number) => void,
): Promise<void> {
  if (!Number.isSafeInteger(pieceElements) || pieceElements < 1) throw new RangeError(`invalid piece of ${pieceElements} elements`);
  const { dtype, count } = loadable(t);
  for (let first = 0; first < count; first += pieceElements) await readPiece(t, dtype, first, Math.min(pieceElements, count - first), use);
}

/**
 * Its own function so that the bytes read (often a view of a whole stored chunk) are not
 * left referenced from a suspended frame while the next piece is read.
 */
async function readPiece(t: TensorInfo, dtype: DType, first: number, count: number, use: (piece: Float32Array, firstElement: number) => void): Promise<void> {
  const size = dtypeBytes[dtype];
  use(toF32(dtype, await t.source.read(t.offset + first * size, count * size), count), first);
}
