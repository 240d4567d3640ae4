import { describeAdapter, isSoftwareAdapter, type Gpu } from '../gpu/device.ts';
import { PipelineCache } from '../gpu/pipelines.ts';
import { WebGPUUnavailableError } from '../protocol/errors.ts';
import type { AdapterFacts } from './types.ts';

/** Limits raised to the adapter's, as createGpu does, so the 1B shapes' weights fit one binding. */
const LIMITS: (keyof GPUSupportedLimits)[] = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
];

/**
 * The device of createGpu (with `shader-f16` where the adapter has it, so 16-bit weights take the
 * f16 kernels as in the engine) plus `timestamp-query` where the adapter has it: the engine's
 * devices do not ask for it, and GPU times need it.
 */
export async function benchGpu(entry: GPU | undefined): Promise<{ gpu: Gpu; facts: AdapterFacts }> {
  if (!entry) throw new WebGPUUnavailableError('WebGPU is not available here (navigator.gpu is missing).');
  const adapter = await entry.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new WebGPUUnavailableError('No WebGPU adapter was found.');
  const requiredLimits: Record<string, number> = {};
  for (const key of LIMITS) requiredLimits[key] = adapter.limits[key] as number;
  const timestamps = adapter.features.has('timestamp-query');
  const requiredFeatures = (['timestamp-query', 'shader-f16'] as const).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const name = describeAdapter(info);
  const software = isSoftwareAdapter(info);
  const gpu: Gpu = { device, pipelines: new PipelineCache(device), adapterName: name, software, lost: device.lost };
  const userAgent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent;
  return { gpu, facts: { name, software, features: [...device.features].sort(), timestamps, userAgent } };
}
