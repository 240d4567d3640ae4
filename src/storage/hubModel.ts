// A Hub repository as a model the engine can load: the files it needs, downloaded once into a
// weight store (verified, resumable), then read from the store — with no network at all when
// the hub cannot be reached and a complete copy is cached.
import { CorruptFileError, isPocketHubError } from '../protocol/errors.ts';
import type { ModelLocation } from '../engine/files.ts';
import type { HubClient, HubFile, ResolvedRepo } from '../hub/client.ts';
import { chooseFiles } from '../hub/files.ts';
import { downloadFile } from './download.ts';
import { hasChunkHashes, markUsed, storedBytes, type FileKey, type FileRecord, type WeightStore } from './store.ts';
import { damagedStoredFile, storedSource } from './storedSource.ts';

/** Bytes of every file the model needs (`loaded`/`total`) and of the one in flight. */
export interface HubDownloadProgress {
  loaded: number;
  total: number;
  file: string;
  fileLoaded: number;
  fileTotal: number;
}

export interface HubModelOptions {
  revision?: string;
  /** A GGUF path or quant name (e.g. 'Q8_0') when the repo has several. */
  gguf?: string;
  /** Per file, as each downloads. */
  onProgress?: (file: string, loaded: number, total: number) => void;
  /** Across all the files the model needs, counting what the store already holds as loaded. */
  onDownload?: (p: HubDownloadProgress) => void;
  signal?: AbortSignal;
  chunkSize?: number;
  /** Held around each file's download, so two tabs never write the same file (the browser passes `withFileLock`). */
  lock?: <T>(key: FileKey, fn: () => Promise<T>) => Promise<T>;
  /** Called with the bytes still to download before any of them is fetched; throws to refuse (`checkQuota`). */
  checkSpace?: (bytesNeeded: number) => Promise<void>;
}

const INDEX = 'model.safetensors.index.json';

export async function openHubModel(client: HubClient, store: WeightStore, repo: string, options: HubModelOptions = {}): Promise<ModelLocation> {
  // A complete copy in the store loads as it is, with no request at all: no HEAD, no API
  // call, so a cached model works offline and on a rate-limited hub. (A newer commit on the
  // hub is picked up once the cached copy is deleted, or by asking for that revision.)
  const cached = await cachedCopy(store, repo, options);
  if (cached) return cached;
  const resolved = await client.resolveRepo(repo, options.revision, options.signal);

  const fetchRecord = (file: HubFile, onBytes?: (loaded: number) => void) => ensureFile(client, store, resolved, file, options, onBytes);
  // Which shards a sharded checkpoint needs is written in its index, so that comes first.
  const indexFile = resolved.files.find((f) => f.path === INDEX);
  const index =
    indexFile && !resolved.files.some((f) => f.path === 'model.safetensors') && !options.gguf
      ? await readJson(store, await fetchRecord(indexFile))
      : undefined;
  const choice = chooseFiles(resolved.files, { gguf: options.gguf, index: index as { weight_map: Record<string, string> } | undefined });
  const needed = choice.kind === 'gguf' ? [choice.file] : choice.files;

  // What each file already has in the store, so the total and the quota check count only what is missing.
  const held = new Map<string, number>();
  for (const file of needed) {
    const record = await store.getRecord({ repo: resolved.repo, commit: resolved.commit, path: file.path });
    // A record without chunk hashes is downloaded again whole (see FileRecord.chunkHashes).
    const usable = record && record.size === file.size && record.sha256 === file.sha256 && hasChunkHashes(record);
    held.set(file.path, !usable ? 0 : record.complete ? file.size : storedBytes(record));
  }
  const total = needed.reduce((sum, f) => sum + f.size, 0);
  const missing = needed.reduce((sum, f) => sum + f.size - held.get(f.path)!, 0);
  if (missing > 0) await options.checkSpace?.(missing);

  const records = new Map<string, FileRecord>();
  for (const file of needed) {
    const report = (fileLoaded: number) => {
      held.set(file.path, fileLoaded);
      let loaded = 0;
      for (const bytes of held.values()) loaded += bytes;
      options.onDownload?.({ loaded, total, file: file.path, fileLoaded, fileTotal: file.size });
    };
    records.set(file.path, await fetchRecord(file, report));
    report(file.size);
  }
  return locationOf(store, repo, choice.kind, records);
}

