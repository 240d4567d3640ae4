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
  /** The cache holds f32 and rows are copied unrounded (V of a ring layer with an f32 cache). */
  f32?: boolean;
  /** The cache is a ring of this many rows (a sliding-window layer's): row r goes to row r % ringRows. */
  ringRows?: number;
  label?: string;
}

export interface KvStoreDyn {
  m: number;
  /** Cache row that row 0 of x goes to (the position of the first token). */
  rowOffset: number;
}

/** Writes rows 0 .. m−1 of x, rounded to f16 (or as they are), into cache rows rowOffset .. rowOffset+m−1. */
export function createKvStore(gpu: Gpu, options: KvStoreOptions): KernelOp<KvStoreDyn> {
  const { x, cache, width, f32 = false, ringRows = 0 } = options;
  const key = f32 ? 'kv_store_f32' : 'kv_store_f16';
  const label = options.label ?? key;
  if (!Number.isInteger(width) || width <= 0 || width % 2 !== 0) {
    throw new RangeError(`${label}: width ${width} must be a positive even integer`);
  }
  if (options.ringRows !== undefined && !(Number.isInteger(ringRows) && ringRows >= 1)) {
    throw new RangeError(`${label}: ringRows ${options.ringRows} must be a positive integer`);
  }
  const pipeline = gpu.pipelines.get({ key, code, ...(f32 ? { constants: { F32: 1 } } : {}) });
  const params = new Params(gpu.device, { count: 'u32', offset: 'u32', ringWords: 'u32' }, `${label}_params`);
  const bindGroup = bindBuffers(gpu.device, pipeline, label, [params.buffer, x, cache]);
  const wordsPerRow = f32 ? width : width / 2;
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;

  return {
    label,
    encode(pass, { m, rowOffset }) {
      if (!Number.isInteger(m) || !Number.isInteger(rowOffset) || m < 1 || rowOffset < 0) {
        throw new RangeError(`${label}: m ${m} and rowOffset ${rowOffset} must be integers, m ≥ 1 and rowOffset ≥ 0`);
      }
      // A ring's rows must all exist, and a block no longer than it writes each row once.
      const cacheRows = ringRows > 0 ? (m <= ringRows ? ringRows : Infinity) : rowOffset + m;
      if (m * width * 4 > x.size || cacheRows * wordsPerRow * 4 > cache.size) {
        throw new RangeError(`${label}: ${m} rows at row ${rowOffset} do not fit the bound buffers`);
      }
      const count = (m * width) / 2;
      // In a ring only the row's place in it matters, which also keeps the shader's indices small.
      const firstRow = ringRows > 0 ? rowOffset % ringRows : rowOffset;
      params.write({ count, offset: firstRow * wordsPerRow, ringWords: ringRows * wordsPerRow });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, Math.ceil(count / WORKGROUP), maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}
