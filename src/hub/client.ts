// Client for the Hugging Face Hub's HTTP API (huggingface.co or a mirror with the same
// layout). Everything a model needs is read at one commit: the revision is resolved once and
// every later URL names the commit, so a push to `main` mid-download cannot mix two versions.
import {
  AbortError,
  AuthRequiredError,
  MissingFileError,
  NetworkError,
  OfflineError,
  PocketHubError,
  RateLimitedError,
} from '../protocol/errors.ts';
import type { RepoKind } from '../protocol/index.ts';

export interface HubOptions {
  /** Tried in order by `resolveRepo`, e.g. ['https://huggingface.co']. */
  endpoints: string[];
  /** A read token, sent as `Authorization: Bearer` to the endpoints only. */
  token?: string;
  /** Endpoints that never get the token: public hubs such as the app's embedded one. */
  publicEndpoints?: string[];
  fetch?: typeof fetch;
  /** Retries after a 429 or 5xx answer (default 3). */
  maxRetries?: number;
  /** First backoff when the server gives no Retry-After; doubles each retry (default 500 ms). */
  retryBaseMs?: number;
}

export interface HubFile {
  path: string;
  size: number;
  /** LFS sha256 (hex) when the file is in LFS */
  sha256?: string;
  /** git blob oid */
  oid: string;
}

export interface ResolvedRepo {
  repo: string;
  kind: RepoKind;
  /** 40-hex commit every file request uses */
  commit: string;
  endpoint: string;
  files: HubFile[];
  /** The hub's info answer as it came (tags, cardData, likes…), for pages that show it. */
  info: Record<string, unknown>;
}

interface TreeEntry {
  type: 'file' | 'directory';
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number };
}

// A server asking for a longer pause than this is treated as if it asked for this much: the
// user is watching a progress bar, and the retry budget still ends in RateLimitedError.
const MAX_RETRY_AFTER_MS = 30_000;
const MAX_BACKOFF_MS = 8_000;

// Failures after which `resolveRepo` tries the next endpoint: no HTTP answer at all, or 5xx
// answers until the retries ran out.
class Unreachable extends NetworkError {}
class ServerFailure extends NetworkError {}
/** A host that answers, but not as a hub does (an SPA's fallback page, a captive portal): its answer is not JSON. */
export class NotAHubError extends Unreachable {}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

