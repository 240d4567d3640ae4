import f16Bits from '../../../shaders/f16_bits.wgsl?raw';
import kernelSource from '../../../shaders/kv_store.wgsl?raw';
import type { Gpu } from '../device.ts';
import { bindBuffers, dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

// WGSL has no includes: the kernel calls the shared f16 rounding, prepended here.
const code = f16Bits + kernelSource;

const WORKGROUP = 64; // matches WORKGROUP in kv_store.wgsl

export interface KvStoreOptions {
  /** [m, width] f32 rows: a V projection, or K of a model without RoPE. */
  x: GPUBuffer;
  /** [rows, width] packed f16: element e of row r in the 16-bit half (r·width + e) % 2 of word (r·width + e) / 2. */
  cache: GPUBuffer;
  /** Elements per row (kvHeads · headDim); even, so every row starts on a word. */
  width: number;
  label?: string;
}

export interface KvStoreDyn {
  m: number;
  /** Cache row that row 0 of x goes to (the position of the first token). */
  rowOffset: number;
}

/** Writes rows 0 .. m−1 of x, rounded to f16, into cache rows rowOffset .. rowOffset+m−1. */
export function createKvStore(gpu: Gpu, options: KvStoreOptions): KernelOp<KvStoreDyn> {
  const { x, cache, width } = options;
  const key = 'kv_store_f16';
  const label = options.label ?? key;
  if (!Number.isInteger(width) || width <= 0 || width % 2 !== 0) {
    throw new RangeError(`${label}: width ${width} must be a positive even integer`);
  }
  const pipeline = gpu.pipelines.get({ key, code });
  const params = new Params(gpu.device, { count: 'u32', offset: 'u32' }, `${label}_params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [params.buffer, x, cache]);
  const wordsPerRow = width / 2;
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;

  return {
    label,
    encode(pass, { m, rowOffset }) {
      if (!Number.isInteger(m) || !Number.isInteger(rowOffset) || m < 1 || rowOffset < 0) {
        throw new RangeError(`${label}: m ${m} and rowOffset ${rowOffset} must be integers, m ≥ 1 and rowOffset ≥ 0`);
      }
      if (m * width * 4 > x.size || (rowOffset + m) * wordsPerRow * 4 > cache.size) {
        throw new RangeError(`${label}: ${m} rows at row ${rowOffset} do not fit the bound buffers`);
      }
      const count = m * wordsPerRow;
      params.write({ count, offset: rowOffset * wordsPerRow });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, Math.ceil(count / WORKGROUP), maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}
