// The page scripts/bench.ts opens in headless Chromium: the suite with the WebGPU peers and the
// random-weight models the runner serves under models/.
import { blobSource } from '../engine/formats/source.ts';
import { loadPeers } from './peers.ts';
import { e2eSpecs } from './plan.ts';
import { runSuite } from './suite.ts';
import type { BenchMode, BenchResult } from './types.ts';

export interface PageRun {
  mode: BenchMode;
  peers: boolean;
  e2e: boolean;
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
  run(options) {
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
    return runSuite({ gpu: navigator.gpu, mode: options.mode, runtime: 'chromium', loadPeers: options.peers ? loadPeers : undefined, e2e, log });
  },
};
