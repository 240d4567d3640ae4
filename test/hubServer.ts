// A local stand-in for huggingface.co: the same URL layout, headers and error codes, served
// from a folder, with faults that can be switched on per test. The client and the weight
// store are tested against it over real sockets, so redirects, ranges and dropped
// connections go through the same fetch code paths as in production.
//
// Layout on disk: `<root>/<owner>/<name>/` is the commit `main` points to, whose sha is
// sha1 of the repo id (`repoCommit`); `<root>/<owner>/<name>@<sha>/` is another commit.
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, sep } from 'node:path';

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
  /**
   * Host name (without port) the CDN redirect points to. Left out, the redirect stays on the
   * request's own origin; '127.0.0.1' vs 'localhost' makes it cross-origin on the same server.
   */
  cdnHost?: string;
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
  /** Points a branch of `repo` at another commit, as a push would. */
  setBranch(repo: string, branch: string, commit: string): void;
}

const LFS_EXTENSIONS = /\.(safetensors|gguf|bin|pt|pth|ckpt|onnx|h5|msgpack|model|npz|zip|tflite)$/i;

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

export function repoCommit(repo: string): string {
  return createHash('sha1').update(repo).digest('hex');
}

/** The oid git gives a file's content: sha1 over "blob <size>\0" and the bytes. */
export function gitBlobOid(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function lfsPointer(sha256: string, size: number): Uint8Array {
  return new TextEncoder().encode(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`);
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

  async function repoExists(repo: string): Promise<boolean> {
    const info = await stat(join(options.root, repo)).catch(() => undefined);
    return !!info?.isDirectory();
  }

  /** The commit a revision names, or undefined when the repo has no such revision. */
  async function resolveRevision(repo: string, revision: string): Promise<string | undefined> {
    const branch = branches.get(`${repo}\0${revision}`) ?? (revision === 'main' ? repoCommit(repo) : undefined);
    const commit = branch ?? (/^[0-9a-f]{40}$/.test(revision) ? revision : undefined);
    if (!commit) return undefined;
    const info = await stat(commitDir(repo, commit)).catch(() => undefined);
    return info?.isDirectory() ? commit : undefined;
  }

  function commitDir(repo: string, commit: string): string {
    return commit === repoCommit(repo) ? join(options.root, repo) : join(options.root, `${repo}@${commit}`);
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

  async function fileAt(repo: string, commit: string, path: string): Promise<RepoFile | undefined> {
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
      'Content-Type': 'application/octet-stream',
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
  function checkGate(req: IncomingMessage, res: ServerResponse, repo: string): boolean {
    const granted = gated[repo];
    if (!granted) return true;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token && granted.includes(token)) return true;
    if (!token) sendError(res, 401, 'GatedRepo', `Access to model ${repo} is restricted. You must have access to it and be authenticated to access it.`);
    else sendError(res, 403, 'GatedRepo', `Access to model ${repo} is restricted and you are not in the authorized list.`);
    return false;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
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

    if (segments[0] === 'api' && segments[1] === 'models' && segments.length >= 4) {
      const repo = `${segments[2]}/${segments[3]}`;
      if (!(await repoExists(repo))) return sendError(res, 404, 'RepoNotFound', `Repository ${repo} not found`);
      const rest = segments.slice(4);
      if (rest.length === 0 || (rest[0] === 'revision' && rest.length === 2)) {
        const revision = rest[1] ?? 'main';
        const commit = await resolveRevision(repo, revision);
        if (!commit) return sendError(res, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
        const files = (await listTree(commitDir(repo, commit), '', true)).filter((f): f is RepoFile => 'oid' in f);
        const info = await stat(commitDir(repo, commit));
        const tags = [...new Set(files.flatMap((f) => (/\.safetensors$/.test(f.path) ? ['safetensors'] : /\.gguf$/.test(f.path) ? ['gguf'] : [])))];
        return sendJson(
          req,
          res,
          {
            _id: commit.slice(0, 24),
            id: repo,
            modelId: repo,
            author: segments[2],
            sha: commit,
            lastModified: info.mtime.toISOString(),
            private: false,
            gated: gated[repo] ? 'manual' : false,
            disabled: false,
            downloads: 0,
            likes: 0,
            tags,
            siblings: files.map((f) => ({ rfilename: f.path })),
            usedStorage: files.reduce((n, f) => n + f.size, 0),
          },
          { 'X-Repo-Commit': commit },
        );
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

    if (segments.length >= 5 && segments[2] === 'resolve') {
      const repo = `${segments[0]}/${segments[1]}`;
      if (!(await repoExists(repo))) return sendError(res, 404, 'RepoNotFound', `Repository ${repo} not found`);
      if (!checkGate(req, res, repo)) return;
      const commit = await resolveRevision(repo, segments[3]);
      if (!commit) return sendError(res, 404, 'RevisionNotFound', `Invalid rev id: ${segments[3]}`);
      const path = segments.slice(4).join('/');
      const file = await fileAt(repo, commit, path);
      res.setHeader('X-Repo-Commit', commit);
      if (!file) return sendError(res, 404, 'EntryNotFound', `${path} does not exist on "${segments[3]}"`);
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
