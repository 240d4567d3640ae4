import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { searchRepos } from '../client/engineClient.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import type { RepoListing } from '../protocol/index.ts';
import { loadHubSettings } from '../store/hubSettings.ts';
import { embeddedHubUrl } from './models.ts';
import { hubLabel } from './repoRoutes.ts';
import { gallery, runsInBrowser, sdkLabel, SPACE_TEXT_COLOR, type SpaceSummary } from './spaces.ts';
import './hubPages.css';
import './spaces.css';

const RESULTS_PER_HUB = 30;
// Long enough that a word is finished before a search starts, short enough to feel live.
const TYPING_PAUSE_MS = 300;

type HubAnswer = { status: 'loading' } | { status: 'ready'; listings: RepoListing[] } | { status: 'failed'; error: Error };

/**
 * Each hub is asked on its own, so that the embedded hub's Spaces show at once and a slow or
 * unreachable hub delays nothing; the gallery merges the answers in the hubs' order.
 */
function useSpaceSearch(hubs: string[], token: string | undefined, search: string, attempt: number): Map<string, HubAnswer> {
  const [answers, setAnswers] = useState(() => new Map<string, HubAnswer>());
  const key = JSON.stringify([hubs, token, search, attempt]);
  useEffect(() => {
    let live = true;
    setAnswers(new Map(hubs.map((hub) => [hub, { status: 'loading' }])));
    for (const hub of hubs) {
      searchRepos({ kind: 'space', hubs: [hub], token, sort: 'likes', limit: RESULTS_PER_HUB, ...(search ? { search } : {}) }).then(
        (listings) => live && setAnswers((a) => new Map(a).set(hub, { status: 'ready', listings })),
        (err: unknown) => live && setAnswers((a) => new Map(a).set(hub, { status: 'failed', error: err instanceof Error ? err : new Error(String(err)) })),
      );
    }
    return () => {
      live = false;
    };
    // `key` stands for the hubs, token and search, which are new values each render.
  }, [key]);
  return answers;
}

/** `/spaces`: the apps people built on models, across the configured hubs, pinned ones first. */
export function SpacesPage() {
  const [params, setParams] = useSearchParams();
  const search = params.get('search')?.trim() ?? '';
  const [settings] = useState(loadHubSettings);
  const hubs = [...new Set([embeddedHubUrl(), ...settings.hubs])];
  const [text, setText] = useState(search);
  const [attempt, setAttempt] = useState(0);
  const answers = useSpaceSearch(hubs, settings.token, search, attempt);

  const setSearch = (value: string) => setParams(value.trim() ? { search: value.trim() } : {}, { replace: true });

  // The box follows the URL when it changes from outside (back and forward).
  useEffect(() => setText(search), [search]);

  useEffect(() => {
    if (text.trim() === search) return;
    const timer = setTimeout(() => setSearch(text), TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
  });

  useEffect(() => {
    document.title = 'Spaces · Pocket Hub';
    return () => {
      document.title = 'Pocket Hub';
    };
  }, []);

  const perHub = hubs.map((hub) => answers.get(hub) ?? { status: 'loading' as const });
  const cards = gallery(perHub.map((a) => (a.status === 'ready' ? a.listings : undefined)));
  const loading = perHub.some((a) => a.status === 'loading');
  const failures = hubs.flatMap((hub, i) => {
    const a = perHub[i];
    return a.status === 'failed' ? [{ hub, error: a.error }] : [];
  });
  const allFailed = failures.length === hubs.length;
  const matching = search ? ` matching “${search}”` : '';

  return (
    <section className="page wide spaces-page" aria-busy={loading}>
      <h1>Spaces</h1>
      <p className="lead">Apps built on open models. The ones marked Chat, Completion or Static run right here, on your GPU.</p>
      <form
        className="spaces-search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch(text);
        }}
      >
        <label className="field-label" htmlFor="spaces-search">
          Search Spaces
        </label>
        <input id="spaces-search" type="search" placeholder="Filter by name" value={text} onChange={(e) => setText(e.target.value)} />
      </form>

      <p className="hint" role="status">
        {loading ? 'Searching…' : allFailed ? '' : `${cards.length} ${cards.length === 1 ? 'Space' : 'Spaces'}${matching}`}
      </p>

      {cards.length > 0 ? (
        <ul className="space-grid" aria-label="Spaces">
          {cards.map((space) => (
            <li key={space.id}>
              <SpaceCard space={space} />
            </li>
          ))}
        </ul>
      ) : (
        !loading && !allFailed && <p className="empty">{search ? `No Spaces match “${search}”.` : 'No Spaces on these hubs yet.'}</p>
      )}

      {/* After the gallery: a hub that cannot be reached matters less than the Spaces the others found. */}
      {failures.map(({ hub, error }) => (
        <div key={hub} className="spaces-failure">
          <p>Spaces from {hubLabel(hub)} could not be listed.</p>
          <ErrorAlert error={error} onRetry={() => setAttempt((n) => n + 1)} />
        </div>
      ))}
    </section>
  );
}

function SpaceCard({ space }: { space: SpaceSummary }) {
  return (
    <article className="space-card">
      <div className="space-card-cover" style={{ background: space.background, color: SPACE_TEXT_COLOR }}>
        <span className="space-card-emoji" aria-hidden="true">
          {space.emoji}
        </span>
        <h2 className="space-card-title">
          {/* The link covers the whole card (spaces.css), so its name is just the title. */}
          <Link to={space.path}>{space.title}</Link>
        </h2>
      </div>
      <div className="space-card-body">
        {space.description && <p className="space-card-description">{space.description}</p>}
        <p className="space-card-meta">
          <span className="space-card-id">{space.id}</span>
          {space.pinned && <span className="badge">Pinned</span>}
          {space.sdk && <span className="badge">{runsInBrowser(space.sdk) ? sdkLabel(space.sdk) : `${sdkLabel(space.sdk)} · needs a server`}</span>}
        </p>
      </div>
    </article>
  );
}
