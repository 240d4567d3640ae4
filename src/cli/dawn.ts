import { WebGPUUnavailableError } from '../protocol/errors.ts';
import { isSoftwareAdapter } from '../gpu/device.ts';
import { paceDawnEvents } from './dawnEvents.ts';
import { describeMissingVulkan, findVulkanIcd, softwareVulkanIcd } from './vulkan.ts';

/**
 * WebGPU for Node through Dawn. The system's Vulkan drivers come first (a real GPU); when
 * none gives an adapter, Dawn runs on a software Vulkan (Chromium's SwiftShader or Mesa's
 * lavapipe), which we point the Vulkan loader at.
 */
export async function dawnGpu(): Promise<GPU> {
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (err) {
    throw new WebGPUUnavailableError(`Dawn for Node (npm "webgpu") could not load: ${(err as Error).message}`, describeMissingVulkan());
  }
  Object.assign(globalThis, webgpu.globals);
  const icd = findVulkanIcd();
  if (icd) process.env.VK_ICD_FILENAMES = icd;
  let gpu = webgpu.create([]);
  if (await opens(gpu)) return gpu;
  // The loader reads VK_ICD_FILENAMES whenever an instance is created, so a second Dawn
  // instance sees the software driver.
  const software = softwareVulkanIcd();
  if (!icd && software) {
    process.env.VK_ICD_FILENAMES = software;
    gpu = webgpu.create([]);
    if (await opens(gpu)) return gpu;
  }
  throw new WebGPUUnavailableError('Dawn found no WebGPU adapter.', describeMissingVulkan());
}

/**
 * Whether the instance finds an adapter, and, when it is a software one (the CPU is the GPU),
 * paces Dawn's event polling so the poll loop does not take the cores the driver computes on.
 * A real GPU keeps Dawn's own loop, whose latency a short decode step would feel.
 */
async function opens(gpu: GPU): Promise<boolean> {
  const adapter = await gpu.requestAdapter();
  if (adapter && isSoftwareAdapter(adapter.info)) paceDawnEvents();
  return adapter !== null;
}
