import { open, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MissingFileError } from '../protocol/errors.ts';
import { isGgufPath, type ModelLocation } from '../engine/files.ts';
import type { ByteSource } from '../engine/formats/source.ts';

/**
 * A file on disk read on demand, so a multi-gigabyte GGUF never sits in memory whole.
 * Each read opens and closes the file: reads are few (one per tensor), and no handle
 * outlives the load.
 */
export async function fileSource(path: string): Promise<ByteSource> {
  const { size } = await stat(path);
  return {
    name: basename(path),
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      const handle = await open(path, 'r');
      try {
        let at = 0;
        while (at < out.length) {
          const { bytesRead } = await handle.read(out, at, out.length - at, offset + at);
          if (bytesRead === 0) break;
          at += bytesRead;
        }
        return out.subarray(0, at);
      } finally {
        await handle.close();
      }
    },
  };
}

/** True when `path` names something on disk; otherwise the CLI reads it as a Hub repo id. */
export async function isOnDisk(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined || !/^[\w.-]+\/[\w.-]+$/.test(path);
}

/** A `.gguf` file or an HF-format model folder on disk. */
export async function diskLocation(path: string): Promise<ModelLocation> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new MissingFileError(`No file or folder at ${path}.`, 'Pass a .gguf file or a folder with config.json, model.safetensors and tokenizer.json.');
  if (info.isFile()) {
    if (!isGgufPath(path)) throw new MissingFileError(`${path} is not a .gguf file.`, 'Pass a .gguf file, or the folder that holds config.json and model.safetensors.');
    return { kind: 'gguf', name: path, open: () => fileSource(path) };
  }
  return {
    kind: 'folder',
    name: path,
    files: {
      open: async (file) => {
        const full = join(path, file);
        return (await stat(full).catch(() => undefined))?.isFile() ? fileSource(full) : undefined;
      },
    },
  };
}
