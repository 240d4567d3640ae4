// Helpers for GPU tests that run both in Chromium and in Node on Dawn.
import { createGpu, type Gpu } from '../src/gpu/device.ts';
import type { KernelOp } from '../src/gpu/kernel.ts';

let shared: Promise<Gpu> | undefined;

/** One device per test file; creating devices on SwiftShader is slow. */
export function testGpu(): Promise<Gpu> {
  shared ??= createGpu();
  return shared;
}

/**
 * The test device with kernels picking the shapes they take on a GPU (Gpu.software false), or on
 * a CPU implementation (true), whatever the adapter is: both shapes run, and a test that names a
 * variant gets that variant on SwiftShader and on a GPU alike.
 */
export async function shapedFor(target: 'gpu' | 'cpu'): Promise<Gpu> {
  return { ...(await testGpu()), software: target === 'cpu' };
}

/**
 * Runs `fn` inside validation and out-of-memory error scopes and fails if the
 * GPU reported anything, so a kernel that silently did nothing cannot pass.
 */
export async function withGpuErrors<T>(gpu: Gpu, fn: () => Promise<T>): Promise<T> {
  gpu.device.pushErrorScope('validation');
  gpu.device.pushErrorScope('out-of-memory');
  let result: T;
  try {
    result = await fn();
  } finally {
    const oom = await gpu.device.popErrorScope();
    const validation = await gpu.device.popErrorScope();
    const err = validation ?? oom;
    if (err) throw new Error(`GPU error: ${err.message}`);
  }
  return result;
}

/** Encodes one op in its own command buffer and submits it. */
export function runOp<D>(gpu: Gpu, op: KernelOp<D>, dyn: D): void {
  const encoder = gpu.device.createCommandEncoder({ label: op.label });
  const pass = encoder.beginComputePass({ label: op.label });
  op.encode(pass, dyn);
  pass.end();
  gpu.device.queue.submit([encoder.finish()]);
}

/**
 * The same device with a lower maxComputeWorkgroupsPerDimension, so tests reach the
 * multi-dimension dispatch path without launching 65536 workgroups on a CPU GPU.
 */
export function withDispatchLimit(gpu: Gpu, maxPerDim: number): Gpu {
  const limits = new Proxy(gpu.device.limits, {
    get: (t, p) => (p === 'maxComputeWorkgroupsPerDimension' ? maxPerDim : t[p as keyof GPUSupportedLimits]),
  });
  const device = new Proxy(gpu.device, {
    get: (t, p) => {
      if (p === 'limits') return limits;
      const v = t[p as keyof GPUDevice];
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { ...gpu, device };
}

/** Deterministic PRNG (mulberry32) so a failing random shape can be reproduced. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomF32(n: number, random: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 2 - 1) * scale;
  return out;
}

export interface Mismatch {
  count: number;
  maxAbs: number;
  maxRel: number;
  worstIndex: number;
  table: string;
}

/**
 * Compares `actual` with a float64 `expected` element-wise: an element matches when
 * |a − e| ≤ atol + rtol·|e|. Returns a readable table of the worst mismatches.
 */
export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): Mismatch {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ expected ${expected.length}`);
  const bad: { i: number; a: number; e: number; d: number }[] = [];
  let maxAbs = 0;
  let maxRel = 0;
  let worstIndex = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const d = Math.abs(a - e);
    if (!(d <= maxAbs)) {
      maxAbs = d;
      worstIndex = i;
    }
    if (e !== 0) maxRel = Math.max(maxRel, d / Math.abs(e));
    if (!(d <= atol + rtol * Math.abs(e))) bad.push({ i, a, e, d });
  }
  bad.sort((x, y) => y.d - x.d);
  const rows = bad.slice(0, 8).map((b) => `  [${b.i}] actual ${b.a} expected ${b.e} |diff| ${b.d.toExponential(2)}`);
  const table = bad.length
    ? `${bad.length}/${actual.length} mismatches (atol ${atol}, rtol ${rtol}); max |diff| ${maxAbs.toExponential(2)} at ${worstIndex}\n${rows.join('\n')}`
    : '';
  return { count: bad.length, maxAbs, maxRel, worstIndex, table };
}
