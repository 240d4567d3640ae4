import { lazy, Suspense, useEffect, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { describeRepo } from '../client/engineClient.ts';
import { licenseUrl } from '../components/CardChips.tsx';
import { EmbedDialog } from '../components/EmbedDialog.tsx';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { parseSpaceCard, type ParsedCard, type SpaceCardData } from '../hub/card.ts';
import { isPocketHubError, type RepoDetails } from '../protocol/index.ts';
import { hubsFor, loadHubSettings } from '../store/hubSettings.ts';
import { embeddedHubUrl } from './models.ts';
import { NotFoundPage } from './NotFoundPage.tsx';
import { hubLabel, modelPagePath } from './repoRoutes.ts';
import { appUrl } from './snippets.ts';
import { isSpacePath, runsInBrowser, sdkLabel, SPACE_TEXT_COLOR, spaceCardFromInfo, spaceEmbed, spaceGradient, spaceHubPage } from './spaces.ts';
import './hubPages.css';
import './spaces.css';
import { SpaceView } from './SpaceView.tsx';

// Sanitising markdown takes a few hundred kB of parsers; only pages that show a card load them.
const Markdown = lazy(() => import('../components/Markdown.tsx').then((m) => ({ default: m.Markdown })));

type Loaded<T> = { status: 'loading' } | { status: 'ready'; value: T } | { status: 'failed'; error: Error };

/** `/spaces/:owner/:name`: a Space's header, its app, and its README. */
export function SpacePage() {
  const { owner = '', name = '' } = useParams();
  if (!isSpacePath(owner, name)) return <NotFoundPage />;
  const repo = `${owner}/${name}`;
  // A fresh page per Space, so that nothing of the previous Space shows for a moment.
  return <SpaceLoader key={repo} repo={repo} />;
}

/**
 * The card from the README; a gated Space serves no README to those without access, and then
 * the card data in the hub's info is what there is.
 */
function readCard(details: RepoDetails): ParsedCard<SpaceCardData> {
  if (details.readme !== '') return parseSpaceCard(details.readme);
  return { data: spaceCardFromInfo(details.info), body: '', warnings: [] };
}

function SpaceLoader({ repo }: { repo: string }) {
  const [params] = useSearchParams();
  const [settings] = useState(loadHubSettings);
  const hubs = [...new Set([embeddedHubUrl(), ...hubsFor(settings, params.get('hub'))])];
  const hubsKey = hubs.join(' ');
  const [attempt, setAttempt] = useState(0);
  const [details, setDetails] = useState<Loaded<RepoDetails>>({ status: 'loading' });

  useEffect(() => {
    let live = true;
    setDetails({ status: 'loading' });
    describeRepo({ repo, kind: 'space', hubs, token: settings.token }).then(
      (value) => live && setDetails({ status: 'ready', value }),
      (err: unknown) => live && setDetails({ status: 'failed', error: err instanceof Error ? err : new Error(String(err)) }),
    );
    return () => {
      live = false;
    };
    // `hubs` is a new array each render; hubsKey stands for its contents.
  }, [repo, hubsKey, settings.token, attempt]);

  const card = details.status === 'ready' ? readCard(details.value) : undefined;
  const title = card?.data.title ?? repo;
  useEffect(() => {
    document.title = `${title} · Spaces · Pocket Hub`;
    return () => {
      document.title = 'Pocket Hub';
    };
  }, [title]);

  if (details.status === 'loading') {
    return (
      <section className="page wide space-page" aria-busy="true">
        <h1>{repo}</h1>
        <p className="hint" role="status">
          Looking up the Space {repo}…
        </p>
      </section>
    );
  }
  if (details.status === 'failed') {
    const missing = isPocketHubError(details.error, 'MissingFileError') && /^RepoNotFound\b/.test(details.error.message);
    return (
      <section className="page wide space-page">
        <h1>{missing ? 'Space not found' : repo}</h1>
        {missing && (
          <p>
            No hub in your list has the Space <code>{repo}</code>. Looked in {hubs.map((hub) => hubLabel(hub)).join(', ')}.{' '}
            <Link to="/spaces">Browse the Spaces</Link> or add the hub that has it in <Link to="/settings">Settings</Link>.
          </p>
        )}
        <ErrorAlert error={details.error} onRetry={() => setAttempt((n) => n + 1)} />
      </section>
    );
  }
  return <SpaceDetails repo={repo} details={details.value} card={card!} />;
}

function SpaceDetails({ repo, details, card }: { repo: string; details: RepoDetails; card: ParsedCard<SpaceCardData> }) {
  const { data } = card;
  const title = data.title ?? repo;
  const license = data.license ? { text: data.license, href: licenseUrl({ license: data.license }) } : undefined;
  const embed = spaceEmbed(data, repo, appUrl());
  const fromEmbedded = details.endpoint === embeddedHubUrl();
  const sdk = data.sdk ?? details.info.sdk;

  return (
    <section className={`page space-page ${data.fullWidth ? 'full' : 'wide'}`}>
      <header className="space-header">
        <div className="space-banner" style={{ background: spaceGradient(data.colorFrom, data.colorTo), color: SPACE_TEXT_COLOR }}>
          {data.emoji && (
            <span className="space-banner-emoji" aria-hidden="true">
              {data.emoji}
            </span>
          )}
          <h1>{title}</h1>
        </div>
        {data.shortDescription && <p className="space-description">{data.shortDescription}</p>}
        <ul className="repo-meta" aria-label="About this Space">
          <li>
            <code>{repo}</code>
          </li>
          {sdk && <li>{runsInBrowser(data.sdk) ? `${sdkLabel(sdk)} Space` : `${sdkLabel(sdk)} Space · needs a server`}</li>}
          {license && (
            <li>
              License:{' '}
              {license.href ? (
                <a href={license.href} target="_blank" rel="noopener noreferrer">
                  {license.text}
                </a>
              ) : (
                license.text
              )}
            </li>
          )}
          {data.models.length > 0 && (
            <li>
              {data.models.length === 1 ? 'Model' : 'Models'}:{' '}
              {data.models.map((model, i) => (
                <span key={model}>
                  {i > 0 && ', '}
                  <Link to={modelPagePath(model)}>{model}</Link>
                </span>
              ))}
            </li>
          )}
          <li>
            {fromEmbedded ? (
              `From ${hubLabel(details.endpoint)}`
            ) : (
              <a href={spaceHubPage(details.endpoint, repo)} target="_blank" rel="noopener noreferrer">
                View on {hubLabel(details.endpoint)}
              </a>
            )}
          </li>
        </ul>
        <div className="space-actions">
          {embed.allowed ? (
            <EmbedDialog name={title} snippet={embed.snippet} note="Paste this into a web page. Visitors run the Space on their own GPU; nothing goes to a server." />
          ) : (
            <p className="hint">{embed.reason}</p>
          )}
        </div>
      </header>

      <SpaceView details={details} card={data} />

      {(card.body.trim() !== '' || card.warnings.length > 0) && (
        <section className="space-about" aria-labelledby="space-about-heading">
          <h2 id="space-about-heading">About this Space</h2>
          {card.body.trim() !== '' && (
            <Suspense
              fallback={
                <p className="hint" role="status">
                  Loading the README…
                </p>
              }
            >
              <Markdown source={card.body} baseUrl={details.resolveBase} />
            </Suspense>
          )}
          {card.warnings.length > 0 && (
            <details className="card-warnings">
              <summary>
                {card.warnings.length} {card.warnings.length === 1 ? 'problem' : 'problems'} in the card's front matter
              </summary>
              <ul>
                {card.warnings.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            </details>
          )}
        </section>
      )}
    </section>
  );
}