async function ensureFile(
  client: HubClient,
  store: WeightStore,
  resolved: ResolvedRepo,
  file: HubFile,
  o: HubModelOptions,
  onBytes?: (loaded: number) => void,
): Promise<FileRecord> {
  const key = { repo: resolved.repo, commit: resolved.commit, path: file.path };
  const fetchOnce = async () => {
    // Read under the lock: another tab may have finished the file while this one waited.
    const existing = await store.getRecord(key);
    if (existing?.complete && hasChunkHashes(existing)) return markUsed(store, existing);
    const download = () =>
      downloadFile({
        store,
        key,
        size: file.size,
        sha256: file.sha256,
        open: (start, signal) => client.fetchFile(resolved, file.path, { start, signal }),
        onProgress: (loaded, total) => {
          o.onProgress?.(file.path, loaded, total);
          onBytes?.(loaded);
        },
        signal: o.signal,
        chunkSize: o.chunkSize,
      });
    // A hash mismatch discards the file; bytes damaged in transit are worth one fresh download.
    return download().catch((err: unknown) => {
      if (isPocketHubError(err, 'IntegrityError')) return download();
      throw err;
    });
  };
  return o.lock ? o.lock(key, fetchOnce) : fetchOnce();
}
/**
 * The most recently used complete copy of `repo` in the store, for when no hub answers.
 * Files of one commit only, so a model never mixes two revisions.
 */
async function cachedCopy(store: WeightStore, repo: string, o: HubModelOptions): Promise<ModelLocation | undefined> {
  // Files stored without chunk hashes cannot be checked, so they count as missing and the hub is asked for them.
  const complete = (await store.listFiles()).filter(
    (r) => r.repo === repo && r.complete && hasChunkHashes(r) && (!o.revision || r.commit === o.revision),
  );
  if (complete.length === 0) return undefined;
  const latest = complete.reduce((a, b) => (b.lastUsed > a.lastUsed ? b : a));
  const files = new Map(complete.filter((r) => r.commit === latest.commit).map((r) => [r.path, r]));
  if (!o.gguf && (await holdsCheckpoint(store, files))) {
    for (const record of files.values()) await markUsed(store, record);
    return locationOf(store, repo, 'safetensors', files);
  }
  const gguf = [...files.values()].find(
    (r) => r.path.endsWith('.gguf') && (!o.gguf || r.path === o.gguf || r.path.toLowerCase().includes(o.gguf.toLowerCase())),
  );
  return gguf ? locationOf(store, repo, 'gguf', new Map([[gguf.path, await markUsed(store, gguf)]])) : undefined;
}

/** Whether complete files of one commit make a whole HF checkpoint: config, tokenizer, and every weight shard. */
async function holdsCheckpoint(store: WeightStore, files: Map<string, FileRecord>): Promise<boolean> {
  if (!files.has('config.json') || !files.has('tokenizer.json')) return false;
  if (files.has('model.safetensors')) return true;
  const index = files.get(INDEX);
  if (!index) return false;
  const { weight_map: weightMap } = (await readJson(store, index)) as { weight_map?: Record<string, string> };
  return !!weightMap && Object.values(weightMap).every((shard) => files.has(shard));
}

function locationOf(store: WeightStore, repo: string, kind: 'gguf' | 'safetensors', records: Map<string, FileRecord>): ModelLocation {
  if (kind === 'gguf') {
    const [record] = records.values();
    return { kind: 'gguf', name: `${repo}/${record.path}`, open: async () => storedSource(store, record) };
  }
  return {
    kind: 'folder',
    name: repo,
    files: {
      open: async (path) => {
        const record = records.get(path);
        return record ? storedSource(store, record) : undefined;
      },
    },
  };
}

async function readJson(store: WeightStore, record: FileRecord): Promise<unknown> {
  const source = storedSource(store, record);
  try {
    return JSON.parse(new TextDecoder().decode(await source.read(0, source.size)));
  } catch (err) {
    throw new CorruptFileError(`${record.repo}/${record.path} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Runs a load of stored files; when one of them turns out damaged (a chunk missing, cut
 * short or not matching its recorded hash), deletes that file and runs the load once more,
 * which downloads it again. A damaged store never gives a wrong answer, and never more than
 * the damaged file is fetched.
 */
export async function withStoreRepair<T>(store: WeightStore, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const key = damagedStoredFile(err);
    if (!key) throw err;
    await store.deleteFile(key);
    return run();
  }
}
