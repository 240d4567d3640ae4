import { WebGPUUnavailableError } from '../protocol/errors.ts';
import { describeMissingVulkan, findVulkanIcd } from './vulkan.ts';

/**
 * WebGPU for Node through Dawn. Without a GPU driver, Dawn runs on a software Vulkan
 * (Chromium's SwiftShader or Mesa's lavapipe), which we point the Vulkan loader at.
 */
export async function dawnGpu(): Promise<GPU> {
  const icd = findVulkanIcd();
  if (icd) process.env.VK_ICD_FILENAMES = icd;
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (err) {
    throw new WebGPUUnavailableError(`Dawn for Node (npm "webgpu") could not load: ${(err as Error).message}`, describeMissingVulkan());
  }
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create([]);
  if (!(await gpu.requestAdapter())) throw new WebGPUUnavailableError('Dawn found no WebGPU adapter.', describeMissingVulkan());
  return gpu;
}
