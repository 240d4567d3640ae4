import { createStorage, uploadF32 } from '../gpu/buffers.ts';
import type { Gpu } from '../gpu/device.ts';
import type { KernelOp } from '../gpu/kernel.ts';
import { createGemm, type MatmulDyn, type MatmulOptions } from '../gpu/kernels/gemm.ts';
import { createGemv } from '../gpu/kernels/gemv.ts';
import { createKQuantGemm, createKQuantGemv, uploadKQuantWeight } from '../gpu/kernels/kquantMatmul.ts';
import { createPackedMatmul } from '../gpu/kernels/matmulF16.ts';
import { uploadPackedWeight } from '../gpu/kernels/packedWeights.ts';
import { isKType, kquantByteLength, quantizeRowK } from '../engine/formats/kquant.ts';
import { packedBytes, quantizeRow } from '../engine/formats/quant.ts';
import { Rng } from '../engine/sampling.ts';
import type { MatmulPlanCase, SuiteConfig } from './plan.ts';
import type { Peer } from './peers.ts';
import { wallPerCall, type PassTimer } from './timing.ts';
import type { MatmulCase, PeerTiming, StoredWeightType, Timing } from './types.ts';

/** Everything a case needs from the run. */
export interface CaseContext {
  gpu: Gpu;
  timer: PassTimer;
  config: SuiteConfig;
  /** The copy kernel's GB/s, the denominator of every share. */
  copyGbps: number;
  peers: Peer[];
  log: (line: string) => void;
}

/**
 * Distinct random rows a weight is tiled from. Quantizing a whole 1B-shape matrix in JS would
 * take longer than the bench; a few rows repeated read the same bytes per call, and no GPU
 * deduplicates memory traffic.
 */
const PATTERN_ROWS = 8;

/** Bytes of one row of K weights in `type` (the plan's stored type, whose blocks divide K). */
function rowBytes(type: StoredWeightType, K: number): number {
  if (type === 'F32') return K * 4;
  return isKType(type) ? kquantByteLength(type, K) : packedBytes(type, K);
}

/** An [N, K] weight in `type`'s GGUF bytes (f32 values for F32), tiled from PATTERN_ROWS random rows. */
interface HostWeight {
  type: StoredWeightType;
  N: number;
  K: number;
  bytes: Uint8Array;
  /** The same weight in f32, for the peers; present for F32 only. */
  f32?: Float32Array;
}

function encodeRow(type: StoredWeightType, row: Float32Array): Uint8Array {
  if (type === 'F32') return new Uint8Array(row.buffer.slice(0));
  return isKType(type) ? quantizeRowK(type, row) : quantizeRow(type, row);
}

function hostWeight(type: StoredWeightType, N: number, K: number, rng: Rng): HostWeight {
  // Uniform with the 1/√K standard deviation of a trained linear layer, so outputs stay O(1).
  const a = Math.sqrt(3 / K);
  const patterns = Array.from({ length: Math.min(PATTERN_ROWS, N) }, () =>
    encodeRow(type, Float32Array.from({ length: K }, () => (rng.next() * 2 - 1) * a)),
  );
  const rowBytes = patterns[0].byteLength;
  const bytes = new Uint8Array(N * rowBytes);
  for (let n = 0; n < N; n++) bytes.set(patterns[n % patterns.length], n * rowBytes);
  return { type, N, K, bytes, f32: type === 'F32' ? new Float32Array(bytes.buffer) : undefined };
}

function uploadWeight(gpu: Gpu, label: string, w: HostWeight): GPUBuffer {
  if (w.type === 'F32') return uploadF32(gpu, label, w.f32!);
  if (isKType(w.type)) return uploadKQuantWeight(gpu, label, w.type, w.bytes, w.N, w.K);
  return uploadPackedWeight(gpu, label, w.type, w.bytes, w.N, w.K);
}

function createMatmul(gpu: Gpu, kernel: 'gemv' | 'gemm', type: StoredWeightType, o: MatmulOptions): KernelOp<MatmulDyn> {
  if (type === 'F32') return kernel === 'gemv' ? createGemv(gpu, o) : createGemm(gpu, o);
  if (isKType(type)) return kernel === 'gemv' ? createKQuantGemv(gpu, { ...o, type }) : createKQuantGemm(gpu, { ...o, type });
  return createPackedMatmul(gpu, kernel, { ...o, type });
}

function perCall(t: Timing, calls: number): Timing {
  return { ...t, ms: t.ms / calls, minMs: t.minMs / calls, maxMs: t.maxMs / calls };
}

