import type { Gpu } from './device.ts';

/** A storage buffer whose size is rounded up to 4 bytes, as writeBuffer requires. */
export function createStorage(gpu: Gpu, label: string, byteLength: number): GPUBuffer {
  // GPUBufferUsage is read at call time: in Node it exists only once Dawn's globals are installed.
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  return gpu.device.createBuffer({ label, size: Math.max(4, Math.ceil(byteLength / 4) * 4), usage });
}

export function uploadF32(gpu: Gpu, label: string, data: Float32Array): GPUBuffer {
  const buffer = createStorage(gpu, label, data.byteLength);
  gpu.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

export function uploadU32(gpu: Gpu, label: string, data: Uint32Array): GPUBuffer {
  const buffer = createStorage(gpu, label, data.byteLength);
  gpu.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/** Copies `byteLength` bytes of `source` from `offset` back to the CPU. */
export async function readBuffer(gpu: Gpu, source: GPUBuffer, byteLength = source.size, offset = 0): Promise<ArrayBuffer> {
  const size = Math.ceil(byteLength / 4) * 4;
  const staging = gpu.device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = gpu.device.createCommandEncoder({ label: 'readback' });
  encoder.copyBufferToBuffer(source, offset, staging, 0, size);
  gpu.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const copy = staging.getMappedRange().slice(0, byteLength);
  staging.destroy();
  return copy;
}

export async function readF32(gpu: Gpu, source: GPUBuffer, count?: number, offsetElements = 0): Promise<Float32Array> {
  const n = count ?? source.size / 4 - offsetElements;
  return new Float32Array(await readBuffer(gpu, source, n * 4, offsetElements * 4));
}

export async function readU32(gpu: Gpu, source: GPUBuffer, count?: number): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(gpu, source, (count ?? source.size / 4) * 4));
}
