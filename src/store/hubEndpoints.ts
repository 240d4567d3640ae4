// Editing the ordered list of hub endpoints on the Settings page: checking a typed address and
// moving entries, kept apart from React so the rules can be tested on their own.

export type EndpointCheck = { ok: true; url: string } | { ok: false; message: string };

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Checks one typed endpoint and returns it normalised (origin plus path, no trailing slash). */
export function checkEndpoint(text: string, existing: readonly string[] = []): EndpointCheck {
  const trimmed = text.trim();
  if (!trimmed) return { ok: false, message: 'Enter the address of a hub, like https://huggingface.co.' };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, message: `“${trimmed}” is not a web address. Start it with https://.` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, message: 'A hub address starts with https://.' };
  }
  // The access token travels to every endpoint in the list; plain http would show it to the network.
  if (url.protocol === 'http:' && !loopbackHosts.has(url.hostname)) {
    return { ok: false, message: 'Use https:// for a hub on another machine: your access token is sent to it.' };
  }
  if (url.username || url.password) {
    return { ok: false, message: 'Leave the user name and password out of the address; use the access token below.' };
  }
  if (url.search || url.hash) {
    return { ok: false, message: 'A hub address has no ?query or #fragment.' };
  }
  const normalised = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  if (existing.includes(normalised)) return { ok: false, message: `${normalised} is already in the list.` };
  return { ok: true, url: normalised };
}

/** The list with the entry at `from` moved to `to`; indices outside the list leave it as it was. */
export function moveEndpoint(list: readonly string[], from: number, to: number): string[] {
  const next = [...list];
  if (from < 0 || from >= list.length || to < 0 || to >= list.length) return next;
  const [moved] = next.splice(from, 1);
  next.splice(to, 0, moved);
  return next;
}
