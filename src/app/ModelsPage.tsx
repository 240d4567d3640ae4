import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { searchRepos } from '../client/engineClient.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { RepoCard } from '../components/RepoCard.tsx';
import type { RepoListing } from '../protocol/index.ts';
import { loadHubSettings } from '../store/hubSettings.ts';
import './hubPages.css';
import { embeddedHubUrl } from './models.ts';
import { hubLabel, MODEL_LIBRARIES, MODEL_SORTS, modelPagePath, modelQueryParams, parseModelQuery, type ModelQuery } from './repoRoutes.ts';

const RESULTS_PER_HUB = 30;
// Long enough that a word is finished before a search starts, short enough to feel live.
const TYPING_PAUSE_MS = 300;

type HubResults = { status: 'loading' } | { status: 'ready'; listings: RepoListing[] } | { status: 'failed'; error: Error };

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** A hub's name as a heading: "The app's embedded hub", while hosts keep their lower case. */
function headingFor(hub: string): string {
  const label = hubLabel(hub);
  return label.startsWith('the ') ? `T${label.slice(1)}` : label;
}

/**
 * Each hub is searched on its own, so that results from a fast hub (the embedded one) show at
 * once and a hub that is down says so in its own section without hiding the others.
 */
function useHubSearch(hubs: string[], token: string | undefined, query: ModelQuery, attempt: number): Map<string, HubResults> {
  const [results, setResults] = useState(() => new Map<string, HubResults>());
  const key = JSON.stringify([hubs, token, query, attempt]);
  useEffect(() => {
    let live = true;
    setResults(new Map(hubs.map((hub) => [hub, { status: 'loading' }])));
    for (const hub of hubs) {
      const request = { kind: 'model' as const, hubs: [hub], token, limit: RESULTS_PER_HUB, sort: query.sort, ...(query.search ? { search: query.search } : {}), ...(query.library ? { library: query.library } : {}) };
      searchRepos(request).then(
        (listings) => live && setResults((r) => new Map(r).set(hub, { status: 'ready', listings })),
        (err: unknown) => live && setResults((r) => new Map(r).set(hub, { status: 'failed', error: asError(err) })),
      );
    }
    return () => {
      live = false;
    };
    // `key` stands for the hubs, token and query, which are new objects each render.
  }, [key]);
  return results;
}

/** `/models`: search across the configured hubs, with the query in the URL. */
export function ModelsPage() {
  const [params, setParams] = useSearchParams();
  const query = parseModelQuery(params);
  const [settings] = useState(loadHubSettings);
  const hubs = [...new Set([embeddedHubUrl(), ...settings.hubs])];
  const [text, setText] = useState(query.search);
  const [attempt, setAttempt] = useState(0);
  const results = useHubSearch(hubs, settings.token, query, attempt);

  const setQuery = (change: Partial<ModelQuery>) => setParams(modelQueryParams({ ...query, ...change }), { replace: true });

  // The box follows the URL when it changes from outside (back and forward).
  useEffect(() => setText(query.search), [query.search]);

  useEffect(() => {
    if (text.trim() === query.search) return;
    const timer = setTimeout(() => setQuery({ search: text }), TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
  });

  const settled = [...results.values()].every((r) => r.status !== 'loading');
  const total = [...results.values()].reduce((n, r) => n + (r.status === 'ready' ? r.listings.length : 0), 0);
  const now = Date.now();

  return (
    <section className="page wide models-page">
      <h1>Models</h1>
      <form
        className="models-search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ search: text });
        }}
      >
        <div className="field models-search-text">
          <label className="field-label" htmlFor="models-search">
            Search models
          </label>
          <input id="models-search" type="search" placeholder="Filter by name" value={text} onChange={(e) => setText(e.target.value)} />
        </div>
        <div className="field">
          <label className="field-label" htmlFor="models-library">
            Library
          </label>
          <select id="models-library" value={query.library ?? ''} onChange={(e) => setQuery({ library: (e.target.value || undefined) as ModelQuery['library'] })}>
            {MODEL_LIBRARIES.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor="models-sort">
            Sort
          </label>
          <select id="models-sort" value={query.sort} onChange={(e) => setQuery({ sort: e.target.value as ModelQuery['sort'] })}>
            {MODEL_SORTS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
      </form>

      <p className="hint" role="status">
        {settled ? `${total} ${total === 1 ? 'model' : 'models'}${query.search ? ` matching “${query.search}”` : ''}` : 'Searching…'}
      </p>

      {hubs.map((hub) => {
        const r = results.get(hub) ?? { status: 'loading' };
        const headingId = `hub-results-${hubs.indexOf(hub)}`;
        return (
          <section key={hub} className="hub-results" aria-labelledby={headingId} aria-busy={r.status === 'loading'}>
            <h2 id={headingId}>{headingFor(hub)}</h2>
            {r.status === 'loading' && <p className="hint">Searching {hubLabel(hub)}…</p>}
            {r.status === 'failed' && <ErrorAlert error={r.error} onRetry={() => setAttempt((n) => n + 1)} />}
            {r.status === 'ready' &&
              (r.listings.length === 0 ? (
                <p className="empty">No models here{query.search ? ` match “${query.search}”` : ''}.</p>
              ) : (
                <ul className="repo-grid">
                  {r.listings.map(({ info }) => (
                    <li key={info.id}>
                      <RepoCard info={info} to={modelPagePath(info.id)} now={now} />
                    </li>
                  ))}
                </ul>
              ))}
          </section>
        );
      })}
    </section>
  );
}
