// npx tsx scripts/benchF16.ts [--full] [--system]
//
// The f16-arithmetic matmuls (src/gpu/kernels/matmulF16.ts) against the f32 ones they replace
// (matmul_packed.wgsl) on the same F16 and BF16 weights and shapes: the decode GEMV (M = 1) and
// the prefill GEMM (M = 128) at the layer shapes of src/bench/plan.ts. Runs in Node on Dawn, on
// lavapipe from scripts/lavapipe.sh by default (the software driver that has shader-f16), or on
// the machine's own Vulkan drivers with --system. Prints a markdown table (docs/bench.md).
//   --full    every model shape and more samples
//   --system  the machine's drivers (a real GPU) instead of lavapipe
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';
import { create, globals } from 'webgpu';
import type * as Buffers from '../src/gpu/buffers.ts';
import type * as Device from '../src/gpu/device.ts';
import type { KernelOp } from '../src/gpu/kernel.ts';
import type { MatmulDyn } from '../src/gpu/kernels/gemm.ts';
import type * as GemmPacked from '../src/gpu/kernels/gemmPacked.ts';
import type * as GemvPacked from '../src/gpu/kernels/gemvPacked.ts';
import type * as MatmulF16 from '../src/gpu/kernels/matmulF16.ts';
import type * as PackedWeights from '../src/gpu/kernels/packedWeights.ts';
import type * as PipelinesModule from '../src/gpu/pipelines.ts';
import type * as Plan from '../src/bench/plan.ts';
import type * as Timing from '../src/bench/timing.ts';
import type * as Quant from '../src/engine/formats/quant.ts';

const ROOT = resolve(import.meta.dirname, '..');
const LAVAPIPE_ICD = join(ROOT, '.cache', 'lavapipe', 'icd.json');
/** Prompt rows of the prefill GEMM, as in the main suite. */
const PREFILL_ROWS = 128;

const { values } = parseArgs({ options: { full: { type: 'boolean', default: false }, system: { type: 'boolean', default: false } } });

