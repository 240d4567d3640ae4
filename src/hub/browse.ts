// What the model and Space pages show about repos, read from the hubs: a repo's info, files and
// card at one commit, and listings across hubs (a static hub's index.json filtered here, the
// Hub API elsewhere). Model facts from file headers are in modelFacts.ts. No DOM: it runs in
// the engine worker and in Node.
import { isPocketHubError, NetworkError, PocketHubError } from '../protocol/errors.ts';
import type { RepoDetails, RepoInfo, RepoKind, RepoListing, RepoRequest, RepoSearch } from '../protocol/index.ts';
import { NotAHubError, type HubClient } from './client.ts';

const DEFAULT_LIMIT = 20;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A copy without the keys whose value is undefined, so answers carry only the fields they have. */
export function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The fields of a hub's info (or listing) answer that the pages show. */
export function repoInfo(kind: RepoKind, raw: Record<string, unknown>, id = ''): RepoInfo {
  const text = (key: string) => (typeof raw[key] === 'string' ? (raw[key] as string) : undefined);
  const count = (key: string) => (typeof raw[key] === 'number' && Number.isFinite(raw[key]) ? (raw[key] as number) : undefined);
  const gated = raw.gated === false || typeof raw.gated === 'string' ? raw.gated : undefined;
  return withoutUndefined<RepoInfo>({
    id: text('id') ?? text('modelId') ?? id,
    kind,
    tags: Array.isArray(raw.tags) ? raw.tags.filter((t): t is string => typeof t === 'string') : [],
    pipelineTag: text('pipeline_tag'),
    libraryName: text('library_name'),
    likes: count('likes'),
    downloads: count('downloads'),
    lastModified: text('lastModified'),
    gated,
    sdk: text('sdk'),
    cardData: isObject(raw.cardData) ? raw.cardData : undefined,
  });
}

/** A repo's info, files and README at the commit its revision names, from the first hub that has it. */
export async function describeRepo(client: HubClient, request: RepoRequest, signal?: AbortSignal): Promise<RepoDetails> {
  const resolved = await client.resolveRepo(request.repo, request.revision, signal, request.kind);
  let readme = '';
  if (resolved.files.some((f) => f.path === 'README.md')) {
    try {
      readme = await (await client.fetchFile(resolved, 'README.md', { signal })).text();
    } catch (err) {
      // A gated repo lists its files and card data to anyone but serves files only to those
      // granted access; the page still shows what the info says, and that access is needed.
      if (!isPocketHubError(err, 'AuthRequiredError')) throw err;
    }
  }
  return {
    info: repoInfo(request.kind, resolved.info, request.repo),
    endpoint: resolved.endpoint,
    commit: resolved.commit,
    files: resolved.files.map((f) => withoutUndefined({ path: f.path, size: f.size, lfs: f.sha256 !== undefined, sha256: f.sha256, oid: f.oid })),
    readme,
    resolveBase: client.fileUrl(resolved, ''),
  };
}

// ── Listings

type Sort = NonNullable<RepoSearch['sort']>;

/** The Hub API's sort keys; Spaces have no download count, so 'downloads' ranks them by likes. */
function apiSort(kind: RepoKind, sort: Sort): string {
  if (sort === 'trending') return 'trendingScore';
  return kind === 'space' && sort === 'downloads' ? 'likes' : sort;
}

/** Whether an endpoint is a static hub (it serves index.json), learnt once per endpoint: a search per keystroke should not ask twice. */
const staticHubs = new Map<string, boolean>();

async function staticIndex(client: HubClient, endpoint: string, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
  if (staticHubs.get(endpoint) === false) return undefined;
  let index: unknown;
  try {
    index = await client.getJson(endpoint, 'index.json', 'index.json', signal);
  } catch (err) {
    // huggingface.co and other live hubs have no index.json: any answer but a failure to reach the host says so.
    if (isPocketHubError(err, 'MissingFileError') || isPocketHubError(err, 'AuthRequiredError') || err instanceof NotAHubError) {
      staticHubs.set(endpoint, false);
      return undefined;
    }
    throw err;
  }
  if (!isObject(index) || !Array.isArray(index.models) || !Array.isArray(index.spaces)) {
    staticHubs.set(endpoint, false);
    return undefined;
  }
  return index;
}

