import f16Bits from '../../../shaders/f16_bits.wgsl?raw';
import kernelSource from '../../../shaders/elementwise.wgsl?raw';
import type { Gpu } from '../device.ts';
import { dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';
import { ggmlGeluTable } from './roundActivations.ts';

// WGSL has no includes: the kernel calls the shared f16 rounding, prepended here.
const code = f16Bits + kernelSource;

const WG = 256;

/** The entry points of elementwise.wgsl. */
type Entry = 'gelu' | 'gelu_inplace' | 'gelu_table' | 'gelu_table_inplace' | 'softcap' | 'scale';

interface ElementwiseSpec {
  entry: Entry;
  /** Bound read-only at binding 0; absent for the in-place entry points. */
  x?: GPUBuffer;
  /** Written at binding 1 (and read, in place). */
  out: GPUBuffer;
  /** Bound read-only at binding 3 by the gelu_table entry points. */
  table?: GPUBuffer;
  /** Elements per row: `encode({ m })` covers m·width elements. */
  width: number;
  value: number;
  label?: string;
}

function elementwise(gpu: Gpu, s: ElementwiseSpec): KernelOp<{ m: number }> {
  if (!Number.isInteger(s.width) || s.width <= 0) throw new RangeError(`${s.entry}: row width ${s.width} must be a positive integer`);
  const key = `${s.entry}_f32_wg${WG}`;
  const label = s.label ?? key;
  const pipeline = gpu.pipelines.get({ key, code, entryPoint: s.entry, constants: { WG } });
  const params = new Params(gpu.device, { count: 'u32', value: 'f32', invValue: 'f32' }, `${label} params`);
  const buffers: [number, GPUBuffer][] = [[1, s.out], [2, params.buffer]];
  if (s.x) buffers.unshift([0, s.x]);
  if (s.table) buffers.push([3, s.table]);
  const bindGroup = gpu.device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map(([binding, buffer]) => ({ binding, resource: { buffer } })),
  });
  const maxPerDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    label,
    encode(pass, { m }) {
      const count = m * s.width;
      if (count * 4 > s.out.size || (s.x && count * 4 > s.x.size)) throw new RangeError(`${label}: m=${m} rows exceed the bound buffers`);
      if (count === 0) return;
      params.write({ count, value: s.value, invValue: 1 / s.value });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      dispatch1d(pass, Math.ceil(count / WG), maxPerDim);
    },
    destroy() {
      params.destroy();
    },
  };
}

export interface GeluOptions {
  /** [rows, F] f32. */
  x: GPUBuffer;
  /** [rows, F] f32; may be `x` itself. */
  out: GPUBuffer;
  F: number;
  /**
   * GELU as llama.cpp's CPU backend computes it, through ggml's f16 table (see ggmlGeluTable):
   * 0 for x ≤ −10, x for x ≥ 10, else the table at fp16(x). Off by default.
   */
  f16Table?: boolean;
  label?: string;
}

/** out[j] = gelu_tanh(x[j]) for j < m·F: gpt2's ungated feed-forward activation. */
export function createGelu(gpu: Gpu, o: GeluOptions): KernelOp<{ m: number }> {
  const inPlace = o.x === o.out;
  const table = o.f16Table ? ggmlGeluTable(gpu) : undefined;
  const entry = `gelu${table ? '_table' : ''}${inPlace ? '_inplace' : ''}` as const;
  return elementwise(gpu, { entry, x: inPlace ? undefined : o.x, out: o.out, table, width: o.F, value: 1, label: o.label });
}

export interface SoftcapOptions {
  /** [rows, N] f32, capped in place. */
  x: GPUBuffer;
  cap: number;
  /** Elements per row; a whole buffer of `count` values is one row with N = count. */
  N: number;
  label?: string;
}

/** x[j] ← cap · tanh(x[j] / cap) for j < m·N: gemma2's final logit soft-capping. */
export function createSoftcap(gpu: Gpu, o: SoftcapOptions): KernelOp<{ m: number }> {
  if (!(o.cap > 0 && Number.isFinite(o.cap))) throw new RangeError(`softcap: cap ${o.cap} must be positive and finite`);
  return elementwise(gpu, { entry: 'softcap', out: o.x, width: o.N, value: o.cap, label: o.label });
}

export interface ScaleOptions {
  /** [rows, N] f32, scaled in place. */
  x: GPUBuffer;
  scale: number;
  N: number;
  label?: string;
}

/** x[j] ← x[j] · scale for j < m·N: gemma's √hidden embedding scale. */
export function createScale(gpu: Gpu, o: ScaleOptions): KernelOp<{ m: number }> {
  return elementwise(gpu, { entry: 'scale', out: o.x, width: o.N, value: o.scale, label: o.label });
}
