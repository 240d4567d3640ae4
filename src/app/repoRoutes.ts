// Paths of the Hub-like pages: a model lives at `/<owner>/<name>` as on huggingface.co, and
// the listing keeps its query in the URL so that a search can be shared and reloaded.
import type { RepoSearch } from '../protocol/index.ts';
import { embeddedHubUrl } from './models.ts';

/**
 * First path segments that are never an owner: the app's own routes, the embedded hub's files
 * under /hub/, and the Hub's own prefixes (a pasted `/spaces/x/y` or `/datasets/x/y`).
 */
const RESERVED_OWNERS = new Set(['hub', 'spaces', 'datasets', 'models', 'embed', 'sdk', 'api', 'chat', 'storage', 'settings']);

// As the Hub spells owners and names: letters, digits, '-', '_' and '.', not starting with '.' or '-'.
const SEGMENT = /^[A-Za-z0-9][\w.-]*$/;

/** Whether `/<owner>/<name>` names a model page rather than a reserved path or garbage. */
export function isModelPath(owner: string, name: string): boolean {
  return !RESERVED_OWNERS.has(owner.toLowerCase()) && SEGMENT.test(owner) && SEGMENT.test(name);
}

export function modelPagePath(repo: string, revision?: string): string {
  const path = `/${repo.split('/').map(encodeURIComponent).join('/')}`;
  return revision ? `${path}?${new URLSearchParams({ revision })}` : path;
}

/**
 * The chat page for a repo, with the GGUF file when one other than the default is chosen and
 * the page's `?hub=` when it had one.
 */
export function chatLink(repo: string, file?: string, hub?: string | null): string {
  const params = new URLSearchParams({ model: repo });
  if (file) params.set('file', file);
  if (hub) params.set('hub', hub);
  return `/chat?${params}`;
}

export type ModelSort = NonNullable<RepoSearch['sort']>;
export type ModelLibrary = NonNullable<RepoSearch['library']>;

export const MODEL_SORTS: readonly { value: ModelSort; label: string }[] = [
  { value: 'downloads', label: 'Most downloads' },
  { value: 'likes', label: 'Most likes' },
  { value: 'trending', label: 'Trending' },
  { value: 'lastModified', label: 'Recently updated' },
];

export const MODEL_LIBRARIES: readonly { value: ModelLibrary | ''; label: string }[] = [
  { value: '', label: 'Any library' },
  { value: 'gguf', label: 'GGUF' },
  { value: 'transformers', label: 'Transformers' },
];

export interface ModelQuery {
  search: string;
  library?: ModelLibrary;
  sort: ModelSort;
}

const DEFAULT_SORT: ModelSort = 'downloads';

/** `?search=&library=&sort=` as typed by anyone: unknown values fall back to the defaults. */
export function parseModelQuery(params: URLSearchParams): ModelQuery {
  const library = MODEL_LIBRARIES.find((l) => l.value !== '' && l.value === params.get('library'))?.value || undefined;
  const sort = MODEL_SORTS.find((s) => s.value === params.get('sort'))?.value ?? DEFAULT_SORT;
  return { search: params.get('search')?.trim() ?? '', sort, ...(library ? { library } : {}) };
}

/** The query as URL parameters, leaving out what is at its default so that links stay short. */
export function modelQueryParams(query: ModelQuery): URLSearchParams {
  const params = new URLSearchParams();
  if (query.search.trim()) params.set('search', query.search.trim());
  if (query.library) params.set('library', query.library);
  if (query.sort !== DEFAULT_SORT) params.set('sort', query.sort);
  return params;
}

/** How a hub endpoint is named in sentences: the embedded one as such, others by host. */
export function hubLabel(endpoint: string, embedded = embeddedHubUrl()): string {
  if (endpoint === embedded) return "the app's embedded hub";
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}
