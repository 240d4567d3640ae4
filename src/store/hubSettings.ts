// Where models come from: hub endpoints tried in order, and an access token for gated repos.
// Kept in localStorage: the token never leaves this device except in requests to these hubs.

export const HUGGINGFACE = 'https://huggingface.co';

export interface HubSettings {
  /** Endpoints tried in order; the app's embedded hub is always tried first, before these. */
  hubs: string[];
  token?: string;
}

const KEY = 'pocket-hub:hub-settings';
export const defaultHubSettings: HubSettings = { hubs: [HUGGINGFACE] };

export function loadHubSettings(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): HubSettings {
  try {
    const saved = JSON.parse(storage?.getItem(KEY) ?? 'null') as Partial<HubSettings> | null;
    const hubs = Array.isArray(saved?.hubs) ? saved.hubs.filter((h): h is string => typeof h === 'string' && h.trim() !== '') : [];
    return { hubs: hubs.length ? hubs : defaultHubSettings.hubs, token: typeof saved?.token === 'string' && saved.token ? saved.token : undefined };
  } catch {
    return defaultHubSettings;
  }
}

export function saveHubSettings(settings: HubSettings, storage: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage): void {
  storage?.setItem(KEY, JSON.stringify(settings));
}

/** A `?hub=` URL parameter (one URL, or several separated by commas) goes before the saved endpoints for that page. */
export function hubsFor(settings: HubSettings, hubParam: string | null): string[] {
  const extra = (hubParam ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  return [...new Set([...extra, ...settings.hubs])];
}
