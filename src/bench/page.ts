// The page scripts/bench.ts opens in headless Chromium: the suite with the WebGPU peers and the
// random-weight models the runner serves under models/.
import { describeAdapter } from '../gpu/device.ts';
import { idbStore } from '../storage/idbStore.ts';
import { storeBlob, type FileKey } from '../storage/store.ts';
import { storedSource } from '../storage/storedSource.ts';
import { loadPeers } from './peers.ts';
import { e2eSpecs } from './plan.ts';
import { type E2eModel } from './e2e.ts';
import { runSuite } from './suite.ts';
import { runWllama } from './wllama.ts';
import type { BenchMode, BenchResult } from './types.ts';

export interface PageRun {
  mode: BenchMode;
  peers: boolean;
  e2e: boolean;
  kernels: boolean;
}

export interface PocketBench {
  /** The adapter's description, or null when this browser gives none: the runner then relaunches on SwiftShader. */
  adapter(): Promise<string | null>;
  run(options: PageRun): Promise<BenchResult>;
}

declare global {
  interface Window {
    pocketBench: PocketBench;
  }
}

/** The bench's own database, apart from the app's weight store. */
const BENCH_STORE = 'pocket-hub-bench';

const logElement = document.getElementById('log')!;

function log(line: string): void {
  logElement.textContent += `${line}\n`;
  // The runner prints the page's console as progress.
  console.log(line);
}

window.pocketBench = {
  async adapter() {
    const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
    return adapter ? describeAdapter(adapter.info) : null;
  },
  async run(options) {
    // The models go into the weight store first, so a case's load time is a returning user's:
    // read from IndexedDB with every chunk's hash checked, uploaded, pipelines made.
    const store = idbStore(BENCH_STORE);
    const stored: FileKey[] = [];
    const e2e: E2eModel[] | undefined = options.e2e ? [] : undefined;
    let result: BenchResult;
    try {
      for (const spec of options.e2e ? e2eSpecs(options.mode) : []) {
        log(`storing ${spec.file} in IndexedDB …`);
        const response = await fetch(`models/${spec.file}`);
        if (!response.ok) throw new Error(`models/${spec.file}: HTTP ${response.status}`);
        const key = { repo: 'bench/models', commit: 'local', path: spec.file };
        // Recorded before the write, so a write that fails half way is deleted too.
        stored.push(key);
        const record = await storeBlob(store, key, await response.blob());
        e2e!.push({ spec, open: async () => storedSource(store, record) });
      }
      result = await runSuite({ gpu: navigator.gpu, mode: options.mode, runtime: 'chromium', loadPeers: options.peers && options.kernels ? loadPeers : undefined, kernels: options.kernels, e2e, log });
    } finally {
      for (const key of stored) await store.deleteFile(key);
    }
    // After ours, so neither run shares the GPU or the cores with the other.
    if (options.peers) {
      for (const c of result.e2e) {
        log(`wllama on ${c.file} …`);
        c.wllama = await runWllama({ url: `models/${c.file}`, promptTokens: c.promptTokens, decodeTokens: c.decodeTokens });
        for (const p of c.wllama) log(`${p.backend}: ${p.skipped ?? `prefill ${p.prefillTokensPerSecond?.toFixed(1)} tok/s over ${p.promptTokens} tokens, decode ${p.decodeTokensPerSecond?.toFixed(1)} tok/s`}`);
      }
    }
    return result;
  },
};
