import { elementCount, f32ToF16 } from './dtype.ts';
import { GgufType, ggmlTypeId } from './gguf.ts';
import { isKType, kquantByteLength, QK_K, type KType } from './kquant.ts';
import { PACKED_TYPES, packedBytes, type PackedType } from './quant.ts';

export type GgufScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64' | 'bool' | 'string';
type Scalar = number | bigint | boolean | string;

/** A metadata value with its GGUF type spelled out; arrays are homogeneous, and may nest. */
export type GgufTypedValue =
  | { type: GgufScalarType; value: Scalar }
  | { type: 'array'; itemType: GgufScalarType; value: Scalar[] }
  | { type: 'array'; itemType: 'array'; value: GgufTypedArray[] };
export type GgufTypedArray = Extract<GgufTypedValue, { type: 'array' }>;

/** Values the writer encodes: F32 as they are, F16 rounded to nearest even. */
export interface GgufValuesInput {
  name: string;
  dtype: 'F32' | 'F16';
  /** Row-major, outermost first, as readGguf returns it. */
  shape: number[];
  data: Float32Array;
}

/** The ggml types whose layout the writer can check a pre-encoded tensor against. */
export type GgufEncodedType = 'F32' | PackedType | KType;

/** A tensor already in its ggml type (quantizeRow / quantizeRowK output), written byte for byte. */
export interface GgufEncodedInput {
  name: string;
  dtype: GgufEncodedType;
  shape: number[];
  bytes: Uint8Array;
}

export type GgufTensorInput = GgufValuesInput | GgufEncodedInput;

export interface GgufInput {
  metadata: Record<string, GgufTypedValue>;
  tensors: GgufTensorInput[];
}

const typeIds: Record<GgufScalarType | 'array', number> = {
  u8: GgufType.U8,
  i8: GgufType.I8,
  u16: GgufType.U16,
  i16: GgufType.I16,
  u32: GgufType.U32,
  i32: GgufType.I32,
  u64: GgufType.U64,
  i64: GgufType.I64,
  f32: GgufType.F32,
  f64: GgufType.F64,
  bool: GgufType.BOOL,
  string: GgufType.STRING,
  array: GgufType.ARRAY,
};

/** Growable little-endian byte writer. */
class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // Each writer reserves before touching this.buf/this.view: reserving may replace them.
  u8(v: number) {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  u32(v: number) {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  u64(v: number | bigint) {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  bytes(b: Uint8Array) {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  padTo(alignment: number) { this.reserve((alignment - (this.length % alignment)) % alignment); }

  scalar(type: GgufScalarType, v: Scalar) {
    const needs = (kind: string) => new TypeError(`writeGguf: a ${type} needs a ${kind}, got ${typeof v}`);
    if (type === 'string') {
      if (typeof v !== 'string') throw needs('string');
      const encoded = new TextEncoder().encode(v);
      this.u64(encoded.length);
      this.bytes(encoded);
      return;
    }
    if (type === 'bool') {
      if (typeof v !== 'boolean') throw needs('boolean');
      this.u8(v ? 1 : 0);
      return;
    }
    if (type === 'u64' || type === 'i64') {
      if (typeof v !== 'number' && typeof v !== 'bigint') throw needs('number or bigint');
      const at = this.reserve(8);
      if (type === 'u64') this.view.setBigUint64(at, BigInt(v), true);
      else this.view.setBigInt64(at, BigInt(v), true);
      return;
    }
    if (typeof v !== 'number') throw needs('number');
    const setters = {
      u8: [1, (at: number) => this.view.setUint8(at, v)],
      i8: [1, (at: number) => this.view.setInt8(at, v)],
      u16: [2, (at: number) => this.view.setUint16(at, v, true)],
      i16: [2, (at: number) => this.view.setInt16(at, v, true)],
      u32: [4, (at: number) => this.view.setUint32(at, v, true)],
      i32: [4, (at: number) => this.view.setInt32(at, v, true)],
      f32: [4, (at: number) => this.view.setFloat32(at, v, true)],
      f64: [8, (at: number) => this.view.setFloat64(at, v, true)],
    } as const;
    const [n, set] = setters[type];
    const at = this.reserve(n);
    set(at);
  }

  array(a: GgufTypedArray) {
    this.u32(typeIds[a.itemType]);
    this.u64(a.value.length);
    if (a.itemType === 'array') for (const item of a.value as GgufTypedArray[]) this.array(item);
    else for (const item of a.value as Scalar[]) this.scalar(a.itemType, item);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** A pre-encoded tensor's bytes, once they are checked to be whole rows of whole blocks of its type. */
function checkedBytes(t: GgufEncodedInput): Uint8Array {
  const count = elementCount(t.shape);
  // ggml's rows run along the innermost dimension, the last of this shape.
  const row = t.shape.at(-1) ?? 1;
  const block = t.dtype === 'F32' ? 1 : isKType(t.dtype) ? QK_K : PACKED_TYPES[t.dtype].blockElements;
  const what = `writeGguf: tensor '${t.name}' (${t.dtype}[${t.shape.join(', ')}])`;
  if (row % block !== 0) throw new RangeError(`${what}: rows of ${row} values are not whole blocks of ${block}`);
  const need = t.dtype === 'F32' ? count * 4 : isKType(t.dtype) ? kquantByteLength(t.dtype, count) : (count / row) * packedBytes(t.dtype, row);
  if (t.bytes.length !== need) throw new RangeError(`${what}: ${t.bytes.length} bytes given, ${need} needed`);
  return t.bytes;
}

function encodeTensor(t: GgufTensorInput): Uint8Array {
  if ('bytes' in t) return checkedBytes(t);
  const count = elementCount(t.shape);
  if (t.data.length !== count) {
    throw new RangeError(`writeGguf: tensor '${t.name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  }
  if (t.dtype === 'F32') return new Uint8Array(t.data.slice().buffer);
  const halves = new Uint16Array(count);
  for (let i = 0; i < count; i++) halves[i] = f32ToF16(t.data[i]);
  return new Uint8Array(halves.buffer);
}

/**
 * Builds a GGUF v3 file: metadata, tensor directory, then each tensor's data at a
 * multiple of `general.alignment` (32 unless the metadata sets it), as llama.cpp lays it out.
 */
export function writeGguf(input: GgufInput): Uint8Array {
  const alignmentValue = input.metadata['general.alignment'];
  const alignment = alignmentValue ? Number(alignmentValue.value) : 32;
  const w = new ByteWriter();
  w.bytes(new TextEncoder().encode('GGUF'));
  w.u32(3);
  w.u64(input.tensors.length);
  const entries = Object.entries(input.metadata);
  w.u64(entries.length);
  for (const [key, value] of entries) {
    w.scalar('string', key);
    w.u32(typeIds[value.type]);
    if (value.type === 'array') w.array(value);
    else w.scalar(value.type, value.value);
  }

  const data = input.tensors.map(encodeTensor);
  let offset = 0;
  input.tensors.forEach((t, i) => {
    w.scalar('string', t.name);
    w.u32(t.shape.length);
    for (const d of t.shape.slice().reverse()) w.u64(d);
    w.u32(ggmlTypeId(t.dtype)!);
    w.u64(offset);
    offset += Math.ceil(data[i].length / alignment) * alignment;
  });
  for (const bytes of data) {
    w.padTo(alignment);
    w.bytes(bytes);
  }
  return w.result();
}
