import type { Gpu } from '../gpu/device.ts';
import type { Timing, TimingMethod } from './types.ts';

/** How long and how often to sample one case. */
export interface SamplePlan {
  /** Samples run and thrown away after the calibrating one (pipelines, caches, clocks). */
  warmup: number;
  samples: number;
  /** A sample repeats the work until it lasts about this long, so timer resolution and submit latency stay small beside it. */
  targetMs: number;
  /** Repetitions per sample at most, so a very fast kernel does not encode thousands of dispatches. */
  maxReps: number;
}

export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times compute passes on the GPU. With `timestamp-query` a sample is the time between the
 * pass's begin and end timestamps; without it, the wall time from submit to onSubmittedWorkDone,
 * which adds the submission's latency (small beside a sample of `targetMs`).
 */
export class PassTimer {
  private method: TimingMethod;
  private readonly querySet?: GPUQuerySet;
  private readonly resolve?: GPUBuffer;
  private readonly readback?: GPUBuffer;

  constructor(
    private readonly gpu: Gpu,
    timestamps: boolean,
  ) {
    this.method = timestamps ? 'timestamp' : 'wall';
    if (timestamps) {
      const { device } = gpu;
      this.querySet = device.createQuerySet({ label: 'bench timestamps', type: 'timestamp', count: 2 });
      this.resolve = device.createBuffer({ label: 'bench timestamps resolve', size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      this.readback = device.createBuffer({ label: 'bench timestamps readback', size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
  }

  get timingMethod(): TimingMethod {
    return this.method;
  }

  /** Milliseconds one pass holding `encode`'s work takes. */
  async time(label: string, encode: (pass: GPUComputePassEncoder) => void): Promise<number> {
    const { device } = this.gpu;
    const encoder = device.createCommandEncoder({ label });
    const stamped = this.method === 'timestamp';
    const pass = encoder.beginComputePass({
      label,
      timestampWrites: stamped ? { querySet: this.querySet!, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } : undefined,
    });
    encode(pass);
    pass.end();
    if (stamped) {
      encoder.resolveQuerySet(this.querySet!, 0, 2, this.resolve!, 0);
      encoder.copyBufferToBuffer(this.resolve!, 0, this.readback!, 0, 16);
    }
    const started = performance.now();
    device.queue.submit([encoder.finish()]);
    if (!stamped) {
      await device.queue.onSubmittedWorkDone();
      return performance.now() - started;
    }
    await this.readback!.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigUint64Array(this.readback!.getMappedRange());
    this.readback!.unmap();
    const ms = Number(end - begin) / 1e6;
    if (end > begin) return ms;
    // Some drivers write zeros or unordered values: from then on this timer falls back to the wall clock.
    this.method = 'wall';
    return this.time(label, encode);
  }

  /**
   * The median time of one `round` (work encoded once per round) over plan.samples samples.
   * The first sample calibrates how many rounds make a sample last plan.targetMs.
   */
  async measure(label: string, round: (pass: GPUComputePassEncoder) => void, plan: SamplePlan): Promise<Timing> {
    const once = await this.time(label, round);
    const reps = Math.max(1, Math.min(plan.maxReps, Math.ceil(plan.targetMs / Math.max(once, 1e-3))));
    const sample = () =>
      this.time(label, (pass) => {
        for (let r = 0; r < reps; r++) round(pass);
      });
    for (let i = 0; i < plan.warmup; i++) await sample();
    const times: number[] = [];
    for (let i = 0; i < plan.samples; i++) times.push((await sample()) / reps);
    return { ms: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), samples: times.length, method: this.method };
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolve?.destroy();
    this.readback?.destroy();
  }
}

/**
 * The wall time per call of `call` run back to back: calls per sample are calibrated to about
 * plan.targetMs, and `sync` waits for the GPU after each sample. Used for ours and the peers alike.
 */
export async function wallPerCall(call: () => void | Promise<void>, sync: () => Promise<void>, plan: SamplePlan): Promise<Timing> {
  const run = async (n: number) => {
    const started = performance.now();
    for (let i = 0; i < n; i++) await call();
    await sync();
    return (performance.now() - started) / n;
  };
  const once = await run(1);
  const n = Math.max(1, Math.min(plan.maxReps, Math.ceil(plan.targetMs / Math.max(once, 1e-3))));
  for (let i = 0; i < plan.warmup; i++) await run(n);
  const times: number[] = [];
  for (let i = 0; i < plan.samples; i++) times.push(await run(n));
  return { ms: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), samples: times.length, method: 'wall' };
}
