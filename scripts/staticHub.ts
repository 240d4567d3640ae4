// The app's embedded hub: the repositories under `hub/` published as static files with
// huggingface.co's URL layout, so the same HubClient reads them as it reads the Hub, and any
// static host (or the PWA's cache) can serve them. Built into `dist/hub/` by the Vite plugin in
// vite.config.ts, and served from memory by the dev server.
//
// Source:  hub/models/<owner>/<name>/…   hub/spaces/<owner>/<name>/…
// Output (paths under /hub/):
//   api/{models,spaces}/<repo>/revision/{main,<commit>}   model or Space info, as the Hub's API
//   api/{models,spaces}/<repo>/tree/<commit>               the file tree (one page, `recursive` implied)
//   <repo>/resolve/{main,<commit>}/<path>                  model files
//   spaces/<repo>/resolve/{main,<commit>}/<path>           Space files
//   index.json                                             every repo's info: a static host cannot
//                                                          answer `/api/models?search=`, so listings
//                                                          read this and filter on the device
//
// A static host sends no X-Repo-Commit, so the info's `sha` names the commit; it is a hash of
// the repo's contents, so an unchanged model keeps its commit across builds and stays cached.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';

export type RepoKind = 'models' | 'spaces';

export interface StaticTreeEntry {
  type: 'file';
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number; pointerSize: number };
}

/** The fields of the Hub's repo info that Pocket Hub reads. */
export interface StaticRepoInfo {
  id: string;
  author: string;
  sha: string;
  private: false;
  gated: false;
  disabled: false;
  tags: string[];
  pipeline_tag?: string;
  library_name?: string;
  sdk?: string;
  cardData: Record<string, unknown>;
  siblings: { rfilename: string }[];
}

export interface StaticHubIndex {
  models: StaticRepoInfo[];
  spaces: StaticRepoInfo[];
}

// The Hub keeps weights in LFS whatever their size; the client reads their sha256 from the tree.
export const LFS_EXTENSIONS = /\.(safetensors|gguf|bin|pt|pth|ckpt|onnx|h5|msgpack|model|npz|zip|tflite)$/i;
const LFS_THRESHOLD = 10 * 2 ** 20;

