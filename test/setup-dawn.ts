// Gives Node tests the same `navigator.gpu` the browser has, backed by Dawn.
import { create, globals } from 'webgpu';
import { paceDawnEvents } from '../src/cli/dawnEvents.ts';
import { softwareVulkanIcd } from '../src/cli/vulkan.ts';

// Tests pin the software driver CI has (Chromium's SwiftShader) unless told otherwise, so a
// run here computes what a run there does, whatever GPU drivers this machine registers.
const icd = softwareVulkanIcd();
if (icd && !process.env.VK_ICD_FILENAMES) process.env.VK_ICD_FILENAMES = icd;
Object.assign(globalThis, globals);
// Two test files run at once on two cores: Dawn's busy polling would starve the software GPU.
paceDawnEvents();
const gpu = create([]);
if (!globalThis.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true });
Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
