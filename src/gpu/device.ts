import { DeviceLostError, WebGPUUnavailableError, type PocketHubError } from '../protocol/errors.ts';
import { PipelineCache } from './pipelines.ts';

/** A device plus what every kernel wrapper needs from it. Knows nothing of models. */
export interface Gpu {
  device: GPUDevice;
  pipelines: PipelineCache;
  /** A short description of the adapter for stats and bench files. */
  adapterName: string;
  /**
   * A CPU implementation of WebGPU (SwiftShader, lavapipe; isSoftwareAdapter): kernels that have a
   * shape for each pick the one for a CPU, whose barriers cost a thread switch per invocation.
   */
  software: boolean;
  /** Resolves if the device is lost; the engine turns it into a DeviceLostError. */
  lost: Promise<GPUDeviceLostInfo>;
}

/**
 * Opens a device with the adapter's own storage limits, since models need more
 * than the defaults (128 MiB bindings, 8 storage buffers per stage).
 */
export async function createGpu(gpu: GPU | undefined = globalThis.navigator?.gpu): Promise<Gpu> {
  if (!gpu) throw new WebGPUUnavailableError('WebGPU is not available here (navigator.gpu is missing).');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new WebGPUUnavailableError('No WebGPU adapter was found.');
  const wanted: (keyof GPUSupportedLimits)[] = [
    'maxBufferSize',
    'maxStorageBufferBindingSize',
    'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupsPerDimension',
  ];
  const requiredLimits: Record<string, number> = {};
  for (const key of wanted) requiredLimits[key] = adapter.limits[key] as number;
  // With shader-f16, matmuls over 16-bit weights run in f16 (kernels/matmulF16.ts); without it they stay f32.
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('shader-f16') ? ['shader-f16'] : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  return {
    device,
    pipelines: new PipelineCache(device),
    adapterName: describeAdapter(adapter.info),
    software: isSoftwareAdapter(adapter.info),
    lost: device.lost,
  };
}

/** The adapter as its vendor names it: vendor, architecture, device and description. */
export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  return [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unknown adapter';
}

/** Adapter descriptions of CPU implementations of WebGPU, for runtimes that do not set isFallbackAdapter. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|cpu/i;

/** Whether the adapter is a CPU implementation of WebGPU (SwiftShader, lavapipe), not a GPU. */
export function isSoftwareAdapter(info: GPUAdapterInfo | undefined): boolean {
  return (info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined)?.isFallbackAdapter === true || SOFTWARE.test(describeAdapter(info));
}

export function deviceLostError(info: GPUDeviceLostInfo): PocketHubError {
  return new DeviceLostError(`The GPU device was lost (${info.reason}): ${info.message}`);
}
