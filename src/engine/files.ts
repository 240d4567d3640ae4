import { NetworkError } from '../protocol/errors.ts';
import { bytesSource, type ByteSource } from './formats/source.ts';

/** Bytes read so far of one file, for the 'read' progress stage. */
export type ReadProgress = (file: string, loaded: number, total: number) => void;

/** A model repository: a single GGUF file, or a folder of HF-format files. */
export type ModelLocation =
  | { kind: 'gguf'; name: string; open: () => Promise<ByteSource> }
  | { kind: 'folder'; name: string; files: ModelFolder };

export interface ModelFolder {
  /** Resolves to undefined when the file does not exist. */
  open(path: string): Promise<ByteSource | undefined>;
}

export function isGgufPath(path: string): boolean {
  return /\.gguf$/i.test(path.split(/[?#]/)[0]);
}

/**
 * Model files served over HTTP (the app's embedded models, a mirror, any static host).
 * Each file is fetched whole with progress; the IndexedDB weight store will replace this
 * with chunked, resumable downloads.
 */
export function urlLocation(url: string, fetchFn: typeof fetch, onRead?: ReadProgress): ModelLocation {
  if (isGgufPath(url)) {
    return {
      kind: 'gguf',
      name: url,
      open: async () => {
        const source = await fetchSource(url, fetchFn, onRead);
        if (!source) throw new NetworkError(`No model at ${url} (HTTP 404).`, 'Check the model address.');
        return source;
      },
    };
  }
  const base = url.endsWith('/') ? url : `${url}/`;
  return { kind: 'folder', name: url, files: { open: (path) => fetchSource(new URL(path, absolute(base)).href, fetchFn, onRead, path) } };
}

function absolute(url: string): string {
  // Relative paths (e.g. /models/x/) resolve against the page or worker location.
  const here = (globalThis as { location?: { href: string } }).location?.href;
  return new URL(url, here).href;
}

async function fetchSource(url: string, fetchFn: typeof fetch, onRead?: ReadProgress, name = url): Promise<ByteSource | undefined> {
  let response: Response;
  try {
    response = await fetchFn(absolute(url));
  } catch (err) {
    throw new NetworkError(`Could not fetch ${url}: ${(err as Error).message}`);
  }
  if (response.status === 404) return undefined;
  if (!response.ok) throw new NetworkError(`Fetching ${url} failed: HTTP ${response.status} ${response.statusText}`);
  // A dev server answers unknown paths with the SPA's index.html; that is "not found" for a model file.
  if ((response.headers.get('content-type') ?? '').startsWith('text/html')) return undefined;
  const total = Number(response.headers.get('content-length') ?? 0);
  const bytes = await readBody(response, (loaded) => onRead?.(name, loaded, Math.max(total, loaded)), url);
  return bytesSource(name, bytes);
}

async function readBody(response: Response, onProgress: (loaded: number) => void, url: string): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      loaded += value.byteLength;
      onProgress(loaded);
    }
  } catch (err) {
    throw new NetworkError(`The download of ${url} was interrupted after ${loaded} bytes: ${(err as Error).message}`);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
