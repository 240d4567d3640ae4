import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { searchRepos, storageInfo } from '../client/engineClient.ts';
import { RepoCard } from '../components/RepoCard.tsx';
import { formatBinaryBytes, formatRelativeTime } from '../components/storageFormat.ts';
import type { CachedModel, RepoListing } from '../protocol/index.ts';
import { loadHubSettings } from '../store/hubSettings.ts';
import './hubPages.css';
import { chatPath, defaultModel, embeddedHubUrl } from './models.ts';
import { chatLink, hubLabel, isModelPath, modelPagePath } from './repoRoutes.ts';

const FEATURED_PER_HUB = 6;

type Featured = { status: 'loading' } | { status: 'ready'; listings: RepoListing[] } | { status: 'failed' };

/** A few models from each configured hub, most downloaded first; a hub that fails drops out quietly. */
function useFeatured(hubs: string[], token: string | undefined): Map<string, Featured> {
  const [featured, setFeatured] = useState(() => new Map<string, Featured>(hubs.map((hub) => [hub, { status: 'loading' }])));
  const key = JSON.stringify([hubs, token]);
  useEffect(() => {
    let live = true;
    for (const hub of hubs) {
      searchRepos({ kind: 'model', hubs: [hub], token, sort: 'downloads', limit: FEATURED_PER_HUB }).then(
        (listings) => live && setFeatured((f) => new Map(f).set(hub, { status: 'ready', listings })),
        () => live && setFeatured((f) => new Map(f).set(hub, { status: 'failed' })),
      );
    }
    return () => {
      live = false;
    };
    // `key` stands for the hubs and token, which are new objects each render.
  }, [key]);
  return featured;
}

/** Models with every file stored, most recently used first; undefined while the store is read. */
function useCachedModels(): CachedModel[] | undefined {
  const [models, setModels] = useState<CachedModel[]>();
  useEffect(() => {
    let live = true;
    storageInfo().then(
      (info) => live && setModels(info.models.filter((m) => m.complete).sort((a, b) => b.lastUsed - a.lastUsed)),
      // A store that cannot be read lists nothing here; the Storage page says why.
      () => live && setModels([]),
    );
    return () => {
      live = false;
    };
  }, []);
  return models;
}

export function HomePage() {
  const navigate = useNavigate();
  const [url, setUrl] = useState('');
  const [settings] = useState(loadHubSettings);
  const hubs = [...new Set([embeddedHubUrl(), ...settings.hubs])];
  const featured = useFeatured(hubs, settings.token);
  const cached = useCachedModels();
  const now = Date.now();
  const nothingFeatured = [...featured.values()].every((f) => f.status === 'failed' || (f.status === 'ready' && f.listings.length === 0));

  return (
    <section className="page wide home">
      <div className="home-intro">
        <h1>Pocket Hub</h1>
        <p className="lead">
          Run open-weights language models on your own GPU, in this browser tab. Pocket Hub loads the weights, compiles
          its own WebGPU kernels and generates text locally: nothing you type leaves your device.
        </p>
        <p className="home-actions">
          <Link className="button primary" to={chatPath(defaultModel)}>
            Chat with stories260K
          </Link>
          <Link className="button" to="/models">
            Browse models
          </Link>
        </p>
        <p className="hint">
          stories260K is a tiny Llama trained on children's stories, bundled with the app. It writes short, odd stories:
          start one with “Once upon a time”.
        </p>
      </div>

      <section aria-labelledby="featured-heading" className="home-section">
        <h2 id="featured-heading">Featured models</h2>
        {nothingFeatured && (
          <p className="empty">
            No hub answered with models. <Link to="/models">Search the models</Link> to see what each hub said.
          </p>
        )}
        {hubs.map((hub, i) => {
          const f = featured.get(hub) ?? { status: 'loading' };
          // A hub that cannot be reached has nothing to feature; /models reports its error.
          if (f.status === 'failed' || (f.status === 'ready' && f.listings.length === 0)) return null;
          return (
            <section key={hub} aria-labelledby={`featured-${i}`} aria-busy={f.status === 'loading'} className="hub-results">
              <h3 id={`featured-${i}`}>From {hubLabel(hub)}</h3>
              {f.status === 'loading' ? (
                <p className="hint">Loading…</p>
              ) : (
                <ul className="repo-grid">
                  {f.listings.map(({ info }) => (
                    <li key={info.id}>
                      <RepoCard info={info} to={modelPagePath(info.id)} now={now} />
                    </li>
                  ))}
                </ul>
              )}
            </section>
          );
        })}
      </section>

      <section aria-labelledby="cached-heading" className="home-section">
        <h2 id="cached-heading">On this device</h2>
        {cached === undefined ? (
          <p className="hint">Reading the model store…</p>
        ) : cached.length === 0 ? (
          <p className="empty">No models downloaded yet. Models you run are kept here and open again without the network.</p>
        ) : (
          <ul className="cached-list">
            {cached.map((m) => {
              const [owner = '', name = ''] = m.repo.split('/');
              return (
                <li key={`${m.repo}@${m.commit}`}>
                  {isModelPath(owner, name) ? <Link to={modelPagePath(m.repo)}>{m.repo}</Link> : <span>{m.repo}</span>}
                  <span className="hint">
                    {' '}
                    {formatBinaryBytes(m.bytes)} · used {formatRelativeTime(m.lastUsed, now)}
                  </span>{' '}
                  <Link to={chatLink(m.repo)} aria-label={`Open ${m.repo} in chat`}>
                    Chat
                  </Link>
                </li>
              );
            })}
          </ul>
        )}
        <p className="hint">
          <Link to="/storage">Manage storage</Link>
        </p>
      </section>

      <form
        className="open-model home-section"
        onSubmit={(e) => {
          e.preventDefault();
          if (url.trim()) navigate(chatPath(url.trim()));
        }}
      >
        <label htmlFor="model-url">Open a model</label>
        <div className="composer-row">
          <input
            id="model-url"
            type="text"
            inputMode="url"
            placeholder="pocket-hub/stories260K or https://…/model.gguf"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            aria-describedby="model-url-hint"
          />
          <button type="submit">Open</button>
        </div>
        <p id="model-url-hint" className="hint">
          A Hub repo (<code>owner/name</code>), a <code>.gguf</code> file, or a folder with <code>config.json</code>,{' '}
          <code>model.safetensors</code> and <code>tokenizer.json</code>.
        </p>
      </form>
    </section>
  );
}