/** Dawn on lavapipe (or the system's drivers), with shader-f16, and timestamp queries where the adapter has them. */
async function openDevice(Pipelines: typeof PipelinesModule, { describeAdapter, isSoftwareAdapter }: typeof Device): Promise<{ gpu: Device.Gpu; instance: GPU; timestamps: boolean }> {
  Object.assign(globalThis, globals);
  if (!values.system) {
    if (!existsSync(LAVAPIPE_ICD)) throw new Error(`${LAVAPIPE_ICD} is missing: run scripts/lavapipe.sh first (or pass --system)`);
    process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
  }
  const instance = create([]);
  const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('Dawn found no adapter');
  if (!adapter.features.has('shader-f16')) throw new Error(`${adapter.info.description}: no shader-f16, so there is no f16 path to measure`);
  const timestamps = adapter.features.has('timestamp-query');
  const requiredLimits: Record<string, number> = {};
  for (const key of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize'] as const) requiredLimits[key] = adapter.limits[key];
  const requiredFeatures: GPUFeatureName[] = ['shader-f16', ...(timestamps ? (['timestamp-query'] as const) : [])];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const gpu: Device.Gpu = {
    device,
    pipelines: new Pipelines.PipelineCache(device),
    adapterName: describeAdapter(adapter.info),
    software: isSoftwareAdapter(adapter.info),
    lost: device.lost,
  };
  // The instance is returned so the caller holds it: Dawn crashes polling one whose JS object was collected.
  return { gpu, instance, timestamps };
}

async function main(): Promise<void> {
  // Vite loads the kernels as the app does (their WGSL comes in through `?raw` imports).
  const vite = await createServer({ configFile: false, root: ROOT, logLevel: 'warn', appType: 'custom', server: { middlewareMode: true, hmr: false } });
  try {
    const load = <T>(path: string) => vite.ssrLoadModule(path) as Promise<T>;
    const buffers = await load<typeof Buffers>('/src/gpu/buffers.ts');
    const pipelines = await load<typeof PipelinesModule>('/src/gpu/pipelines.ts');
    const f16 = await load<typeof MatmulF16>('/src/gpu/kernels/matmulF16.ts');
    const { createPackedGemv } = await load<typeof GemvPacked>('/src/gpu/kernels/gemvPacked.ts');
    const { createPackedGemm } = await load<typeof GemmPacked>('/src/gpu/kernels/gemmPacked.ts');
    const { uploadPackedWeight } = await load<typeof PackedWeights>('/src/gpu/kernels/packedWeights.ts');
    const { MODEL_SHAPES } = await load<typeof Plan>('/src/bench/plan.ts');
    const { median, PassTimer } = await load<typeof Timing>('/src/bench/timing.ts');
    const { quantizeRow } = await load<typeof Quant>('/src/engine/formats/quant.ts');

    const { gpu, instance, timestamps } = await openDevice(pipelines, await load<typeof Device>('/src/gpu/device.ts'));
    const timer = new PassTimer(gpu, timestamps);
    const plan = { warmup: 1, samples: 1, targetMs: values.full ? 50 : 30, maxReps: values.full ? 256 : 32 };
    // A prefill GEMM call lasts seconds on a CPU driver: its calibrating run is its warm-up.
    const gemmPlan = { ...plan, warmup: 0 };
    const rounds = values.full ? 15 : 5;
    const shapes = values.full ? MODEL_SHAPES : MODEL_SHAPES.slice(0, 2);
    console.log(`adapter: ${gpu.adapterName}; timing: ${timer.timingMethod === 'timestamp' ? 'timestamp queries' : 'wall clock'}; median of ${rounds} alternating samples`);

    const rows: string[] = [];
    for (const shape of shapes) {
      for (const [K, N] of [
        [shape.hiddenSize, shape.intermediateSize],
        [shape.intermediateSize, shape.hiddenSize],
      ]) {
        for (const type of ['F16', 'BF16'] as const) {
          // Uniform with the 1/√K spread of a trained layer; the values do not change the speed.
          const a = Math.sqrt(3 / K);
          const w = Float32Array.from({ length: N * K }, () => (Math.random() * 2 - 1) * a);
          const wb = uploadPackedWeight(gpu, 'w', type, quantizeRow(type, w), N, K);
          for (const kernel of ['gemv', 'gemm'] as const) {
            const M = kernel === 'gemv' ? 1 : PREFILL_ROWS;
            const xb = buffers.uploadF32(gpu, 'x', Float32Array.from({ length: M * K }, () => Math.random() * 2 - 1));
            const yb = buffers.createStorage(gpu, 'y', M * N * 4);
            const o = { x: xb, w: wb, y: yb, K, N, type };
            const ops = [
              kernel === 'gemv' ? createPackedGemv(gpu, o) : createPackedGemm(gpu, o),
              kernel === 'gemv' ? f16.createF16Gemv(gpu, o) : f16.createF16Gemm(gpu, o),
            ];
            // The two kernels take turns, one sample each, so load from other processes on a
            // shared machine falls on both alike; each figure is the median of its samples.
            const samples: number[][] = [[], []];
            for (let round = 0; round < rounds; round++) {
              for (const [i, op] of ops.entries()) {
                samples[i].push((await timer.measure(op.label, (pass) => op.encode(pass, { m: M }), kernel === 'gemv' ? plan : gemmPlan)).ms);
              }
            }
            ops.forEach((op) => op.destroy());
            const [f32Ms, f16Ms] = samples.map(median);
            // GB/s for the GEMV (weight bytes plus x and y), GFLOP/s for the GEMM.
            const rate = (ms: number) =>
              kernel === 'gemv' ? `${((N * K * 2 + (K + N) * 4) / ms / 1e6).toFixed(2)} GB/s` : `${((2 * M * N * K) / ms / 1e6).toFixed(2)} GFLOP/s`;
            const row = `| ${shape.model} ${K}→${N} | ${kernel} M=${M} | ${type} | ${f32Ms.toPrecision(3)} (${rate(f32Ms)}) | ${f16Ms.toPrecision(3)} (${rate(f16Ms)}) | ${(f32Ms / f16Ms).toFixed(2)}× |`;
            console.log(row);
            rows.push(row);
            xb.destroy();
            yb.destroy();
          }
          wb.destroy();
        }
      }
    }
    console.log(`\n#### f16 vs f32 matmuls — ${gpu.adapterName}\n`);
    console.log('| shape K→N | kernel | weights | f32 math ms | f16 math ms | f16 speed-up |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const row of rows) console.log(row);
    timer.destroy();
    gpu.device.destroy();
    void instance;
  } finally {
    await vite.close();
  }
}

await main();
