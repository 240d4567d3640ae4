// What every CLI shares: loading --model (a file, a folder or a Hub repo) into an engine on
// Dawn, and turning a thrown error into its message, hint and exit code.
import { isPocketHubError } from '../protocol/errors.ts';
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

/** A fresh engine with --model loaded; the summary line goes to stderr unless --json. */
export async function openCliModel(flags: ModelFlags, contextLength?: number): Promise<Engine> {
  const engine = new Engine({ gpu: await dawnGpu() });
  const loadRequest = { contextLength };
  const info = (await isOnDisk(flags.model))
    ? await engine.loadFrom(await diskLocation(flags.model), loadRequest)
    : await loadFromHub(
        flags.model,
        { hub: flags.hub, revision: flags.revision, file: flags.file, cacheDir: flags['cache-dir'], quiet: flags.json },
        (location) => engine.loadFrom(location, loadRequest),
      );
  if (!flags.json) console.error(`${info.architecture} · ${info.layers} layers · ${info.parameters.toLocaleString('en')} parameters · ${info.adapter}`);
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
