import { CorruptFileError, UnsupportedDtypeError } from '../../protocol/errors.ts';
import { elementCount } from './dtype.ts';
import type { ByteSource, TensorInfo } from './source.ts';

/** Bytes per element of every safetensors dtype (the spec's Dtype enum, sub-byte floats aside). */
const elementBytes: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
  C64: 8,
};

// The reference implementation refuses headers above 100 MB; a larger length means a
// damaged file, and refusing it avoids allocating whatever the length field claims.
const MAX_HEADER_BYTES = 100_000_000;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses the JSON header of one .safetensors file; tensor data stays in the source. */
export async function readSafetensors(
  source: ByteSource,
): Promise<{ tensors: TensorInfo[]; metadata: Record<string, string> }> {
  const name = source.name;
  const corrupt = (what: string) => new CorruptFileError(`${name}: ${what}`);
  if (source.size < 8) throw corrupt(`truncated: ${source.size} bytes cannot hold the 8-byte header length`);
  const lengthBytes = await source.read(0, 8);
  const headerLength = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw corrupt(`header length ${headerLength} exceeds the 100 MB limit`);
  const dataStart = 8 + Number(headerLength);
  if (dataStart > source.size) {
    throw corrupt(`truncated: the header claims ${headerLength} bytes but the file has ${source.size}`);
  }

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, Number(headerLength))));
  } catch (err) {
    throw corrupt(`the header is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(header)) throw corrupt('the header is not a JSON object');

  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  const dataLength = source.size - dataStart;
  for (const [key, entry] of Object.entries(header)) {
    if (key === '__metadata__') {
      if (!isObject(entry)) throw corrupt('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw corrupt(`__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor '${key}'`;
    if (!isObject(entry)) throw corrupt(`${where} is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string') throw corrupt(`${where} has no dtype`);
    const size = elementBytes[dtype];
    if (size === undefined) throw new UnsupportedDtypeError(`${name}: ${where} has unknown dtype ${dtype}`);
    if (!Array.isArray(shape) || !shape.every(isCount)) throw corrupt(`${where} has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      throw corrupt(`${where} has invalid data_offsets`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength) {
      throw corrupt(`${where} data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`);
    }
    const expected = elementCount(shape) * size;
    if (end - begin !== expected) {
      throw corrupt(`${where} spans ${end - begin} bytes but ${dtype}[${shape.join(', ')}] needs ${expected}`);
    }
    tensors.push({ name: key, dtype, shape: shape.slice(), source, offset: dataStart + begin, byteLength: expected });
  }
  return { tensors, metadata };
}

/**
 * Reads the tensors of a sharded checkpoint from its `model.safetensors.index.json`.
 * Each shard is opened and parsed once; the result lists the tensors in weight_map order.
 */
export async function readShardedSafetensors(
  indexJson: unknown,
  open: (file: string) => Promise<ByteSource>,
): Promise<TensorInfo[]> {
  const indexName = 'model.safetensors.index.json';
  const weightMap = isObject(indexJson) ? indexJson.weight_map : undefined;
  if (!isObject(weightMap)) throw new CorruptFileError(`${indexName}: no weight_map object`);
  const entries = Object.entries(weightMap);
  for (const [tensor, file] of entries) {
    if (typeof file !== 'string') throw new CorruptFileError(`${indexName}: weight_map['${tensor}'] is not a file name`);
  }

  const files = [...new Set(entries.map(([, file]) => file as string))];
  const shards = new Map(
    await Promise.all(
      files.map(async (file) => {
        const { tensors } = await readSafetensors(await open(file));
        return [file, new Map(tensors.map((t) => [t.name, t]))] as const;
      }),
    ),
  );
  return entries.map(([tensor, file]) => {
    const info = shards.get(file as string)!.get(tensor);
    if (!info) throw new CorruptFileError(`${file}: the index places tensor '${tensor}' in this shard, but it is not there`);
    return info;
  });
}