/** The oid git gives a file's content: sha1 over "blob <size>\0" and the bytes. */
export function gitBlobOid(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** What git stores in place of an LFS file. */
export function lfsPointer(sha256: string, size: number): Uint8Array {
  return new TextEncoder().encode(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The YAML front matter of a README, or {} when it has none or it does not parse (the Hub shows such a card without metadata). */
export function frontMatter(readme: string): Record<string, unknown> {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/.exec(readme);
  if (!m) return {};
  try {
    const data: unknown = parseYaml(m[1]);
    return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

interface BuiltRepo {
  info: StaticRepoInfo;
  tree: StaticTreeEntry[];
  contents: Map<string, Uint8Array>;
}

async function buildRepo(kind: RepoKind, id: string, dir: string): Promise<BuiltRepo> {
  const contents = new Map<string, Uint8Array>();
  const tree: StaticTreeEntry[] = [];
  for (const path of await listFiles(dir)) {
    const bytes = new Uint8Array(await readFile(join(dir, path)));
    contents.set(path, bytes);
    const entry: StaticTreeEntry = { type: 'file', path, size: bytes.length, oid: gitBlobOid(bytes) };
    if (LFS_EXTENSIONS.test(path) || bytes.length >= LFS_THRESHOLD) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const pointer = lfsPointer(sha256, bytes.length);
      // In git an LFS file is its pointer, so the oid is the pointer's; the Hub lists the real size.
      Object.assign(entry, { oid: gitBlobOid(pointer), lfs: { oid: sha256, size: bytes.length, pointerSize: pointer.length } });
    }
    tree.push(entry);
  }
  const commit = createHash('sha1')
    .update(`${kind}/${id}\n`)
    .update(tree.map((e) => `${e.lfs?.oid ?? e.oid} ${e.path}\n`).join(''))
    .digest('hex');
  const readme = contents.get('README.md');
  const card = readme ? frontMatter(new TextDecoder().decode(readme)) : {};
  const tags = stringList(card.tags);
  const info: StaticRepoInfo = {
    id,
    author: id.split('/')[0],
    sha: commit,
    private: false,
    gated: false,
    disabled: false,
    // The Hub adds the library and the license to the tags it lists; filters rely on that.
    tags: [...new Set([...tags, ...stringList(card.library_name), ...stringList(card.license).map((l) => `license:${l}`)])],
    ...(typeof card.pipeline_tag === 'string' ? { pipeline_tag: card.pipeline_tag } : {}),
    ...(typeof card.library_name === 'string' ? { library_name: card.library_name } : {}),
    ...(kind === 'spaces' && typeof card.sdk === 'string' ? { sdk: card.sdk } : {}),
    cardData: card,
    siblings: tree.map((e) => ({ rfilename: e.path })),
  };
  return { info, tree, contents };
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** Every file of the static hub built from `root`, keyed by its path under the hub's URL. */
export async function buildStaticHub(root: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const index: StaticHubIndex = { models: [], spaces: [] };
  for (const kind of ['models', 'spaces'] as const) {
    for (const owner of await subfolders(join(root, kind))) {
      for (const name of await subfolders(join(root, kind, owner))) {
        const id = `${owner}/${name}`;
        const { info, tree, contents } = await buildRepo(kind, id, join(root, kind, owner, name));
        index[kind].push(info);
        for (const revision of ['main', info.sha]) {
          out.set(`api/${kind}/${id}/revision/${revision}`, json(info));
          const filePrefix = kind === 'models' ? id : `spaces/${id}`;
          for (const [path, bytes] of contents) out.set(`${filePrefix}/resolve/${revision}/${path}`, bytes);
        }
        out.set(`api/${kind}/${id}/tree/${info.sha}`, json(tree));
      }
    }
  }
  out.set('index.json', json(index));
  return out;
}

/** The Content-Type a static host would send for a hub path; API answers have no extension. */
export function staticHubContentType(path: string): string {
  if (path.startsWith('api/') || path.endsWith('.json')) return 'application/json; charset=utf-8';
  if (/\.(md|txt)$/i.test(path) || path.endsWith('/LICENSE')) return 'text/plain; charset=utf-8';
  if (path.endsWith('.html')) return 'text/html; charset=utf-8';
  if (path.endsWith('.js')) return 'text/javascript; charset=utf-8';
  if (path.endsWith('.css')) return 'text/css; charset=utf-8';
  if (path.endsWith('.svg')) return 'image/svg+xml';
  if (path.endsWith('.png')) return 'image/png';
  return 'application/octet-stream';
}

/**
 * Serves a built hub for `vite` (dev), as a static host would: GET/HEAD, one byte range
 * (`bytes=a-b`, `bytes=a-`), 404 for anything missing, never the SPA's index.html.
 */
export function staticHubHandler(files: () => Promise<Map<string, Uint8Array>>, prefix = '/hub/') {
  return async (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): Promise<void> => {
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return next();
    }
    if (!pathname.startsWith(prefix)) return next();
    try {
      const bytes = (await files()).get(pathname.slice(prefix.length));
      if (!bytes || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(bytes ? 405 : 404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(bytes ? 'Method not allowed' : 'Not found');
        return;
      }
      const headers: Record<string, string | number> = { 'Content-Type': staticHubContentType(pathname), 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-cache' };
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      let body = bytes;
      if (range) {
        const start = Number(range[1]);
        const end = range[2] === '' ? bytes.length - 1 : Math.min(Number(range[2]), bytes.length - 1);
        if (start >= bytes.length || end < start) {
          res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` }).end();
          return;
        }
        body = bytes.subarray(start, end + 1);
        Object.assign(headers, { 'Content-Range': `bytes ${start}-${end}/${bytes.length}` });
      }
      res.writeHead(range ? 206 : 200, { ...headers, 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      next(err);
    }
  };
}
