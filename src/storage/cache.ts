// What the weight store holds, model by model, for the Storage page; removing one model, or the
// least recently used ones until enough space is free.
import type { CachedModel, StorageInfo } from '../protocol/index.ts';
import { storedBytes, type FileRecord, type WeightStore } from './store.ts';

/** The origin's usage as the browser counts it; a store with no browser behind it reports its own. */
export interface OriginStorage {
  estimate(): Promise<{ usage?: number; quota?: number }>;
  persisted(): Promise<boolean>;
}

/** Records grouped by repo and commit, most recently used first. */
export function cachedModels(records: FileRecord[]): CachedModel[] {
  const byRevision = new Map<string, CachedModel>();
  for (const r of records) {
    const id = `${r.repo}@${r.commit}`;
    const model = byRevision.get(id) ?? { repo: r.repo, commit: r.commit, files: [], bytes: 0, complete: true, lastUsed: 0 };
    model.files.push({ path: r.path, size: r.size, complete: r.complete });
    model.bytes += storedBytes(r);
    model.complete &&= r.complete;
    model.lastUsed = Math.max(model.lastUsed, r.lastUsed);
    byRevision.set(id, model);
  }
  for (const m of byRevision.values()) m.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return [...byRevision.values()].sort((a, b) => b.lastUsed - a.lastUsed);
}

export async function storageInfo(store: WeightStore, origin: OriginStorage | undefined = globalThis.navigator?.storage): Promise<StorageInfo> {
  const models = cachedModels(await store.listFiles());
  if (!origin) return { models, usage: await store.usage(), quota: 0, persisted: false };
  const [{ usage, quota }, persisted] = await Promise.all([origin.estimate(), origin.persisted().catch(() => false)]);
  return { models, usage: usage ?? (await store.usage()), quota: quota ?? 0, persisted };
}

/**
 * Whole revisions, least recently used first, until they hold at least `bytesToFree` bytes
 * (all of them when they hold less). Whole revisions, not files: a model missing one file is
 * as unusable as a missing model, but would still take space.
 */
export function modelsToEvict(models: CachedModel[], bytesToFree: number): CachedModel[] {
  const picked: CachedModel[] = [];
  let freed = 0;
  for (const model of [...models].sort((a, b) => a.lastUsed - b.lastUsed)) {
    if (freed >= bytesToFree) break;
    picked.push(model);
    freed += model.bytes;
  }
  return picked;
}

/** Deletes `modelsToEvict`'s choice (or only names it, with `dryRun`), oldest use first. */
export async function freeSpace(store: WeightStore, bytesToFree: number, dryRun = false): Promise<CachedModel[]> {
  const picked = modelsToEvict(cachedModels(await store.listFiles()), bytesToFree);
  if (!dryRun) for (const m of picked) await deleteModel(store, m.repo, m.commit);
  return picked;
}

/** Deletes every file of one revision; the caller holds no lock, so a download of it in progress fails and restarts. */
export async function deleteModel(store: WeightStore, repo: string, commit: string): Promise<void> {
  for (const r of await store.listFiles()) {
    if (r.repo === repo && r.commit === commit) await store.deleteFile(r);
  }
}
