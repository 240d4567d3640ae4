/**
 * Compute pipelines cached by a variant key that is also the GPU object's label,
 * so a validation error names the exact variant (e.g. `gemm_f32_t64x64`).
 */
export interface PipelineVariant {
  /** Unique key of the variant, used as the cache key and as the label. */
  key: string;
  /** WGSL source; modules are shared between variants with the same text. */
  code: string;
  entryPoint?: string;
  /** Values for the shader's `override` declarations. */
  constants?: Record<string, number>;
}

export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();

  constructor(private readonly device: GPUDevice) {}

  get(variant: PipelineVariant): GPUComputePipeline {
    let pipeline = this.pipelines.get(variant.key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({
        label: variant.key,
        layout: 'auto',
        compute: { module: this.module(variant), entryPoint: variant.entryPoint ?? 'main', constants: variant.constants },
      });
      this.pipelines.set(variant.key, pipeline);
    }
    return pipeline;
  }

  /** Number of distinct pipelines compiled so far (reported by load progress). */
  get size(): number {
    return this.pipelines.size;
  }

  private module(variant: PipelineVariant): GPUShaderModule {
    let module = this.modules.get(variant.code);
    if (!module) {
      module = this.device.createShaderModule({ label: variant.key.split('_')[0], code: variant.code });
      this.modules.set(variant.code, module);
    }
    return module;
  }
}
