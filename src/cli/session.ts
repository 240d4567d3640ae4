// What every CLI shares: loading --model (a file, a folder or a Hub repo) into an engine on
// Dawn, and turning a thrown error into its message, hint and exit code.
import { InvalidArgumentError, isPocketHubError } from '../protocol/errors.ts';
import type { KvCacheType, LoadRequest } from '../protocol/index.ts';
import { Engine } from '../engine/engine.ts';
import { dawnGpu } from './dawn.ts';
import { loadFromHub } from './hubLocation.ts';
import { diskLocation, isOnDisk } from './nodeFiles.ts';

export interface ModelFlags {
  model: string;
  hub?: string;
  revision?: string;
  file?: string;
  'cache-dir'?: string;
  /** Machine-readable output: no progress or summary lines on stderr. */
  json: boolean;
}

/** The --kv-cache flag both CLIs take. */
export const KV_CACHE_USAGE = `  --kv-cache f16|f32      how the KV cache stores keys and values (default f16)`;

export function kvCacheFlag(value: string | undefined, usage: string): KvCacheType | undefined {
  if (value === undefined || value === 'f16' || value === 'f32') return value;
  throw new InvalidArgumentError(`--kv-cache takes f16 or f32, got "${value}".`, usage);
}

/** A fresh engine with --model loaded; the summary line goes to stderr unless --json. */
export async function openCliModel(flags: ModelFlags, loadRequest: Pick<LoadRequest, 'contextLength' | 'kvCache' | 'numerics'> = {}): Promise<Engine> {
  const engine = new Engine({ gpu: await dawnGpu() });
  const info = (await isOnDisk(flags.model))
    ? await engine.loadFrom(await diskLocation(flags.model), loadRequest)
    : await loadFromHub(
        flags.model,
        { hub: flags.hub, revision: flags.revision, file: flags.file, cacheDir: flags['cache-dir'], quiet: flags.json },
        (location) => engine.loadFrom(location, loadRequest),
      );
  if (!flags.json) console.error(`${info.architecture} · ${info.layers} layers · ${info.parameters.toLocaleString('en')} parameters · ${info.kvCache} KV cache · ${info.adapter}`);
  return engine;
}

/** Runs a CLI's main and exits with its code; a typed error prints its message and hint and exits 1. */
export function runCli(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (isPocketHubError(err)) {
        console.error(`error (${err.name}): ${err.message}`);
        if (err.hint) console.error(err.hint);
      } else {
        console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      }
      process.exit(1);
    },
  );
}
