/**
 * A kernel invocation prepared once (pipeline, bind group, parameter block) and
 * encoded many times. Values that change between calls, such as the number of
 * rows or the position of the first token, are passed to `encode`, which writes
 * them to the op's own uniform buffer before recording the dispatch. Because the
 * write is queued, an op must be encoded at most once per submitted command buffer.
 */
export interface KernelOp<Dyn = void> {
  readonly label: string;
  encode(pass: GPUComputePassEncoder, dyn: Dyn): void;
  /** Frees the op's own uniform buffers (never the tensors it was bound to). */
  destroy(): void;
}

/** Splits a 1-D workgroup count across x and y so it stays under the 65535 per-dimension limit. */
export function dispatch1d(pass: GPUComputePassEncoder, workgroups: number, maxPerDim = 65535): void {
  if (workgroups <= maxPerDim) pass.dispatchWorkgroups(workgroups);
  else pass.dispatchWorkgroups(maxPerDim, Math.ceil(workgroups / maxPerDim));
}

/** A bind group for group 0 that binds `buffers` to bindings 0, 1, 2, … in order. */
export function bindBuffers(device: GPUDevice, pipeline: GPUComputePipeline, label: string, buffers: GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}
