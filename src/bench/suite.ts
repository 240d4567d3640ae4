import { measureCopy } from './copy.ts';
import { benchGpu } from './device.ts';
import { runE2e, type E2eModel } from './e2e.ts';
import { matmulCase, type CaseContext } from './kernels.ts';
import type { Peer } from './peers.ts';
import { matmulPlan, suiteConfig } from './plan.ts';
import { typeLabel } from './table.ts';
import { PassTimer } from './timing.ts';
import type { BenchMode, BenchResult, E2eCase, MatmulCase, PeerStatus } from './types.ts';

export interface SuiteOptions {
  /** navigator.gpu, or Dawn's entry point in Node. */
  gpu: GPU | undefined;
  mode: BenchMode;
  runtime: BenchResult['runtime'];
  /** Loads the WebGPU peers (browser pages only: they are browser libraries). */
  loadPeers?: (log: (line: string) => void) => Promise<{ peers: Peer[]; status: PeerStatus[] }>;
  /** False skips the GEMV/GEMM cases (the copy kernel still runs: every share divides by it). */
  kernels?: boolean;
  /** Random-weight models for the end-to-end decode; none skips it. */
  e2e?: E2eModel[];
  log?: (line: string) => void;
}

/**
 * The whole suite on one device: the copy kernel's bandwidth first (every share divides by it),
 * then our GEMV per weight type at each decode shape in both orientations, our GEMM at the
 * prefill shapes, the peers beside our f32 cases, and the end-to-end decodes.
 */
export async function runSuite(o: SuiteOptions): Promise<BenchResult> {
  const log = o.log ?? (() => {});
  const started = performance.now();
  const date = new Date().toISOString();
  const config = suiteConfig(o.mode);
  const { gpu, facts } = await benchGpu(o.gpu);
  log(`adapter: ${facts.name}${facts.software ? ' (software)' : ''}; timing: ${facts.timestamps ? 'timestamp queries' : 'wall clock'}`);
  const timer = new PassTimer(gpu, facts.timestamps);
  try {
    const copy = await measureCopy(gpu, timer, config.copyBytes, config.plan);
    log(`copy: ${copy.gbps.toFixed(1)} GB/s over ${copy.bytes >> 20} MiB (copyBufferToBuffer ${copy.copyBufferGbps.toFixed(1)} GB/s)`);

    const { peers, status } = o.loadPeers ? await o.loadPeers(log) : { peers: [], status: [] };
    const ctx: CaseContext = { gpu, timer, config, copyGbps: copy.gbps, peers, log };
    let seed = 1;
    const gemv: MatmulCase[] = [];
    const gemm: MatmulCase[] = [];
    for (const planned of o.kernels === false ? [] : matmulPlan(config)) {
      const c = await matmulCase(ctx, planned, seed++);
      log(describe(c));
      (c.kernel === 'gemv' ? gemv : gemm).push(c);
    }

    const e2e: E2eCase[] = [];
    for (const model of o.e2e ?? []) {
      log(`e2e ${model.spec.file} …`);
      const c = await runE2e(gpu, model, { promptTokens: config.e2ePromptTokens, decodeTokens: config.e2eDecodeTokens, copyGbps: copy.gbps });
      log(`e2e ${model.spec.file}: prefill ${c.prefillTokensPerSecond.toFixed(1)} tok/s, decode ${c.decodeTokensPerSecond.toFixed(1)} tok/s (${(100 * c.shareOfBound).toFixed(0)}% of bound)`);
      e2e.push(c);
    }
    const pending: string[] = [];
    if (o.kernels === false) pending.push('GEMV and GEMM cases: skipped by --no-kernels.');
    if (o.runtime === 'dawn') pending.push('wllama (llama.cpp in WebAssembly): a browser library, measured by the Chromium run only.');
    if (!o.e2e?.length) pending.push('End-to-end decode: not run here (the Node runner writes the random-weight models).');
    if (!o.loadPeers && o.kernels !== false) pending.push('WebGPU peers (TF.js, onnxruntime-web): browser libraries, measured by the Chromium run only.');
    return {
      schema: 1,
      date,
      mode: o.mode,
      runtime: o.runtime,
      adapter: facts,
      copy,
      gemv,
      gemm,
      peers: status,
      e2e,
      pending,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    timer.destroy();
    gpu.device.destroy();
  }
}

function describe(c: MatmulCase): string {
  const head = `${c.kernel} ${typeLabel(c)} ${c.model} ${c.M}x${c.K}→${c.N}`;
  if (c.skipped) return `${head}: skipped (${c.skipped})`;
  const rate = c.kernel === 'gemv' ? `${c.gbps!.toFixed(1)} GB/s, ${(100 * c.shareOfCopy!).toFixed(0)}% of copy` : `${c.gflops!.toFixed(1)} GFLOP/s`;
  const peers = (c.peers ?? []).map((p) => (p.speedup ? ` ${p.peer} ×${p.speedup.toFixed(2)}` : ` ${p.peer} n/a`)).join('');
  return `${head}: ${c.timing!.ms.toFixed(3)} ms, ${rate}${peers}`;
}
