// The page scripts/bench.ts opens in headless Chromium: the suite with the WebGPU peers and the
// random-weight models the runner serves under models/.
import { blobSource } from '../engine/formats/source.ts';
import { loadPeers } from './peers.ts';
import { e2eSpecs } from './plan.ts';
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

const logElement = document.getElementById('log')!;

function log(line: string): void {
  logElement.textContent += `${line}\n`;
  // The runner prints the page's console as progress.
  console.log(line);
}

window.pocketBench = {
  async adapter() {
    const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return null;
    const { vendor, architecture, device, description } = adapter.info;
    return [vendor, architecture, device, description].filter(Boolean).join(' ') || 'unknown adapter';
  },
  async run(options) {
    const e2e = options.e2e
      ? e2eSpecs(options.mode).map((spec) => ({
          spec,
          open: async () => {
            const response = await fetch(`models/${spec.file}`);
            if (!response.ok) throw new Error(`models/${spec.file}: HTTP ${response.status}`);
            // A Blob keeps the file out of the JS heap that the run reports.
            return blobSource(spec.file, await response.blob());
          },
        }))
      : undefined;
    const result = await runSuite({ gpu: navigator.gpu, mode: options.mode, runtime: 'chromium', loadPeers: options.peers && options.kernels ? loadPeers : undefined, kernels: options.kernels, e2e, log });
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
