import type { LoadRequest } from '../protocol/index.ts';
import { hubsFor, type HubSettings } from '../store/hubSettings.ts';

/** The model bundled with the app, so the chat works with no download from elsewhere. */
export const defaultModelUrl = '/models/stories260K/stories260K.gguf';

export function chatPath(modelUrl: string): string {
  return `/chat?${new URLSearchParams({ model: modelUrl })}`;
}

/**
 * Whether `?model=` names a Hub repo (`owner/name`) rather than an address: no scheme, no
 * leading slash, exactly one slash, and no file extension (`stories260K.gguf` is a file).
 */
export function isRepoId(model: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(model) && !model.startsWith('.') && !/\.(gguf|json|safetensors|bin)$/i.test(model);
}

/** How to load what `?model=` names: a repo from the hubs (`?hub=` first, then the saved ones) or a URL. */
export function modelRequest(model: string, hubParam: string | null, settings: HubSettings): LoadRequest {
  if (!isRepoId(model)) return { url: model };
  return { repo: model, hubs: hubsFor(settings, hubParam), ...(settings.token ? { token: settings.token } : {}) };
}