/** The Hub's search and filters applied on the device to a static hub's index.json. */
function searchIndex(index: Record<string, unknown>, request: RepoSearch): RepoInfo[] {
  const entries = (request.kind === 'space' ? index.spaces : index.models) as unknown[];
  const words = (request.search ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const found = entries
    .filter(isObject)
    .map((raw) => repoInfo(request.kind, raw))
    .filter((info) => {
      const id = info.id.toLowerCase();
      if (!words.every((w) => id.includes(w))) return false;
      if (request.kind === 'space') return true;
      if (info.pipelineTag !== 'text-generation') return false;
      return !request.library || info.libraryName === request.library || info.tags.includes(request.library);
    });
  // A static host keeps no counts, dates or trending scores unless its cards say so: missing
  // values count as 0 and the index order is kept among equals ('trending' keeps it throughout).
  const sort = request.sort && request.sort !== 'trending' ? apiSort(request.kind, request.sort) : undefined;
  if (sort) {
    const key = (info: RepoInfo): number =>
      sort === 'lastModified' ? Date.parse(info.lastModified ?? '') || 0 : ((sort === 'likes' ? info.likes : info.downloads) ?? 0);
    found.sort((a, b) => key(b) - key(a));
  }
  return found.slice(0, request.limit ?? DEFAULT_LIMIT);
}

function apiQuery(request: RepoSearch): string {
  const q = new URLSearchParams();
  if (request.search) q.set('search', request.search);
  if (request.kind === 'model') {
    q.set('pipeline_tag', 'text-generation');
    if (request.library) q.set('library', request.library);
  }
  if (request.sort) {
    q.set('sort', apiSort(request.kind, request.sort));
    q.set('direction', '-1');
  }
  q.set('limit', String(request.limit ?? DEFAULT_LIMIT));
  // The card's YAML gives each result its title and description; Spaces also need `full` for their sdk and card.
  q.set(request.kind === 'space' ? 'full' : 'cardData', 'true');
  return `api/${request.kind === 'space' ? 'spaces' : 'models'}?${q}`;
}

async function searchEndpoint(client: HubClient, endpoint: string, request: RepoSearch, signal?: AbortSignal): Promise<RepoInfo[]> {
  const index = await staticIndex(client, endpoint, signal);
  if (index) return searchIndex(index, request);
  const answer = await client.getJson(endpoint, apiQuery(request), `the ${request.kind} listing`, signal);
  if (!Array.isArray(answer)) throw new NetworkError(`${endpoint} answered the ${request.kind} listing with something other than a list.`);
  return answer.filter(isObject).map((raw) => repoInfo(request.kind, raw));
}

/**
 * Repos across the hubs, each hub's results in its own order. A repo id found on an earlier
 * hub hides the same id further down, since `load` would take it from the earlier hub. A hub
 * that fails is skipped, unless all do: then the first hub's error is thrown.
 */
export async function searchRepos(client: HubClient, request: RepoSearch, signal?: AbortSignal): Promise<RepoListing[]> {
  const failures: unknown[] = [];
  const seen = new Set<string>();
  const out: RepoListing[] = [];
  for (const endpoint of client.endpointUrls) {
    let found: RepoInfo[];
    try {
      found = await searchEndpoint(client, endpoint, request, signal);
    } catch (err) {
      if (!(err instanceof PocketHubError) || err.name === 'AbortError') throw err;
      failures.push(err);
      continue;
    }
    for (const info of found) {
      if (seen.has(info.id)) continue;
      seen.add(info.id);
      out.push({ info, endpoint });
    }
  }
  if (failures.length === client.endpointUrls.length) throw failures[0];
  return out;
}
