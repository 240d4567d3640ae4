import { CorruptFileError, type PocketHubError, UnsupportedDtypeError } from '../../protocol/errors.ts';
import type { ByteSource, TensorInfo } from './source.ts';

/** Numeric arrays come back as number[]; u64/i64 are numbers when safe, else bigint. */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufFile {
  version: 2 | 3;
  metadata: Record<string, GgufValue>;
  tensors: TensorInfo[];
  alignment: number;
  /** Absolute position of the tensor data section; tensor offsets already include it. */
  dataOffset: number;
}

/** Metadata value type ids of the GGUF spec. */
export const GgufType = {
  U8: 0,
  I8: 1,
  U16: 2,
  I16: 3,
  U32: 4,
  I32: 5,
  F32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  U64: 10,
  I64: 11,
  F64: 12,
} as const;

/** ggml tensor types: name, elements per block and bytes per block (ggml.c's type_traits). */
interface GgmlType {
  name: string;
  blockSize: number;
  typeSize: number;
}

const ggmlTypes = new Map<number, GgmlType>(
  (
    [
      [0, 'F32', 1, 4],
      [1, 'F16', 1, 2],
      [2, 'Q4_0', 32, 18],
      [3, 'Q4_1', 32, 20],
      [6, 'Q5_0', 32, 22],
      [7, 'Q5_1', 32, 24],
      [8, 'Q8_0', 32, 34],
      [9, 'Q8_1', 32, 36],
      [10, 'Q2_K', 256, 84],
      [11, 'Q3_K', 256, 110],
      [12, 'Q4_K', 256, 144],
      [13, 'Q5_K', 256, 176],
      [14, 'Q6_K', 256, 210],
      [15, 'Q8_K', 256, 292],
      [16, 'IQ2_XXS', 256, 66],
      [17, 'IQ2_XS', 256, 74],
      [18, 'IQ3_XXS', 256, 98],
      [19, 'IQ1_S', 256, 50],
      [20, 'IQ4_NL', 32, 18],
      [21, 'IQ3_S', 256, 110],
      [22, 'IQ2_S', 256, 82],
      [23, 'IQ4_XS', 256, 136],
      [24, 'I8', 1, 1],
      [25, 'I16', 1, 2],
      [26, 'I32', 1, 4],
      [27, 'I64', 1, 8],
      [28, 'F64', 1, 8],
      [29, 'IQ1_M', 256, 56],
      [30, 'BF16', 1, 2],
      [34, 'TQ1_0', 256, 54],
      [35, 'TQ2_0', 256, 66],
      [39, 'MXFP4', 32, 17],
    ] as const
  ).map(([id, name, blockSize, typeSize]) => [id, { name, blockSize, typeSize }]),
);

/** Ids ggml once used and dropped; files holding them predate every model we can run. */
const removedGgmlTypes = new Map<number, string>([
  [4, 'Q4_2'],
  [5, 'Q4_3'],
  [31, 'Q4_0_4_4'],
  [32, 'Q4_0_4_8'],
  [33, 'Q4_0_8_8'],
  [36, 'IQ4_NL_4_4'],
  [37, 'IQ4_NL_4_8'],
  [38, 'IQ4_NL_8_8'],
]);

/** The ggml type name of an id, e.g. 12 -> 'Q4_K'; undefined for ids ggml never had. */
export function ggmlTypeName(id: number): string | undefined {
  return ggmlTypes.get(id)?.name ?? removedGgmlTypes.get(id);
}

