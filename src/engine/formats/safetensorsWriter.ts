import { f32ToBf16, f32ToF16, type DType } from './dtype.ts';

export interface SafetensorsTensorInput {
  name: string;
  dtype: DType;
  /** Row-major, outermost first. */
  shape: number[];
  data: Float32Array;
}

function encode(t: SafetensorsTensorInput): Uint8Array {
  const count = t.shape.reduce((n, d) => n * d, 1);
  if (t.data.length !== count) {
    throw new RangeError(`writeSafetensors: tensor '${t.name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  }
  if (t.dtype === 'F32') return new Uint8Array(t.data.slice().buffer);
  const round = t.dtype === 'F16' ? f32ToF16 : f32ToBf16;
  const halves = new Uint16Array(count);
  for (let i = 0; i < count; i++) halves[i] = round(t.data[i]);
  return new Uint8Array(halves.buffer);
}

/**
 * Builds a .safetensors file: u64 header length, JSON header, then the tensors back to
 * back in the given order. The header is padded with spaces to a multiple of 8 so the
 * data starts aligned, as the reference writer does.
 */
export function writeSafetensors(tensors: SafetensorsTensorInput[], metadata?: Record<string, string>): Uint8Array {
  const data = tensors.map(encode);
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  tensors.forEach((t, i) => {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + data[i].length] };
    offset += data[i].length;
  });
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const bytes of data) {
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}
