import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ModelLocation } from '../engine/files.ts';
import { HubClient } from '../hub/client.ts';
import { fsStore } from '../storage/fsStore.ts';
import { openHubModel, withStoreRepair } from '../storage/hubModel.ts';

export interface HubLocationOptions {
  hub?: string;
  revision?: string;
  file?: string;
  cacheDir?: string;
  /** No progress lines on stderr. */
  quiet?: boolean;
}

export const DEFAULT_HUB = 'https://huggingface.co';

/**
 * Downloads a Hub repo into the file-system weight store (progress on stderr) and runs
 * `load` on it; a stored file found damaged while loading is fetched again.
 */
export function loadFromHub<T>(repo: string, o: HubLocationOptions, load: (location: ModelLocation) => Promise<T>): Promise<T> {
  const client = new HubClient({ endpoints: [o.hub ?? DEFAULT_HUB], token: process.env.HF_TOKEN || undefined });
  const store = fsStore(o.cacheDir ?? join(homedir(), '.cache', 'pocket-hub'));
  const started = new Map<string, { at: number; from: number }>();
  let lastLine = 0;
  const open = () => openHubModel(client, store, repo, {
    revision: o.revision,
    gguf: o.file,
    onProgress: (file, loaded, total) => {
      const now = Date.now();
      // A resumed file starts from the bytes already stored; the rate counts only new ones.
      const start = started.get(file) ?? started.set(file, { at: now, from: loaded }).get(file)!;
      if (o.quiet || (now - lastLine < 500 && loaded < total)) return;
      lastLine = now;
      const rate = (loaded - start.from) / Math.max(0.001, (now - start.at) / 1000);
      const eta = rate > 0 ? (total - loaded) / rate : 0;
      const mib = (n: number) => (n / 2 ** 20).toFixed(1);
      process.stderr.write(`${file}: ${mib(loaded)} / ${mib(total)} MiB, ${mib(rate)} MiB/s, ${eta.toFixed(0)} s left\n`);
    },
  });
  return withStoreRepair(store, async () => load(await open()));
}
