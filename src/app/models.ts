import type { LoadRequest } from '../protocol/index.ts';
import { hubsFor, type HubSettings } from '../store/hubSettings.ts';

/**
 * The model bundled with the app, in its embedded hub, so the chat works with no download
 * from elsewhere (and, once cached, with no network at all).
 */
export const defaultModel = 'pocket-hub/stories260K-GGUF';

/** The app's embedded hub: the repos under hub/, built into /hub/ beside the app (scripts/staticHub.ts). */
export function embeddedHubUrl(origin = globalThis.location.origin, base = import.meta.env.BASE_URL): string {
  return new URL(`${base}hub`, origin).href;
}

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

/**
 * How to load what `?model=` names: a URL, or a repo from the hubs — the embedded hub first,
 * then `?hub=`, then the saved ones.
 */
export function modelRequest(model: string, hubParam: string | null, settings: HubSettings, embeddedHub = embeddedHubUrl()): LoadRequest {
  if (!isRepoId(model)) return { url: model };
  const hubs = [...new Set([embeddedHub, ...hubsFor(settings, hubParam)])];
  // The embedded hub is public and the app's own: the token has no business there.
  return { repo: model, hubs, publicHubs: [embeddedHub], ...(settings.token ? { token: settings.token } : {}) };
}