/** Runs `fn` in validation and out-of-memory scopes; a GPU error becomes the thrown Error. */
async function inErrorScopes<T>(gpu: Gpu, fn: () => Promise<T>): Promise<T> {
  gpu.device.pushErrorScope('validation');
  gpu.device.pushErrorScope('out-of-memory');
  let result: T | undefined;
  let thrown: unknown;
  try {
    result = await fn();
  } catch (err) {
    thrown = err;
  }
  const oom = await gpu.device.popErrorScope();
  const validation = await gpu.device.popErrorScope();
  if (thrown !== undefined) throw thrown;
  const err = validation ?? oom;
  if (err) throw new Error(`GPU error: ${err.message}`);
  return result as T;
}

/**
 * One case of the plan, its weight in the case's stored type. GEMV cases (M = 1) spread their
 * calls over enough weight copies to defeat the caches; a round encodes each copy's op once, all
 * in one pass, each writing its own y so no call waits for another. Prefill GEMMs reuse one
 * weight: they are bound by arithmetic, not by reading it.
 */
export async function matmulCase(ctx: CaseContext, c: MatmulPlanCase, seed: number): Promise<MatmulCase> {
  const { gpu, config } = ctx;
  const { kernel, type, stored, M, K, N } = c;
  const result: MatmulCase = { kernel, type, model: c.shape.model, orientation: c.orientation, M, K, N };
  if (stored !== type) result.storedType = stored;
  const rng = new Rng(seed);
  const weightBytes = rowBytes(stored, K) * N;
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  if (weightBytes > limit) return { ...result, skipped: `${weightBytes} weight bytes exceed this device's ${limit}-byte binding limit` };

  const host = hostWeight(stored, N, K, rng);
  const copies = kernel === 'gemv' ? Math.max(1, Math.min(config.maxCopies, Math.ceil(config.rotateBytes / weightBytes))) : 1;
  const plan = kernel === 'gemv' ? config.plan : config.gemmPlan;
  const xHost = Float32Array.from({ length: M * K }, () => rng.next() * 2 - 1);
  const buffers: GPUBuffer[] = [];
  const ops: KernelOp<MatmulDyn>[] = [];
  try {
    await inErrorScopes(gpu, async () => {
      const x = uploadF32(gpu, 'bench x', xHost);
      buffers.push(x);
      for (let c = 0; c < copies; c++) {
        const w = uploadWeight(gpu, `bench w${c}`, host);
        const y = createStorage(gpu, `bench y${c}`, M * N * 4);
        buffers.push(w, y);
        ops.push(createMatmul(gpu, kernel, stored, { x, w, y, K, N }));
      }
      result.label = ops[0].label;
      const round = await ctx.timer.measure(`${kernel} ${stored} ${K}→${N}`, (pass) => ops.forEach((op) => op.encode(pass, { m: M })), plan);
      result.timing = perCall(round, copies);
    });
  } catch (err) {
    destroyAll(ops, buffers);
    return { ...result, skipped: (err as Error).message };
  }

  const seconds = result.timing!.ms / 1000;
  if (kernel === 'gemv') {
    result.gbps = (weightBytes + (K + N) * 4) / seconds / 1e9;
    result.shareOfCopy = result.gbps / ctx.copyGbps;
  }
  result.gflops = (2 * M * N * K) / seconds / 1e9;
  if (stored === 'F32' && ctx.peers.length > 0) result.peers = await peerTimings(ctx, ops[0], M, K, N, host.f32!, xHost, plan);
  destroyAll(ops, buffers);
  return result;
}

function destroyAll(ops: KernelOp<MatmulDyn>[], buffers: GPUBuffer[]): void {
  for (const op of ops) op.destroy();
  for (const b of buffers) b.destroy();
}

/** Ours and each peer on one weight, the same way: back-to-back calls, one submission each. */
async function peerTimings(
  ctx: CaseContext,
  op: KernelOp<MatmulDyn>,
  M: number,
  K: number,
  N: number,
  w: Float32Array,
  x: Float32Array,
  plan: SuiteConfig['plan'],
): Promise<PeerTiming[]> {
  const { device } = ctx.gpu;
  const ours = await wallPerCall(
    () => {
      const encoder = device.createCommandEncoder({ label: op.label });
      const pass = encoder.beginComputePass({ label: op.label });
      op.encode(pass, { m: M });
      pass.end();
      device.queue.submit([encoder.finish()]);
    },
    () => device.queue.onSubmittedWorkDone(),
    plan,
  );
  const out: PeerTiming[] = [];
  for (const peer of ctx.peers) {
    try {
      const prepared = await peer.prepare(M, K, N, w, x);
      try {
        const theirs = await wallPerCall(prepared.call, prepared.sync, plan);
        out.push({ peer: peer.name, peerMs: theirs.ms, oursMs: ours.ms, speedup: theirs.ms / ours.ms });
      } finally {
        prepared.dispose();
      }
    } catch (err) {
      ctx.log(`  ${peer.name} ${M}x${K}x${N}: ${(err as Error).message}`);
      out.push({ peer: peer.name, oursMs: ours.ms, skipped: (err as Error).message });
    }
  }
  return out;
}