// The Hub prefixes Space URLs with `spaces/`, in the API and for files; models have no prefix.
const apiCollection = (kind: RepoKind) => (kind === 'space' ? 'spaces' : 'models');
const filePrefix = (kind: RepoKind) => (kind === 'space' ? 'spaces/' : '');

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function retryDelayMs(res: Response, attempt: number, baseMs: number): number {
  const header = res.headers.get('Retry-After');
  if (header !== null) {
    const seconds = Number(header);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
  }
  return Math.min(baseMs * 2 ** attempt, MAX_BACKOFF_MS);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done, fail) => {
    if (signal?.aborted) return fail(new AbortError('Aborted.'));
    const onAbort = () => {
      clearTimeout(timer);
      fail(new AbortError('Aborted.'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return !!signal?.aborted || (err instanceof Error && err.name === 'AbortError');
}

function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
}

/**
 * Re-emits a body so that a connection lost mid-stream reads as a NetworkError (the weight
 * store resumes from the bytes it has) and a short body is noticed even where the platform
 * does not check Content-Length.
 */
function guardBody(res: Response, url: string, signal?: AbortSignal): Response {
  if (!res.body) return res;
  const expected = res.headers.get('Content-Encoding') ? null : Number(res.headers.get('Content-Length') ?? NaN);
  const reader = res.body.getReader();
  let received = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (isAbort(err, signal)) controller.error(new AbortError('Download aborted.'));
        else controller.error(new NetworkError(`Connection lost after ${received} bytes of ${url}: ${describeCause(err)}`));
        return;
      }
      if (chunk.done) {
        if (expected !== null && Number.isFinite(expected) && received < expected) {
          controller.error(new NetworkError(`Connection closed after ${received} of ${expected} bytes of ${url}.`));
        } else {
          controller.close();
        }
        return;
      }
      received += chunk.value.length;
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

export class HubClient {
  private readonly endpoints: string[];
  private readonly token?: string;
  private readonly publicEndpoints: string[];
  private readonly fetchFn: typeof fetch;
  private readonly maxRetries: number;
  private readonly retryBaseMs: number;

  constructor(options: HubOptions) {
    if (options.endpoints.length === 0) throw new RangeError('HubClient: at least one endpoint is needed');
    this.endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ''));
    this.token = options.token || undefined;
    this.publicEndpoints = (options.publicEndpoints ?? []).map((e) => `${e.replace(/\/+$/, '')}/`);
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.maxRetries = options.maxRetries ?? 3;
    this.retryBaseMs = options.retryBaseMs ?? 500;
  }

  /** The endpoints in the order they are tried, without trailing slashes. */
  get endpointUrls(): readonly string[] {
    return this.endpoints;
  }

  /** Repo info + full tree at `revision` (default 'main'), pinned to one commit, from the first endpoint that has the repo. */
  async resolveRepo(repo: string, revision = 'main', signal?: AbortSignal, kind: RepoKind = 'model'): Promise<ResolvedRepo> {
    const failures: PocketHubError[] = [];
    for (const endpoint of this.endpoints) {
      try {
        return await this.resolveAt(endpoint, kind, repo, revision, signal);
      } catch (err) {
        if (err instanceof Unreachable || err instanceof ServerFailure || (err instanceof MissingFileError && err.message.startsWith('RepoNotFound'))) {
          failures.push(err);
          continue;
        }
        throw err;
      }
    }
    const missing = failures.find((e) => e instanceof MissingFileError);
    if (missing) throw missing;
    const serverFailure = failures.find((e) => e instanceof ServerFailure);
    if (serverFailure) throw serverFailure;
    throw new OfflineError(`No hub endpoint could be reached (${this.endpoints.join(', ')}): ${failures.map((e) => e.message).join('; ')}`);
  }

  /** URL of a file at the pinned commit. */
  fileUrl(resolved: ResolvedRepo, path: string): string {
    return `${resolved.endpoint}/${filePrefix(resolved.kind)}${encodePath(resolved.repo)}/resolve/${resolved.commit}/${encodePath(path)}`;
  }

  /** GET a file (optionally from byte `start`), following redirects, with retries for 429/5xx before any body byte; returns the Response (206 when start > 0; throws if the server ignored the Range). */
  async fetchFile(resolved: ResolvedRepo, path: string, options: { start?: number; signal?: AbortSignal } = {}): Promise<Response> {
    const start = options.start ?? 0;
    const url = this.fileUrl(resolved, path);
    const headers: Record<string, string> = start > 0 ? { Range: `bytes=${start}-` } : {};
    const res = await this.request(url, headers, `${path} in ${resolved.repo}`, options.signal);
    if (start > 0) {
      const range = /^bytes (\d+)-/.exec(res.headers.get('Content-Range') ?? '');
      if (res.status !== 206 || !range || Number(range[1]) !== start) {
        await res.body?.cancel();
        throw new NetworkError(`The server ignored the request for ${url} from byte ${start} (HTTP ${res.status}).`);
      }
    }
    return guardBody(res, url, options.signal);
  }

  /**
   * Exactly `length` bytes of a file from byte `offset`, with one `Range: bytes=a-b` request:
   * how file headers are read without downloading weights. A server that ignores the range
   * sends the file from its start; that body is read only up to the range's end.
   */
  async fetchRange(resolved: ResolvedRepo, path: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`fetchRange: invalid range of ${length} bytes at ${offset}`);
    }
    const out = new Uint8Array(length);
    if (length === 0) return out;
    const url = this.fileUrl(resolved, path);
    const end = offset + length - 1;
    const res = await this.request(url, { Range: `bytes=${offset}-${end}` }, `${path} in ${resolved.repo}`, signal);
    let skip = 0;
    if (res.status === 206) {
      const range = /^bytes (\d+)-(\d+)\//.exec(res.headers.get('Content-Range') ?? '');
      if (!range || Number(range[1]) !== offset || Number(range[2]) < end) {
        await res.body?.cancel();
        throw new NetworkError(`${url} answered bytes ${res.headers.get('Content-Range') ?? '(none)'} to a request for ${offset}-${end}.`);
      }
    } else {
      skip = offset;
    }
    const reader = guardBody(res, url, signal).body?.getReader();
    let filled = 0;
    while (reader && filled < length) {
      const chunk = await reader.read();
      if (chunk.done) break;
      let bytes = chunk.value;
      if (skip > 0) {
        const dropped = Math.min(skip, bytes.length);
        skip -= dropped;
        bytes = bytes.subarray(dropped);
      }
      const take = Math.min(bytes.length, length - filled);
      out.set(bytes.subarray(0, take), filled);
      filled += take;
    }
    await reader?.cancel();
    if (filled < length) throw new NetworkError(`${url} ended after ${filled} of the ${length} bytes asked from byte ${offset}.`);
    return out;
  }

  /**
   * GET `{endpoint}/{path}` (path may carry a query) as JSON; `endpoint` must be one of this
   * client's, since the token goes with the request. A non-JSON answer means the host is no hub.
   */
  async getJson(endpoint: string, path: string, what: string, signal?: AbortSignal): Promise<unknown> {
    if (!this.endpoints.includes(endpoint)) throw new RangeError(`HubClient: ${endpoint} is not one of its endpoints`);
    const res = await this.request(`${endpoint}/${path}`, {}, what, signal);
    try {
      return await res.json();
    } catch {
      throw new NotAHubError(`${endpoint} is not a hub: its answer about ${what} is not JSON.`);
    }
  }

  private async resolveAt(endpoint: string, kind: RepoKind, repo: string, revision: string, signal?: AbortSignal): Promise<ResolvedRepo> {
    const api = `${endpoint}/api/${apiCollection(kind)}/${encodePath(repo)}`;
    let infoRes: Response;
    try {
      infoRes = await this.request(`${api}/revision/${encodeURIComponent(revision)}`, {}, repo, signal);
    } catch (err) {
      // A static hub (the app's embedded one) answers a plain 404 for a repo or revision it
      // lacks, with no X-Error-Code: that means the same as RepoNotFound, try the next endpoint.
      if (err instanceof MissingFileError && !/^(RepoNotFound|RevisionNotFound):/.test(err.message)) {
        throw new MissingFileError(`RepoNotFound: ${repo}@${revision} is not on ${endpoint}.`);
      }
      throw err;
    }
    let info: unknown;
    try {
      info = await infoRes.json();
    } catch {
      throw new NotAHubError(`${endpoint} is not a hub: its answer about ${repo} is not JSON.`);
    }
    if (!isObject(info)) throw new NotAHubError(`${endpoint} is not a hub: its answer about ${repo} is not an object.`);
    const commit = infoRes.headers.get('X-Repo-Commit') ?? info.sha;
    if (typeof commit !== 'string' || !/^[0-9a-f]{40}$/.test(commit)) {
      throw new NetworkError(`${endpoint} did not name the commit of ${repo}@${revision}.`);
    }
    const files: HubFile[] = [];
    let next: string | undefined = `${api}/tree/${commit}?recursive=true&expand=false`;
    while (next) {
      const res = await this.request(next, {}, repo, signal);
      for (const entry of (await res.json()) as TreeEntry[]) {
        if (entry.type !== 'file') continue;
        files.push({
          path: entry.path,
          size: entry.lfs?.size ?? entry.size,
          oid: entry.oid,
          ...(entry.lfs ? { sha256: entry.lfs.oid } : {}),
        });
      }
      const link = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('Link') ?? '');
      next = link ? new URL(link[1], next).href : undefined;
    }
    return { repo, kind, commit, endpoint, files, info };
  }

  /** One GET with the token, retried on 429/5xx; any other failure becomes a typed error. */
  private async request(url: string, extraHeaders: Record<string, string>, what: string, signal?: AbortSignal): Promise<Response> {
    // Fetch drops Authorization itself when a redirect leaves this origin (the CDN).
    const sendToken = this.token && !this.publicEndpoints.some((e) => url.startsWith(e));
    const headers = { ...extraHeaders, ...(sendToken ? { Authorization: `Bearer ${this.token}` } : {}) };
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        // Not through the HTTP cache: file bytes go to the weight store, so a cached copy would be
        // a second one, and Chromium splices a cached 206 (a model page's header read) into a later
        // full GET of the same URL, which broke the SHA-256 of every such download.
        res = await this.fetchFn(url, { headers, signal, redirect: 'follow', cache: 'no-store' });
      } catch (err) {
        if (isAbort(err, signal)) throw new AbortError('Download aborted.');
        throw new Unreachable(`Cannot reach ${new URL(url).origin}: ${describeCause(err)}`);
      }
      if (res.ok) return res;
      const retryable = res.status === 429 || res.status >= 500;
      if (retryable && attempt < this.maxRetries) {
        await res.body?.cancel();
        await sleep(retryDelayMs(res, attempt, this.retryBaseMs), signal);
        continue;
      }
      throw await this.httpError(res, url, what);
    }
  }

  private async httpError(res: Response, url: string, what: string): Promise<PocketHubError> {
    const code = res.headers.get('X-Error-Code');
    let message = res.headers.get('X-Error-Message') ?? '';
    if (!message) {
      const text = await res.text().catch(() => '');
      try {
        message = String((JSON.parse(text) as { error?: unknown }).error ?? text);
      } catch {
        message = text;
      }
    } else {
      await res.body?.cancel();
    }
    const detail = `${message || res.statusText} (HTTP ${res.status}, ${url})`;
    if (code === 'RepoNotFound' || code === 'RevisionNotFound' || code === 'EntryNotFound') {
      // The Hub answers RepoNotFound to anonymous callers of private repos too.
      const hint = code === 'RepoNotFound' && !this.token ? 'Check the model address. If the repository is private, add a read token in Settings.' : undefined;
      return new MissingFileError(`${code}: ${what}: ${detail}`, hint);
    }
    if (res.status === 401 || res.status === 403) {
      const why =
        res.status === 403
          ? 'the token has no access to it'
          : this.token
            ? 'the token was not accepted'
            : 'it is gated or private and needs a token';
      return new AuthRequiredError(`${what}: ${why}. ${detail}`);
    }
    if (res.status === 429) return new RateLimitedError(`${what}: still rate-limited after ${this.maxRetries} retries. ${detail}`);
    if (res.status === 404) return new MissingFileError(`${what}: ${detail}`);
    if (res.status === 416) return new MissingFileError(`${what}: the requested range lies past the end of the file. ${detail}`);
    if (res.status >= 500) return new ServerFailure(`${what}: the hub failed after ${this.maxRetries} retries. ${detail}`);
    return new NetworkError(`${what}: ${detail}`);
  }
}
