// The engine the worker exposes: the GPU engine, plus Hub repos downloaded into the weight store
// and read for the model and Space pages.
import type { Engine } from '../engine/engine.ts';
import { describeRepo, searchRepos } from '../hub/browse.ts';
import { modelFacts } from '../hub/modelFacts.ts';
import { HubClient } from '../hub/client.ts';
import type {
  CachedModel,
  EngineApi,
  GenerateEvent,
  GenerateRequest,
  GpuInfo,
  HubAccess,
  LoadProgress,
  LoadRequest,
  ModelFacts,
  ModelFactsRequest,
  ModelInfo,
  RepoDetails,
  RepoListing,
  RepoRequest,
  RepoSearch,
  StorageInfo,
} from '../protocol/index.ts';
import { deleteModel, freeSpace, storageInfo, type OriginStorage } from '../storage/cache.ts';
import { openHubModel, withStoreRepair, type HubModelOptions } from '../storage/hubModel.ts';
import type { WeightStore } from '../storage/store.ts';

export interface WorkerEngineOptions {
  engine: Pick<Engine, 'load' | 'loadFrom' | 'generate' | 'abort' | 'unload' | 'stats' | 'gpuInfo'>;
  store: WeightStore;
  /** `withFileLock` in the browser. */
  lock?: HubModelOptions['lock'];
  /** `checkQuota` in the browser. */
  checkSpace?: HubModelOptions['checkSpace'];
  origin?: OriginStorage;
  fetch?: typeof fetch;
}

export class WorkerEngine implements EngineApi {
  private download?: AbortController;

  constructor(private readonly o: WorkerEngineOptions) {}

  async load(request: LoadRequest, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    if (!request.repo) return this.o.engine.load(request, onProgress);
    const download = new AbortController();
    this.download?.abort();
    this.download = download;
    try {
      const client = this.hub({ hubs: request.hubs ?? [], token: request.token, publicHubs: request.publicHubs });
      const repo = request.repo;
      return await withStoreRepair(this.o.store, async () => {
        const location = await openHubModel(client, this.o.store, repo, {
          revision: request.revision,
          gguf: request.file,
          signal: download.signal,
          lock: this.o.lock,
          checkSpace: this.o.checkSpace,
          onDownload: (p) => onProgress?.({ kind: 'download', ...p }),
        });
        return this.o.engine.loadFrom(location, request, onProgress);
      });
    } finally {
      if (this.download === download) this.download = undefined;
    }
  }

  generate(request: GenerateRequest, onEvent?: (e: GenerateEvent) => void) {
    return this.o.engine.generate(request, onEvent);
  }

  abort(): void {
    this.download?.abort();
    this.o.engine.abort();
  }

  unload(): Promise<void> {
    return this.o.engine.unload();
  }

  stats() {
    return this.o.engine.stats();
  }

  storage(): Promise<StorageInfo> {
    return storageInfo(this.o.store, this.o.origin);
  }

  freeSpace(bytes: number, options: { dryRun?: boolean } = {}): Promise<CachedModel[]> {
    return freeSpace(this.o.store, bytes, options.dryRun);
  }

  deleteCached(repo: string, commit: string): Promise<void> {
    return deleteModel(this.o.store, repo, commit);
  }

  describeRepo(request: RepoRequest): Promise<RepoDetails> {
    return describeRepo(this.hub(request), request);
  }

  modelFacts(request: ModelFactsRequest): Promise<ModelFacts> {
    return modelFacts(this.hub(request), request);
  }

  searchRepos(request: RepoSearch): Promise<RepoListing[]> {
    return searchRepos(this.hub(request), request);
  }

  gpuInfo(): Promise<GpuInfo> {
    return this.o.engine.gpuInfo();
  }

  /** A client for the request's hubs; the token goes to those endpoints only. */
  private hub(access: HubAccess): HubClient {
    return new HubClient({ endpoints: access.hubs, token: access.token, publicEndpoints: access.publicHubs, fetch: this.o.fetch });
  }
}
