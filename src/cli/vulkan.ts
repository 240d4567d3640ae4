import { existsSync } from 'node:fs';

// Vulkan drivers Dawn can use when the machine has no GPU driver of its own:
// Chromium's bundled SwiftShader, then Mesa's lavapipe.
const CANDIDATE_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
  '/usr/share/vulkan/icd.d/lvp_icd.json',
];

const SYSTEM_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'];

/**
 * Returns an ICD file to put in VK_ICD_FILENAMES when the system has no Vulkan
 * driver registered, or undefined when the loader will find one by itself (or
 * when nothing usable exists; `describeMissingVulkan` says what to install).
 */
export function findVulkanIcd(): string | undefined {
  if (process.env.VK_ICD_FILENAMES) return process.env.VK_ICD_FILENAMES;
  return CANDIDATE_ICDS.find((p) => existsSync(p));
}

export function hasVulkanLoader(): boolean {
  return ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1'].some(existsSync);
}

export function describeMissingVulkan(): string {
  const parts: string[] = [];
  if (!hasVulkanLoader()) parts.push('the Vulkan loader (Debian/Ubuntu: `apt-get install libvulkan1`)');
  if (!findVulkanIcd() && !SYSTEM_ICD_DIRS.some(existsSync))
    parts.push('a Vulkan driver: your GPU vendor\'s, or a software one (`apt-get install chromium` ships SwiftShader; `apt-get install mesa-vulkan-drivers` ships lavapipe)');
  return parts.length
    ? `No WebGPU adapter: install ${parts.join(' and ')}.`
    : 'No WebGPU adapter: Dawn found no usable Vulkan driver. Set VK_ICD_FILENAMES to a driver\'s ICD JSON file.';
}
