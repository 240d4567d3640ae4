import code from '../../shaders/copy.wgsl?raw';
import { createStorage } from '../gpu/buffers.ts';
import type { Gpu } from '../gpu/device.ts';
import { bindBuffers, dispatch1d } from '../gpu/kernel.ts';
import { Params } from '../gpu/params.ts';
import { median, type PassTimer, type SamplePlan } from './timing.ts';
import type { CopyResult } from './types.ts';

const WG = 256;

/**
 * The copy kernel's bandwidth over `bytes` (trimmed to a whole number of vec4s and to the
 * device's binding limit), and the driver's copyBufferToBuffer over the same buffers. The
 * buffers are far larger than any GPU cache, so both measure memory, not cache.
 */
export async function measureCopy(gpu: Gpu, timer: PassTimer, bytes: number, plan: SamplePlan): Promise<CopyResult> {
  const { device } = gpu;
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const size = Math.floor(Math.min(bytes, limit) / 16) * 16;
  const src = createStorage(gpu, 'copy src', size);
  const dst = createStorage(gpu, 'copy dst', size);
  // Non-zero contents, so no driver or memory compression can take a shortcut on a cleared buffer.
  const fill = new Float32Array(Math.min(size, 2 ** 22) / 4).map((_, i) => i * 0.5 + 1);
  for (let at = 0; at < size; at += fill.byteLength) device.queue.writeBuffer(src, at, fill, 0, Math.min(fill.length, (size - at) / 4));
  const count = size / 16;
  const key = `copy_vec4_wg${WG}`;
  const pipeline = gpu.pipelines.get({ key, code, constants: { WG } });
  const params = new Params(device, { count: 'u32' }, `${key} params`);
  params.write({ count });
  const bindGroup = bindBuffers(device, pipeline, key, [src, dst, params.buffer]);
  const workgroups = Math.ceil(count / WG);
  try {
    const timing = await timer.measure(
      key,
      (pass) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        dispatch1d(pass, workgroups, device.limits.maxComputeWorkgroupsPerDimension);
      },
      plan,
    );
    const bufferMs = await timeBufferCopy(gpu, src, dst, size, plan);
    return { bytes: size, timing, gbps: (2 * size) / (timing.ms * 1e6), copyBufferGbps: (2 * size) / (bufferMs * 1e6) };
  } finally {
    params.destroy();
    src.destroy();
    dst.destroy();
  }
}

/** copyBufferToBuffer has no pass to stamp, so it is timed on the wall clock, several copies per submission. */
async function timeBufferCopy(gpu: Gpu, src: GPUBuffer, dst: GPUBuffer, size: number, plan: SamplePlan): Promise<number> {
  const { device } = gpu;
  const run = async (n: number) => {
    const encoder = device.createCommandEncoder({ label: 'copyBufferToBuffer' });
    for (let i = 0; i < n; i++) encoder.copyBufferToBuffer(src, 0, dst, 0, size);
    const started = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - started) / n;
  };
  const once = await run(1);
  const n = Math.max(1, Math.min(plan.maxReps, Math.ceil(plan.targetMs / Math.max(once, 1e-3))));
  for (let i = 0; i < plan.warmup; i++) await run(n);
  const times: number[] = [];
  for (let i = 0; i < plan.samples; i++) times.push(await run(n));
  return median(times);
}
