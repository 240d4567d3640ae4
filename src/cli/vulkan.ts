import { existsSync, readdirSync } from 'node:fs';

// Vulkan drivers Dawn can use when the machine has no GPU driver of its own:
// Chromium's bundled SwiftShader, then Mesa's lavapipe.
const CANDIDATE_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
  '/usr/share/vulkan/icd.d/lvp_icd.json',
];

const SYSTEM_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'];

/** The first software Vulkan driver installed (SwiftShader, then lavapipe), if any. */
export function softwareVulkanIcd(): string | undefined {
  return CANDIDATE_ICDS.find((p) => existsSync(p));
}

function systemIcds(): string[] {
  return SYSTEM_ICD_DIRS.flatMap((dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []));
}

/**
 * The ICD file to put in VK_ICD_FILENAMES: the user's own choice if set; nothing when the
 * system registers drivers (a real GPU's driver must win over a software one); otherwise a
 * software driver, or undefined when there is none (`describeMissingVulkan` says what to install).
 */
export function findVulkanIcd(): string | undefined {
  if (process.env.VK_ICD_FILENAMES) return process.env.VK_ICD_FILENAMES;
  if (systemIcds().length > 0) return undefined;
  return softwareVulkanIcd();
}

export function hasVulkanLoader(): boolean {
  return ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1'].some(existsSync);
}

export function describeMissingVulkan(): string {
  const parts: string[] = [];
  if (!hasVulkanLoader()) parts.push('the Vulkan loader (Debian/Ubuntu: `apt-get install libvulkan1`)');
  if (!softwareVulkanIcd() && systemIcds().length === 0)
    parts.push('a Vulkan driver: your GPU vendor\'s, or a software one (`apt-get install chromium` ships SwiftShader; `apt-get install mesa-vulkan-drivers` ships lavapipe)');
  return parts.length
    ? `No WebGPU adapter: install ${parts.join(' and ')}.`
    : 'No WebGPU adapter: Dawn found no usable Vulkan driver. Set VK_ICD_FILENAMES to a driver\'s ICD JSON file.';
}