/** The ggml type id of a name, for writers. */
export function ggmlTypeId(name: string): number | undefined {
  for (const [id, t] of ggmlTypes) if (t.name === name) return id;
  return undefined;
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const DEFAULT_ALIGNMENT = 32;
const FIRST_READ = 1 << 20;
// ggml tensors have at most four dimensions (GGML_MAX_DIMS).
const MAX_DIMS = 4;
const MAX_ARRAY_DEPTH = 8;
// The fewest bytes one item can occupy, used to reject counts the file cannot hold
// before allocating anything: a key/value is a string length, a type and one byte;
// a tensor info is a name length, n_dims, a type and an offset.
const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
// Per value type: the exact size of a number or bool, the length prefix of a string,
// the item type and count of an array.
const minValueBytes: Record<number, number> = {
  [GgufType.U8]: 1,
  [GgufType.I8]: 1,
  [GgufType.U16]: 2,
  [GgufType.I16]: 2,
  [GgufType.U32]: 4,
  [GgufType.I32]: 4,
  [GgufType.F32]: 4,
  [GgufType.BOOL]: 1,
  [GgufType.STRING]: 8,
  [GgufType.ARRAY]: 4 + 8,
  [GgufType.U64]: 8,
  [GgufType.I64]: 8,
  [GgufType.F64]: 8,
};

/** Thrown by the parser when the header runs past the bytes read so far. */
class NeedMoreBytes {
  constructor(readonly end: number) {}
}

const utf8 = new TextDecoder('utf-8');

/**
 * A cursor over the first `bytes.length` bytes of the file. It never touches the
 * source itself: when it runs out it throws NeedMoreBytes and the caller reads more
 * and parses again, which keeps every primitive read synchronous and cheap.
 */
class HeaderCursor {
  pos = 0;
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly fileName: string,
    private readonly fileSize: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  corrupt(what: string): PocketHubError {
    return new CorruptFileError(`${this.fileName}: ${what} (at byte ${this.pos})`);
  }

  private need(n: number, what: string): void {
    const end = this.pos + n;
    if (end > this.fileSize) {
      throw this.corrupt(`truncated: ${what} needs ${n} bytes but the file ends at ${this.fileSize}`);
    }
    if (end > this.bytes.length) throw new NeedMoreBytes(end);
  }

  /** Rejects `count` items of at least `minBytes` each when the rest of the file cannot hold them. */
  checkCount(count: number, minBytes: number, what: string): void {
    if (count * minBytes > this.fileSize - this.pos) {
      throw this.corrupt(`truncated: ${what} count ${count} does not fit in the ${this.fileSize - this.pos} bytes left`);
    }
  }

  u8(): number {
    this.need(1, 'a u8');
    return this.view.getUint8(this.pos++);
  }
  u32(what = 'a u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** A u64 that is a length, count or offset: it must fit a JS number exactly. */
  size(what: string): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.corrupt(`${what} ${v} is impossibly large`);
    this.pos += 8;
    return Number(v);
  }
  string(what = 'a string'): string {
    const length = this.size(`${what} length`);
    this.need(length, what);
    const s = utf8.decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return s;
  }

  value(type: number, depth = 0): GgufValue {
    const v = this.view;
    const p = this.pos;
    switch (type) {
      case GgufType.STRING:
        return this.string();
      case GgufType.ARRAY:
        return this.array(depth + 1);
      case GgufType.BOOL:
        return this.u8() !== 0;
    }
    const n = minValueBytes[type];
    if (n === undefined) throw this.corrupt(`unknown metadata value type ${type}`);
    this.need(n, 'a metadata value');
    this.pos += n;
    switch (type) {
      case GgufType.U8:
        return v.getUint8(p);
      case GgufType.I8:
        return v.getInt8(p);
      case GgufType.U16:
        return v.getUint16(p, true);
      case GgufType.I16:
        return v.getInt16(p, true);
      case GgufType.U32:
        return v.getUint32(p, true);
      case GgufType.I32:
        return v.getInt32(p, true);
      case GgufType.F32:
        return v.getFloat32(p, true);
      case GgufType.F64:
        return v.getFloat64(p, true);
      case GgufType.U64:
        return safeNumber(v.getBigUint64(p, true));
      default:
        return safeNumber(v.getBigInt64(p, true));
    }
  }

  array(depth: number): GgufValue[] {
    // Real files nest arrays at most once; a deep chain is a crafted file that would overflow the stack.
    if (depth > MAX_ARRAY_DEPTH) throw this.corrupt(`arrays nested more than ${MAX_ARRAY_DEPTH} deep`);
    const itemType = this.u32('an array item type');
    const minBytes = minValueBytes[itemType];
    if (minBytes === undefined) throw this.corrupt(`unknown array item type ${itemType}`);
    const count = this.size('an array count');
    this.checkCount(count, minBytes, 'array');
    const out: GgufValue[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = this.value(itemType, depth);
    return out;
  }
}

function safeNumber(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

interface RawTensor {
  name: string;
  ne: number[];
  type: number;
  offset: number;
}

interface Header {
  version: 2 | 3;
  metadata: Record<string, GgufValue>;
  raw: RawTensor[];
  end: number;
}

function parseHeader(c: HeaderCursor): Header {
  if (c.u32('the magic') !== MAGIC) throw c.corrupt('not a GGUF file (bad magic)');
  const version = c.u32('the version');
  if (version !== 2 && version !== 3) {
    // v1 used 32-bit counts; a byte-swapped (big-endian) file shows up as a huge version.
    throw c.corrupt(`unsupported GGUF version ${version}; only versions 2 and 3 (little-endian) are read`);
  }
  const tensorCount = c.size('the tensor count');
  const kvCount = c.size('the metadata count');
  c.checkCount(kvCount, MIN_KV_BYTES, 'metadata');
  const metadata: Record<string, GgufValue> = Object.create(null);
  for (let i = 0; i < kvCount; i++) {
    const key = c.string('a metadata key');
    if (key in metadata) throw c.corrupt(`duplicate metadata key '${key}'`);
    metadata[key] = c.value(c.u32('a metadata value type'));
  }
  c.checkCount(tensorCount, MIN_TENSOR_INFO_BYTES, 'tensor');
  const raw: RawTensor[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string('a tensor name');
    const dims = c.u32('a tensor rank');
    if (dims > MAX_DIMS) throw c.corrupt(`tensor '${name}' has ${dims} dimensions; ggml allows at most ${MAX_DIMS}`);
    const ne: number[] = [];
    for (let d = 0; d < dims; d++) ne.push(c.size(`dimension ${d} of tensor '${name}'`));
    const type = c.u32('a tensor type');
    const offset = c.size(`the offset of tensor '${name}'`);
    raw.push({ name, ne, type, offset });
  }
  return { version, metadata, raw, end: c.pos };
}

function tensorByteLength(fileName: string, t: RawTensor): number {
  const type = ggmlTypes.get(t.type);
  if (!type) {
    const removed = removedGgmlTypes.get(t.type);
    throw new UnsupportedDtypeError(
      removed
        ? `${fileName}: tensor '${t.name}' uses ggml type ${removed} (${t.type}), which ggml no longer supports`
        : `${fileName}: tensor '${t.name}' has unknown ggml type id ${t.type}`,
    );
  }
  const rowLength = t.ne[0] ?? 1;
  if (rowLength % type.blockSize !== 0) {
    throw new CorruptFileError(
      `${fileName}: tensor '${t.name}' rows of ${rowLength} elements are not whole ${type.name} blocks of ${type.blockSize}`,
    );
  }
  const rows = t.ne.slice(1).reduce((n, d) => n * d, 1);
  return (rowLength / type.blockSize) * type.typeSize * rows;
}

/**
 * Reads a GGUF header (metadata and tensor directory) without loading tensor data.
 * The header is read in growing chunks from the start of the file, so only as much
 * as the header needs is ever fetched. `firstRead` trades requests for bytes: range requests
 * over a network (model pages) start small, local reads start at 1 MiB.
 */
export async function readGguf(source: ByteSource, firstRead = FIRST_READ): Promise<GgufFile> {
  const name = source.name;
  let bytes = await source.read(0, Math.min(firstRead, source.size));
  let header: Header;
  for (;;) {
    try {
      header = parseHeader(new HeaderCursor(bytes, name, source.size));
      break;
    } catch (err) {
      if (!(err instanceof NeedMoreBytes)) throw err;
      const want = Math.min(source.size, Math.max(err.end, bytes.length * 2));
      const grown = new Uint8Array(want);
      grown.set(bytes);
      grown.set(await source.read(bytes.length, want - bytes.length), bytes.length);
      bytes = grown;
    }
  }

  const alignmentValue = header.metadata['general.alignment'] ?? DEFAULT_ALIGNMENT;
  if (typeof alignmentValue !== 'number' || alignmentValue <= 0 || (alignmentValue & (alignmentValue - 1)) !== 0) {
    throw new CorruptFileError(`${name}: general.alignment ${String(alignmentValue)} is not a power of two`);
  }
  const alignment = alignmentValue;
  const dataOffset = Math.ceil(header.end / alignment) * alignment;

  const seen = new Set<string>();
  const tensors: TensorInfo[] = header.raw.map((t) => {
    if (seen.has(t.name)) throw new CorruptFileError(`${name}: tensor '${t.name}' appears twice`);
    seen.add(t.name);
    const byteLength = tensorByteLength(name, t);
    const offset = dataOffset + t.offset;
    if (offset + byteLength > source.size) {
      throw new CorruptFileError(
        `${name}: tensor '${t.name}' data (bytes ${offset}..${offset + byteLength}) lies past the end of the file (${source.size} bytes)`,
      );
    }
    return {
      name: t.name,
      dtype: ggmlTypeName(t.type)!,
      shape: t.ne.slice().reverse(),
      source,
      offset,
      byteLength,
    };
  });
  return { version: header.version, metadata: header.metadata, tensors, alignment, dataOffset };
}
