// The app's engine as SDK hosts (a static Space's page, /sdk/host.html) and embed commands use
// it. Loads go through the store's `openModel`, as the run widget's do, so the store always
// records the model the worker holds: /chat opened afterwards finds it loaded instead of
// trusting a stale record, and a load some widget of the page already started is joined.
import { modelRequest } from '../app/models.ts';
import * as client from '../client/engineClient.ts';
import { runGeneration, type RunHandle } from '../client/engineRuns.ts';
import { AbortError, type LoadRequest, type ModelInfo } from '../protocol/index.ts';
import { cancelLoad, openModel } from '../store/actions.ts';
import { loadHubSettings } from '../store/hubSettings.ts';
import { useHub, type HubState } from '../store/store.ts';
import { SdkHost, type HostEngine } from './host.ts';
import type { LoadedModel } from './messages.ts';

/**
 * What the host loads for `model`: from the embedded hub, `?hub=` and the user's saved hubs, but
 * without the user's access token. The token is the user's key to gated and private repos, and
 * a Space's code or another site must not use it behind the user's back.
 */
export function hostLoadRequest(model: string, hubParam: string | null): LoadRequest {
  return modelRequest(model, hubParam, { ...loadHubSettings(), token: undefined });
}

/** The store's record is of this model and load; a token the user loaded it with makes no difference. */
function sameLoad(state: HubState, model: string, request: LoadRequest): boolean {
  const withoutToken = (r: LoadRequest | undefined) => JSON.stringify({ ...r, token: undefined });
  return state.modelUrl === model && state.loadRequest !== undefined && withoutToken(state.loadRequest) === withoutToken(request);
}

/** Resolves once the store's load of `model` is ready; rejects when it fails, pauses, or another model replaces it. */
function storeLoad(model: string, request: LoadRequest): Promise<ModelInfo> {
  return new Promise((resolve, reject) => {
    const check = (s: HubState): boolean => {
      if (!sameLoad(s, model, request)) reject(new AbortError('Another model was opened before this one finished loading.'));
      else if (s.loadStatus === 'ready' && s.model) resolve(s.model);
      else if (s.loadStatus === 'failed') reject(s.failure?.error ?? new Error(`${model} failed to load.`));
      else if (s.loadStatus === 'paused' || s.loadStatus === 'idle') reject(new AbortError('The download was cancelled.'));
      else return false;
      return true;
    };
    if (check(useHub.getState())) return;
    const unsubscribe = useHub.subscribe((s) => {
      if (check(s)) unsubscribe();
    });
  });
}

/** A page learns the model's shape, not the adapter's name or anything else of the device. */
function loadedModel(model: string, info: ModelInfo): LoadedModel {
  return { model, architecture: info.architecture, parameters: info.parameters, contextLength: info.contextLength, hasChatTemplate: info.hasChatTemplate };
}

/** `hubParam` is read at each load: the page's `?hub=` as it is then. */
export function appEngine(hubParam: () => string | null): HostEngine {
  // The host runs one job at a time (SdkHost), so at most one generation of it is in the queue.
  let generation: RunHandle | undefined;
  return {
    async load(model, onProgress) {
      const request = hostLoadRequest(model, hubParam());
      const state = useHub.getState();
      if (!(sameLoad(state, model, request) && (state.loadStatus === 'loading' || state.loadStatus === 'ready'))) openModel(model, request);
      // The engine's own progress, whoever started the load: a joined load reports too.
      const stopWatching = client.onEngineEvent((e) => {
        if (e.kind === 'progress') onProgress(e.progress);
      });
      try {
        return loadedModel(model, await storeLoad(model, request));
      } finally {
        stopWatching();
      }
    },
    async generate(request, onToken, label) {
      // Whatever else of the page holds the engine (the chat, a run widget) finishes first.
      const ordered = client.inOrder(onToken);
      generation = runGeneration(label, request, (e) => ordered.event(e));
      try {
        const result = await generation.result;
        ordered.settle(result);
        return result;
      } catch (err) {
        ordered.settle();
        throw err;
      } finally {
        generation = undefined;
      }
    },
    abort() {
      // Between jobs' load and generate there is nothing of this host's to stop but a download.
      if (generation) generation.stop();
      else cancelLoad();
    },
  };
}

let shared: SdkHost | undefined;

/** The page's one host: Spaces, /sdk/host connections and embed commands all queue on it. */
export function appHost(): SdkHost {
  return (shared ??= new SdkHost(appEngine(() => new URLSearchParams(globalThis.location.search).get('hub'))));
}
