// A local stand-in for huggingface.co: the same URL layout, headers and error codes, served
// from a folder, with faults that can be switched on per test. The client and the weight
// store are tested against it over real sockets, so redirects, ranges and dropped
// connections go through the same fetch code paths as in production.
//
// Layout on disk: `<root>/<owner>/<name>/` is a model at the commit `main` points to, whose sha
// is sha1 of the repo id (`repoCommit`); `<root>/<owner>/<name>@<sha>/` is another commit.
// Spaces live the same way under `<root>/spaces/` (so no model owner may be called `spaces`,
// as on the Hub), and their key — for `repoCommit`, `gated`, `stats`, `setBranch` — is
// `spaces/<owner>/<name>`. Info answers carry the README's front matter as `cardData`, and
// `/api/models` and `/api/spaces` list repos with the Hub's search, filter, sort and limit.
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, sep } from 'node:path';
import { frontMatter, gitBlobOid, LFS_EXTENSIONS, lfsPointer } from '../scripts/staticHub.ts';

export interface HubServerOptions {
  /** Folder holding `<owner>/<name>/` repositories. */
  root: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /**
   * Files at least this large are stored in LFS (redirected to the CDN). The Hub refuses
   * plain git files over 10 MiB, hence the default; weight extensions are LFS at any size.
   */
  lfsThreshold?: number;
  /** Tree entries per page before a `Link: rel="next"` header. */
  treePageSize?: number;
  /** Gated repos and the tokens granted access to each. */
  gated?: Record<string, string[]>;
  /** Popularity and dates the info and listing answers report, per repo key (0 and the folder's mtime otherwise). */
  stats?: Record<string, RepoStats>;
  /**
   * Host name (without port) the CDN redirect points to. Left out, the redirect stays on the
   * request's own origin; '127.0.0.1' vs 'localhost' makes it cross-origin on the same server.
   */
  cdnHost?: string;
}

export interface RepoStats {
  downloads?: number;
  likes?: number;
  trendingScore?: number;
  /** ISO date. */
  lastModified?: string;
}

/** A fault applied to the next `times` requests whose path contains `match`. */
export type FaultRule = { match?: string; times?: number } & (
  | { kind: 'status'; status: number; retryAfter?: number; errorCode?: string }
  /** Close the socket before answering: the client sees a connection failure. */
  | { kind: 'reset' }
  /** Send the headers and `afterBytes` bytes of a file body, then close the socket. */
  | { kind: 'drop'; afterBytes: number }
  /** Invert the byte at each body offset (relative to the first byte sent). */
  | { kind: 'corrupt'; offsets: number[] }
  /** Send the body in 16 KiB chunks with a pause between them. */
  | { kind: 'slow'; delayMs: number }
);

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Body bytes sent so far in the answer (headers not counted). */
  bodyBytes: number;
}

export interface HubFaults {
  add(rule: FaultRule): void;
  clear(): void;
  /** Rules not used up yet. */
  readonly pending: readonly FaultRule[];
}

export interface HubServer {
  url: string;
  close(): Promise<void>;
  faults: HubFaults;
  /** Every request received, oldest first. */
  requests: RecordedRequest[];
  /** Points a branch of `repo` (a model id, or `spaces/<owner>/<name>`) at another commit, as a push would. */
  setBranch(repo: string, branch: string, commit: string): void;
}


// What huggingface.co exposes to cross-origin scripts; without this list a browser hides
// every non-safelisted header (X-Repo-Commit, ETag, Content-Range…) from fetch.
const EXPOSED_HEADERS = [
  'X-Repo-Commit',
  'X-Request-Id',
  'X-Error-Code',
  'X-Error-Message',
  'X-Total-Count',
  'X-Linked-Etag',
  'X-Linked-Size',
  'ETag',
  'Link',
  'Accept-Ranges',
  'Content-Range',
  'Content-Length',
].join(',');

export { gitBlobOid };

/** The commit `main` points to: sha1 of the repo's key (its id, or `spaces/<id>` for a Space). */
export function repoCommit(repo: string): string {
  return createHash('sha1').update(repo).digest('hex');
}

/**
 * Adds up the body bytes a response writes, for tests that check how much a client fetched.
 * Exported for other test servers (a static hub) to count the same way.
 */
export function countBodyBytes(res: ServerResponse, onBytes: (n: number) => void): void {
  const size = (chunk: unknown) => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk instanceof Uint8Array ? chunk.length : 0);
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    onBytes(size(chunk));
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') onBytes(size(chunk));
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
}

type Collection = 'models' | 'spaces';

