/**
 * Uniform parameter blocks described once: the field list fixes both the byte
 * layout written here and the order of the matching WGSL struct, whose members
 * must be declared in the same order with the same scalar types. Every field is
 * a 4-byte scalar, so offsets are simply 4 × index and no hand-computed offsets exist.
 */
export type ParamType = 'u32' | 'f32' | 'i32';
export type ParamLayout = Record<string, ParamType>;

export class Params<L extends ParamLayout> {
  readonly buffer: GPUBuffer;
  private readonly data: ArrayBuffer;
  private readonly names: (keyof L & string)[];

  constructor(
    private readonly device: GPUDevice,
    private readonly layout: L,
    label: string,
  ) {
    this.names = Object.keys(layout) as (keyof L & string)[];
    // Uniform buffers are bound in 16-byte units.
    const size = Math.max(16, Math.ceil((this.names.length * 4) / 16) * 16);
    this.data = new ArrayBuffer(size);
    this.buffer = device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  /** Queues the new values; they take effect for work submitted after this call. */
  write(values: { [K in keyof L]: number }): void {
    const u32 = new Uint32Array(this.data);
    const i32 = new Int32Array(this.data);
    const f32 = new Float32Array(this.data);
    this.names.forEach((name, i) => {
      const v = values[name];
      const t = this.layout[name];
      if (t === 'f32') f32[i] = v;
      else if (t === 'i32') i32[i] = v;
      else u32[i] = v;
    });
    this.device.queue.writeBuffer(this.buffer, 0, this.data);
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
