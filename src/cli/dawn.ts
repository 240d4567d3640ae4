import { WebGPUUnavailableError } from '../protocol/errors.ts';
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
  if (usable(await gpu.requestAdapter())) return gpu;
  // The loader reads VK_ICD_FILENAMES whenever an instance is created, so a second Dawn
  // instance sees the software driver.
  const software = softwareVulkanIcd();
  if (!icd && software) {
    process.env.VK_ICD_FILENAMES = software;
    gpu = webgpu.create([]);
    if (usable(await gpu.requestAdapter())) return gpu;
  }
  throw new WebGPUUnavailableError('Dawn found no WebGPU adapter.', describeMissingVulkan());
}

/**
 * Whether Dawn gave an adapter. A software one (the CPU is the GPU) gets its event polling
 * paced, so the poll loop does not take the cores the driver computes on; a real GPU keeps
 * Dawn's own loop, whose latency a short decode step would feel.
 */
function usable(adapter: GPUAdapter | null): boolean {
  if (adapter?.info.isFallbackAdapter) paceDawnEvents();
  return adapter !== null;
}
