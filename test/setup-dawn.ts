// Gives Node tests the same `navigator.gpu` the browser has, backed by Dawn.
import { create, globals } from 'webgpu';
import { findVulkanIcd } from '../src/cli/vulkan.ts';

const icd = findVulkanIcd();
if (icd && !process.env.VK_ICD_FILENAMES) process.env.VK_ICD_FILENAMES = icd;
Object.assign(globalThis, globals);
const gpu = create([]);
if (!globalThis.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true });
Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
