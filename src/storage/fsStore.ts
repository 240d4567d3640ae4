import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuotaError } from '../protocol/errors.ts';
import type { FileKey, FileRecord, WeightStore } from './store.ts';

// Layout: <root>/<repo>/<commit>/<path>/manifest.json and chunk-000000.bin, ..., with
// repo and path URI-encoded into one directory name each so 'org/name' and
// 'sub/dir/file' cannot collide or climb out of the root. Every write goes to a
// temporary name and is renamed into place, so a crash never leaves half a chunk or
// half a manifest under the real name.

const MANIFEST = 'manifest.json';

function chunkName(index: number): string {
  return `chunk-${String(index).padStart(6, '0')}.bin`;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

function asQuotaError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT' ? new QuotaError(`No space left on the disk while writing ${what}.`) : err;
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${file}.partial`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw asQuotaError(err, file);
  }
}

async function subdirectories(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err) => {
    if (isMissing(err)) return [];
    throw err;
  });
  return entries.filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
}

/** A weight store in a directory on disk, for the CLI. */
export function fsStore(root: string): WeightStore {
  const fileDir = (key: FileKey) => join(root, encodeURIComponent(key.repo), encodeURIComponent(key.commit), encodeURIComponent(key.path));

  async function fileDirs(): Promise<string[]> {
    const dirs: string[] = [];
    for (const repo of await subdirectories(root)) {
      for (const commit of await subdirectories(repo)) dirs.push(...(await subdirectories(commit)));
    }
    return dirs;
  }

  async function readRecord(dir: string): Promise<FileRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as FileRecord;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  return {
    getRecord: (key) => readRecord(fileDir(key)),

    async putRecord(record) {
      const dir = fileDir(record);
      await mkdir(dir, { recursive: true });
      const { repo, commit, path, size, sha256, chunkSize, chunksDone, chunkHashes, complete, lastUsed } = record;
      const manifest = { repo, commit, path, size, sha256, chunkSize, chunksDone, chunkHashes, complete, lastUsed };
      await writeAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
    },

    async putChunk(key, index, bytes) {
      const dir = fileDir(key);
      await mkdir(dir, { recursive: true });
      await writeAtomic(join(dir, chunkName(index)), bytes);
    },

    async getChunk(key, index) {
      try {
        const data = await readFile(join(fileDir(key), chunkName(index)));
        return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },

    async deleteFile(key) {
      await rm(fileDir(key), { recursive: true, force: true });
    },

    async listFiles() {
      const records = await Promise.all((await fileDirs()).map(readRecord));
      return records.filter((r): r is FileRecord => r !== undefined);
    },

    async usage() {
      let total = 0;
      for (const dir of await fileDirs()) {
        for (const name of await readdir(dir)) {
          if (name.startsWith('chunk-') && name.endsWith('.bin')) total += (await stat(join(dir, name))).size;
        }
      }
      return total;
    },
  };
}
