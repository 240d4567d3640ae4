import type { Gpu } from '../gpu/device.ts';

/** Host-side work a model asks of the device, counted call by call. */
export interface GpuCounters {
  dispatches: number;
  commandBuffers: number;
  submits: number;
  writeBuffers: number;
}

/**
 * Wraps `target` so that calls made through the wrapper land on the real object: WebGPU
 * methods check their receiver, so every function is bound to the target, and `override`
 * replaces the members that count.
 */
function wrap<T extends object>(target: T, override: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(t, p) {
      if (Object.hasOwn(override, p)) return override[p as keyof T];
      const v = Reflect.get(t, p);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

/**
 * The same device seen through counters: dispatches recorded in compute passes, command
 * buffers and submissions handed to the queue, and queued buffer writes (each kernel's
 * uniform update is one). Pipelines still come from the real device's cache.
 */
export function countingGpu(gpu: Gpu): { gpu: Gpu; counters: GpuCounters; reset(): void } {
  const counters: GpuCounters = { dispatches: 0, commandBuffers: 0, submits: 0, writeBuffers: 0 };
  const real = gpu.device;
  const countPass = (pass: GPUComputePassEncoder) =>
    wrap(pass, {
      dispatchWorkgroups: (x: number, y?: number, z?: number) => {
        counters.dispatches++;
        pass.dispatchWorkgroups(x, y, z);
      },
      dispatchWorkgroupsIndirect: (buffer: GPUBuffer, offset: number) => {
        counters.dispatches++;
        pass.dispatchWorkgroupsIndirect(buffer, offset);
      },
    });
  const countEncoder = (encoder: GPUCommandEncoder) =>
    wrap(encoder, { beginComputePass: (d?: GPUComputePassDescriptor) => countPass(encoder.beginComputePass(d)) });
  const queue = wrap(real.queue, {
    submit: (buffers: Iterable<GPUCommandBuffer>) => {
      const list = [...buffers];
      counters.submits++;
      counters.commandBuffers += list.length;
      real.queue.submit(list);
    },
    writeBuffer: (...args: Parameters<GPUQueue['writeBuffer']>) => {
      counters.writeBuffers++;
      real.queue.writeBuffer(...args);
    },
  });
  const device = wrap(real, {
    queue,
    createCommandEncoder: (d?: GPUCommandEncoderDescriptor) => countEncoder(real.createCommandEncoder(d)),
  });
  const reset = () => {
    counters.dispatches = counters.commandBuffers = counters.submits = counters.writeBuffers = 0;
  };
  return { gpu: { ...gpu, device }, counters, reset };
}