/** A repo as the server finds it: `key` is its folder under the root. */
interface RepoRef {
  collection: Collection;
  id: string;
  key: string;
}

function repoRef(collection: Collection, id: string): RepoRef {
  return { collection, id, key: collection === 'spaces' ? `spaces/${id}` : id };
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}


interface RepoFile {
  path: string;
  absPath: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number; pointerSize: number };
}

interface Range {
  start: number;
  end: number;
}

/** Parses a single `bytes=` range; undefined when absent, 'invalid' when unsatisfiable. */
function parseRange(header: string | undefined, size: number): Range | 'invalid' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const lfsThreshold = options.lfsThreshold ?? 10 * 1024 * 1024;
  const pageSize = options.treePageSize ?? 1000;
  const gated = options.gated ?? {};
  const stats = options.stats ?? {};
  const rules: FaultRule[] = [];
  const requests: RecordedRequest[] = [];
  const branches = new Map<string, string>();
  // Hashing a file is the slow part of a request; a file's identity is its path, size and mtime.
  const hashCache = new Map<string, RepoFile>();
  // sha256 -> file, filled as trees and resolves are served, read by the CDN route.
  const lfsObjects = new Map<string, RepoFile>();

  function takeFault<K extends FaultRule['kind']>(kinds: K[], path: string): Extract<FaultRule, { kind: K }> | undefined {
    const i = rules.findIndex((r) => (kinds as string[]).includes(r.kind) && (r.match === undefined || path.includes(r.match)));
    if (i < 0) return undefined;
    const rule = rules[i];
    const left = (rule.times ?? 1) - 1;
    if (left <= 0) rules.splice(i, 1);
    else rules[i] = { ...rule, times: left };
    return rule as Extract<FaultRule, { kind: K }>;
  }

  async function repoExists(repo: RepoRef): Promise<boolean> {
    const info = await stat(join(options.root, repo.key)).catch(() => undefined);
    return !!info?.isDirectory();
  }

  /** The commit a revision names, or undefined when the repo has no such revision. */
  async function resolveRevision(repo: RepoRef, revision: string): Promise<string | undefined> {
    const branch = branches.get(`${repo.key}\0${revision}`) ?? (revision === 'main' ? repoCommit(repo.key) : undefined);
    const commit = branch ?? (/^[0-9a-f]{40}$/.test(revision) ? revision : undefined);
    if (!commit) return undefined;
    const info = await stat(commitDir(repo, commit)).catch(() => undefined);
    return info?.isDirectory() ? commit : undefined;
  }

  function commitDir(repo: RepoRef, commit: string): string {
    return commit === repoCommit(repo.key) ? join(options.root, repo.key) : join(options.root, `${repo.key}@${commit}`);
  }

  /** Every repo of a collection at its `main` folder, by id. */
  async function listRepos(collection: Collection): Promise<RepoRef[]> {
    const base = collection === 'spaces' ? join(options.root, 'spaces') : options.root;
    const dirs = async (dir: string) =>
      (await readdir(dir, { withFileTypes: true }).catch(() => []))
        .filter((e) => e.isDirectory() && !e.name.includes('@') && e.name !== '.git')
        .map((e) => e.name)
        .sort();
    const out: RepoRef[] = [];
    for (const owner of await dirs(base)) {
      if (collection === 'models' && owner === 'spaces') continue;
      for (const name of await dirs(join(base, owner))) out.push(repoRef(collection, `${owner}/${name}`));
    }
    return out;
  }

  /** The info answer of a repo at a commit, with the fields huggingface.co fills from the card and the files. */
  async function repoInfo(repo: RepoRef, commit: string): Promise<Record<string, unknown>> {
    const dir = commitDir(repo, commit);
    const files = (await listTree(dir, '', true)).filter((f): f is RepoFile => 'oid' in f);
    const readme = files.some((f) => f.path === 'README.md') ? await readFile(join(dir, 'README.md'), 'utf8') : '';
    const card = frontMatter(readme);
    const pipelineTag = typeof card.pipeline_tag === 'string' ? card.pipeline_tag : undefined;
    const libraryName = typeof card.library_name === 'string' ? card.library_name : undefined;
    const formats = files.flatMap((f) => (/\.safetensors$/.test(f.path) ? ['safetensors'] : /\.gguf$/.test(f.path) ? ['gguf'] : []));
    // The Hub lists the library, the pipeline, the weight formats and the license among the tags; filters match on them.
    const tags = [
      ...new Set([
        ...stringList(card.tags),
        ...stringList(libraryName),
        ...formats,
        ...stringList(pipelineTag),
        ...stringList(card.license).map((l) => `license:${l}`),
      ]),
    ];
    const own = stats[repo.key] ?? {};
    const modified = own.lastModified ?? (await stat(dir)).mtime.toISOString();
    const space = repo.collection === 'spaces';
    return {
      _id: commit.slice(0, 24),
      id: repo.id,
      ...(space ? {} : { modelId: repo.id }),
      author: repo.id.split('/')[0],
      sha: commit,
      lastModified: modified,
      createdAt: modified,
      private: false,
      gated: gated[repo.key] ? 'manual' : false,
      disabled: false,
      ...(space ? {} : { downloads: own.downloads ?? 0 }),
      likes: own.likes ?? 0,
      trendingScore: own.trendingScore ?? 0,
      tags,
      ...(pipelineTag ? { pipeline_tag: pipelineTag } : {}),
      ...(libraryName ? { library_name: libraryName } : {}),
      ...(space && typeof card.sdk === 'string' ? { sdk: card.sdk } : {}),
      cardData: card,
      siblings: files.map((f) => ({ rfilename: f.path })),
      usedStorage: files.reduce((n, f) => n + f.size, 0),
    };
  }

  // What `/api/models` and `/api/spaces` return per repo without `full`: the Hub leaves out
  // the files, the commit and the card unless asked (`cardData=true`, or `full=true`).
  const LISTED_FIELDS = ['_id', 'id', 'modelId', 'likes', 'trendingScore', 'private', 'downloads', 'tags', 'pipeline_tag', 'library_name', 'sdk', 'createdAt'];

  async function listing(collection: Collection, query: URLSearchParams): Promise<Record<string, unknown>[]> {
    const words = (query.get('search') ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const filters = query.getAll('filter');
    const library = query.get('library');
    const pipeline = query.get('pipeline_tag');
    const author = query.get('author');
    const infos: Record<string, unknown>[] = [];
    for (const repo of await listRepos(collection)) {
      const commit = await resolveRevision(repo, 'main');
      if (commit) infos.push(await repoInfo(repo, commit));
    }
    const matches = infos.filter((info) => {
      const id = String(info.id).toLowerCase();
      const tags = info.tags as string[];
      return (
        words.every((w) => id.includes(w)) &&
        filters.every((f) => tags.includes(f)) &&
        (!library || info.library_name === library || tags.includes(library)) &&
        (!pipeline || info.pipeline_tag === pipeline) &&
        (!author || info.author === author)
      );
    });
    const sort = query.get('sort');
    if (sort) {
      // Descending unless `direction=1`, as the Hub sorts.
      const sign = query.get('direction') === '1' ? 1 : -1;
      const value = (info: Record<string, unknown>) => (typeof info[sort] === 'string' ? Date.parse(info[sort] as string) : Number(info[sort] ?? 0));
      matches.sort((a, b) => sign * (value(a) - value(b)));
    }
    const limit = Number(query.get('limit') ?? NaN);
    const full = query.get('full') === 'true';
    const withCard = full || query.get('cardData') === 'true';
    return matches.slice(0, Number.isSafeInteger(limit) && limit > 0 ? limit : undefined).map((info) =>
      full ? info : Object.fromEntries(Object.entries(info).filter(([k]) => LISTED_FIELDS.includes(k) || (withCard && k === 'cardData'))),
    );
  }

  async function describe(absPath: string, path: string, info: Stats): Promise<RepoFile> {
    const key = `${absPath}\0${info.size}\0${info.mtimeMs}`;
    const cached = hashCache.get(key);
    if (cached) return { ...cached, path };
    const content = await readFile(absPath);
    let file: RepoFile;
    if (content.length >= lfsThreshold || LFS_EXTENSIONS.test(path)) {
      const sha256 = createHash('sha256').update(content).digest('hex');
      const pointer = lfsPointer(sha256, content.length);
      file = { path, absPath, size: content.length, oid: gitBlobOid(pointer), lfs: { oid: sha256, size: content.length, pointerSize: pointer.length } };
      lfsObjects.set(sha256, file);
    } else {
      file = { path, absPath, size: content.length, oid: gitBlobOid(content) };
    }
    hashCache.set(key, file);
    return file;
  }

  /** Files and directories under a commit, sorted by path as the Hub lists them. */
  async function listTree(dir: string, sub: string, recursive: boolean): Promise<Array<RepoFile | { dir: string }>> {
    const out: Array<RepoFile | { dir: string }> = [];
    const entries = await readdir(join(dir, sub), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name === '.git') continue;
      const path = sub ? `${sub}/${e.name}` : e.name;
      const abs = join(dir, path);
      if (e.isDirectory()) {
        out.push({ dir: path });
        if (recursive) out.push(...(await listTree(dir, path, true)));
      } else if (e.isFile()) {
        out.push(await describe(abs, path, await stat(abs)));
      }
    }
    return out;
  }

  async function fileAt(repo: RepoRef, commit: string, path: string): Promise<RepoFile | undefined> {
    const dir = commitDir(repo, commit);
    const abs = join(dir, path);
    // Keeps `..` and absolute paths inside the commit's folder.
    if (!abs.startsWith(dir + sep)) return undefined;
    const info = await stat(abs).catch(() => undefined);
    return info?.isFile() ? describe(abs, path, info) : undefined;
  }

  function setCors(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    res.setHeader('Access-Control-Allow-Origin', origin ?? '*');
    if (origin) res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  }

  function sendError(res: ServerResponse, status: number, code: string | undefined, message: string): void {
    if (code) res.setHeader('X-Error-Code', code);
    res.setHeader('X-Error-Message', message);
    res.setHeader('Content-Type', 'application/json');
    res.writeHead(status);
    res.end(JSON.stringify({ error: message }));
  }

  function sendJson(req: IncomingMessage, res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.length, ...headers });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }

  async function sendFileBody(req: IncomingMessage, res: ServerResponse, file: RepoFile, headers: Record<string, string>): Promise<void> {
    const range = parseRange(req.headers.range, file.size);
    if (range === 'invalid') {
      res.writeHead(416, { 'Content-Range': `bytes */${file.size}`, ...headers });
      res.end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: file.size - 1 };
    const length = Math.max(0, end - start + 1);
    res.writeHead(range ? 206 : 200, {
      // A static Space's app_file renders in an iframe only when served as a page, as the Hub
      // serves it; every other file stays bytes, which is all the engine reads.
      'Content-Type': /\.html$/i.test(file.path) ? 'text/html; charset=utf-8' : 'application/octet-stream',
      'Content-Length': length,
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${file.size}` } : {}),
      ...headers,
    });
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const fault = takeFault(['drop', 'corrupt', 'slow'], req.url ?? '');
    const stream = createReadStream(file.absPath, { start, end, highWaterMark: fault?.kind === 'slow' ? 16 * 1024 : 64 * 1024 });
    let sent = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let bytes = chunk;
      if (fault?.kind === 'corrupt') {
        bytes = Buffer.from(chunk);
        for (const at of fault.offsets) if (at >= sent && at < sent + bytes.length) bytes[at - sent] ^= 0xff;
      }
      if (fault?.kind === 'drop' && sent + bytes.length >= fault.afterBytes) {
        const head = bytes.subarray(0, fault.afterBytes - sent);
        await new Promise<void>((done) => res.write(head, () => done()));
        stream.destroy();
        res.socket?.destroy();
        return;
      }
      if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.delayMs));
      if (res.destroyed) {
        stream.destroy();
        return;
      }
      sent += bytes.length;
      if (!res.write(bytes)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  }

  /** 401 without a token, 403 with one not granted, as the Hub answers for gated repos. */
  function checkGate(req: IncomingMessage, res: ServerResponse, repo: RepoRef): boolean {
    const granted = gated[repo.key];
    if (!granted) return true;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token && granted.includes(token)) return true;
    const what = `${repo.collection === 'spaces' ? 'space' : 'model'} ${repo.id}`;
    if (!token) sendError(res, 401, 'GatedRepo', `Access to ${what} is restricted. You must have access to it and be authenticated to access it.`);
    else sendError(res, 403, 'GatedRepo', `Access to ${what} is restricted and you are not in the authorized list.`);
    return false;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    const record: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, bodyBytes: 0 };
    requests.push(record);
    countBodyBytes(res, (n) => (record.bodyBytes += n));
    setCors(req, res);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Range, Content-Type, If-None-Match, If-Range',
        'Access-Control-Max-Age': '86400',
      });
      res.end();
      return;
    }
    const pre = takeFault(['status', 'reset'], req.url ?? '');
    if (pre?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (pre?.kind === 'status') {
      if (pre.retryAfter !== undefined) res.setHeader('Retry-After', String(pre.retryAfter));
      sendError(res, pre.status, pre.errorCode, `Injected HTTP ${pre.status}`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, undefined, 'Method not allowed');
      return;
    }
    const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);

    if (segments[0] === 'cdn' && segments.length === 2) {
      const file = lfsObjects.get(segments[1]);
      if (!file) return sendError(res, 404, undefined, 'No such object');
      return sendFileBody(req, res, file, { ETag: `"${segments[1]}"`, 'Cache-Control': 'public, max-age=31536000, immutable' });
    }

    const collection = segments[0] === 'api' && (segments[1] === 'models' || segments[1] === 'spaces') ? segments[1] : undefined;
    if (collection && segments.length === 2) return sendJson(req, res, await listing(collection, url.searchParams));

    if (collection && segments.length >= 4) {
      const repo = repoRef(collection, `${segments[2]}/${segments[3]}`);
      if (!(await repoExists(repo))) return sendError(res, 404, 'RepoNotFound', `Repository ${repo.id} not found`);
      const rest = segments.slice(4);
      if (rest.length === 0 || (rest[0] === 'revision' && rest.length === 2)) {
        const revision = rest[1] ?? 'main';
        const commit = await resolveRevision(repo, revision);
        if (!commit) return sendError(res, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
        return sendJson(req, res, await repoInfo(repo, commit), { 'X-Repo-Commit': commit });
      }
      if (rest[0] === 'tree' && rest.length >= 2) {
        const commit = await resolveRevision(repo, rest[1]);
        if (!commit) return sendError(res, 404, 'RevisionNotFound', `Invalid rev id: ${rest[1]}`);
        const sub = rest.slice(2).join('/');
        const dir = commitDir(repo, commit);
        const subInfo = await stat(join(dir, sub)).catch(() => undefined);
        if (!subInfo?.isDirectory()) return sendError(res, 404, 'EntryNotFound', `${sub} does not exist on "${rest[1]}"`);
        const entries = await listTree(dir, sub, url.searchParams.get('recursive') === 'true');
        const cursor = Number(url.searchParams.get('cursor') ?? '0');
        const page = entries.slice(cursor, cursor + pageSize);
        const headers: Record<string, string> = { 'X-Repo-Commit': commit };
        if (cursor + pageSize < entries.length) {
          const next = new URL(req.url ?? '/', `http://${req.headers.host}`);
          next.searchParams.set('cursor', String(cursor + pageSize));
          headers.Link = `<${next.href}>; rel="next"`;
        }
        return sendJson(
          req,
          res,
          page.map((e) =>
            'dir' in e
              ? { type: 'directory', oid: createHash('sha1').update(`tree ${e.dir}`).digest('hex'), size: 0, path: e.dir }
              : { type: 'file', oid: e.oid, size: e.size, path: e.path, ...(e.lfs ? { lfs: e.lfs } : {}) },
          ),
          headers,
        );
      }
      return sendError(res, 404, undefined, 'Not found');
    }

    // Space files are `/spaces/<owner>/<name>/resolve/…`, model files `/<owner>/<name>/resolve/…`.
    const space = segments[0] === 'spaces' && segments[3] === 'resolve';
    const at = space ? segments.slice(1) : segments;
    if (at.length >= 5 && at[2] === 'resolve') {
      const repo = repoRef(space ? 'spaces' : 'models', `${at[0]}/${at[1]}`);
      if (!(await repoExists(repo))) return sendError(res, 404, 'RepoNotFound', `Repository ${repo.id} not found`);
      if (!checkGate(req, res, repo)) return;
      const commit = await resolveRevision(repo, at[3]);
      if (!commit) return sendError(res, 404, 'RevisionNotFound', `Invalid rev id: ${at[3]}`);
      const path = at.slice(4).join('/');
      const file = await fileAt(repo, commit, path);
      res.setHeader('X-Repo-Commit', commit);
      if (!file) return sendError(res, 404, 'EntryNotFound', `${path} does not exist on "${at[3]}"`);
      if (file.lfs) {
        const host = options.cdnHost ? `${options.cdnHost}:${(server.address() as AddressInfo).port}` : req.headers.host;
        res.writeHead(302, {
          Location: `http://${host}/cdn/${file.lfs.oid}`,
          ETag: `"${file.oid}"`,
          'X-Linked-Etag': `"${file.lfs.oid}"`,
          'X-Linked-Size': String(file.lfs.size),
          'Content-Length': 0,
        });
        res.end();
        return;
      }
      return sendFileBody(req, res, file, { ETag: `"${file.oid}"` });
    }
    sendError(res, 404, undefined, 'Not found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, undefined, String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((ready, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ready());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((err) => (err ? fail(err) : done()));
        server.closeAllConnections();
      }),
    faults: {
      add: (rule) => void rules.push(rule),
      clear: () => void rules.splice(0),
      get pending() {
        return rules;
      },
    },
    requests,
    setBranch: (repo, branch, commit) => void branches.set(`${repo}\0${branch}`, commit),
  };
}
