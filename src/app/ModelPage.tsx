import { lazy, Suspense, useEffect, useId, useState, type KeyboardEvent, type ReactNode } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { describeRepo, gpuInfo, modelFacts, storageInfo } from '../client/engineClient.ts';
import { CardChips } from '../components/CardChips.tsx';
import { CopyButton } from '../components/CopyButton.tsx';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { FilesTable } from '../components/FilesTable.tsx';
import { formatCount } from '../components/format.ts';
import { ModelFactsBox } from '../components/ModelFactsBox.tsx';
import { RunWidget } from '../components/RunWidget.tsx';
import { formatRelativeTime } from '../components/storageFormat.ts';
import { parseModelCard } from '../hub/card.ts';
import { isPocketHubError, MissingFileError, type GpuInfo, type LoadRequest, type ModelFacts, type RepoDetails, type StorageInfo } from '../protocol/index.ts';
import { HUGGINGFACE, loadHubSettings } from '../store/hubSettings.ts';
import { bytesToDownload, contextChoices, defaultContext, deviceFit } from './deviceFit.ts';
import { DeviceFitPanel } from './DeviceFitPanel.tsx';
import './hubPages.css';
import { embeddedHubUrl, modelRequest } from './models.ts';
import { NotFoundPage } from './NotFoundPage.tsx';
import { chatLink, hubLabel, isModelPath } from './repoRoutes.ts';
import { appUrl, iframeSnippet, sdkSnippet } from './snippets.ts';

// Sanitising markdown takes a few hundred kB of parsers; only pages that show a card load them.
const Markdown = lazy(() => import('../components/Markdown.tsx').then((m) => ({ default: m.Markdown })));

type Loaded<T> = { status: 'loading' } | { status: 'ready'; value: T } | { status: 'failed'; error: Error };

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** `/:owner/:name`: a model's card, files, facts, device fit and run widget. */
export function ModelPage() {
  const { owner = '', name = '' } = useParams();
  if (!isModelPath(owner, name)) return <NotFoundPage />;
  const repo = `${owner}/${name}`;
  // A fresh page per repo, so that nothing of the previous model's state shows for a moment.
  return <ModelView key={repo} repo={repo} />;
}

function ModelView({ repo }: { repo: string }) {
  const [params, setParams] = useSearchParams();
  const revision = params.get('revision') || undefined;
  const hubParam = params.get('hub');
  const tab = params.get('tab') === 'files' ? 'files' : 'card';
  const [settings] = useState(loadHubSettings);
  const base = modelRequest(repo, hubParam, settings);
  const hubs = base.hubs ?? [];
  const token = base.token;
  const hubsKey = hubs.join(' ');

  const [attempt, setAttempt] = useState(0);
  const [details, setDetails] = useState<Loaded<RepoDetails>>({ status: 'loading' });
  useEffect(() => {
    let live = true;
    setDetails({ status: 'loading' });
    describeRepo({ repo, kind: 'model', hubs, token, revision }).then(
      (value) => live && setDetails({ status: 'ready', value }),
      (err: unknown) => live && setDetails({ status: 'failed', error: asError(err) }),
    );
    return () => {
      live = false;
    };
    // `hubs` is a new array each render; hubsKey stands for its contents.
  }, [repo, revision, hubsKey, token, attempt]);

  useEffect(() => {
    document.title = `${repo} · Pocket Hub`;
    return () => {
      document.title = 'Pocket Hub';
    };
  }, [repo]);

  return (
    <section className="page wide model-page" aria-busy={details.status === 'loading'}>
      {details.status === 'loading' && (
        <>
          <RepoHeading repo={repo} />
          <p className="hint" role="status">
            Looking up {repo}…
          </p>
        </>
      )}
      {details.status === 'failed' && (
        <RepoError repo={repo} revision={revision} hubs={hubs} error={details.error} onRetry={() => setAttempt((n) => n + 1)} />
      )}
      {details.status === 'ready' && (
        <ModelDetails
          // Another revision starts over: a GGUF picked at one commit may not exist at the next.
          key={details.value.commit}
          repo={repo}
          details={details.value}
          revision={revision}
          token={token}
          baseRequest={base}
          hubParam={hubParam}
          tab={tab}
          onTab={(next) =>
            setParams(
              (p) => {
                const copy = new URLSearchParams(p);
                if (next === 'card') copy.delete('tab');
                else copy.set('tab', next);
                return copy;
              },
              { replace: true },
            )
          }
        />
      )}
    </section>
  );
}

/** Base-model chips link to their model page inside the app, without a full page load. */
function RouterLink({ to, children }: { to: string; children: ReactNode }) {
  return <Link to={to}>{children}</Link>;
}

function RepoHeading({ repo }: { repo: string }) {
  const [owner, name] = repo.split('/');
  return (
    <div className="repo-heading">
      <h1>
        <span className="repo-owner">{owner}</span>
        <span className="repo-slash">/</span>
        {name}
      </h1>
      <CopyButton text={repo} what="model id">
        Copy id
      </CopyButton>
    </div>
  );
}

function RepoError({ repo, revision, hubs, error, onRetry }: { repo: string; revision?: string; hubs: string[]; error: Error; onRetry: () => void }) {
  const code = isPocketHubError(error, 'MissingFileError') ? /^(RepoNotFound|RevisionNotFound)\b/.exec(error.message)?.[1] : undefined;
  // The store's generic hint for a missing file ("the repository lacks a file") does not fit a
  // repo that is not there at all.
  const shown = code ? new MissingFileError(error.message, 'Check the spelling of the id, or add the hub that has it in Settings.') : error;
  return (
    <>
      <h1>{code === 'RevisionNotFound' ? 'Revision not found' : code ? 'Model not found' : repo}</h1>
      {code && (
        <p>
          No hub in your list has <code>{repo}</code>
          {code === 'RevisionNotFound' && revision ? (
            <>
              {' '}
              at <code>{revision}</code>
            </>
          ) : null}
          . Looked in {hubs.map((hub) => hubLabel(hub)).join(', ')}; <Link to="/settings">Settings</Link> has the list.
        </p>
      )}
      <ErrorAlert error={shown} onRetry={onRetry} />
    </>
  );
}

interface ModelDetailsProps {
  repo: string;
  details: RepoDetails;
  revision?: string;
  token?: string;
  baseRequest: LoadRequest;
  hubParam: string | null;
  tab: 'card' | 'files';
  onTab: (tab: 'card' | 'files') => void;
}

function ModelDetails({ repo, details, revision, token, baseRequest, hubParam, tab, onTab }: ModelDetailsProps) {
  const card = parseModelCard(details.readme);
  const { info, endpoint } = details;
  const embedded = endpoint === embeddedHubUrl();
  const updated = info.lastModified ? Date.parse(info.lastModified) : NaN;

  // The default file's facts first; picking another GGUF reads that file's headers instead.
  const [file, setFile] = useState<string>();
  const [defaultFile, setDefaultFile] = useState<string>();
  const [facts, setFacts] = useState<Loaded<ModelFacts>>({ status: 'loading' });
  const [factsAttempt, setFactsAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    setFacts((f) => (f.status === 'ready' ? f : { status: 'loading' }));
    // Pinned to the endpoint and commit the page shows, so the facts describe these files.
    modelFacts({ repo, kind: 'model', hubs: [endpoint], token, revision: details.commit, ...(file ? { file } : {}) }).then(
      (value) => {
        if (!live) return;
        setFacts({ status: 'ready', value });
        if (file === undefined) setDefaultFile(value.weightFiles[0]);
      },
      (err: unknown) => live && setFacts({ status: 'failed', error: asError(err) }),
    );
    return () => {
      live = false;
    };
  }, [repo, endpoint, details.commit, token, file, factsAttempt]);
  const readingFile = facts.status === 'ready' && file !== undefined && facts.value.weightFiles[0] !== file;

  const [gpu, setGpu] = useState<GpuInfo | null>();
  const [storage, setStorage] = useState<StorageInfo>();
  useEffect(() => {
    let live = true;
    gpuInfo().then(
      (value) => live && setGpu(value),
      // Whatever kept the adapter away, the model cannot run here.
      () => live && setGpu(null),
    );
    storageInfo().then(
      (value) => live && setStorage(value),
      // Without the store's listing nothing counts as cached and the quota goes unchecked.
      () => {},
    );
    return () => {
      live = false;
    };
  }, []);

  const [contextLength, setContextLength] = useState<number>();
  const ready = facts.status === 'ready' ? facts.value : undefined;
  const choices = ready ? contextChoices(ready.contextLength) : [];
  const context = contextLength !== undefined && choices.includes(contextLength) ? contextLength : ready ? defaultContext(ready.contextLength) : 0;
  const cachedBytes = ready && storage ? ready.downloadBytes - bytesToDownload(storage.models, repo, details.commit, ready) : 0;
  const storageEstimate = storage ? { quota: storage.quota, usage: storage.usage } : undefined;
  const chosenFile = file !== undefined && file !== defaultFile ? file : undefined;
  const runRequest: LoadRequest = { ...baseRequest, ...(revision ? { revision } : {}), ...(chosenFile ? { file: chosenFile } : {}) };
  const hubRepoUrl = embedded ? undefined : `${endpoint.replace(/\/+$/, '')}/${repo}${revision ? `/tree/${encodeURIComponent(revision)}` : ''}`;

  return (
    <>
      <header className="repo-header">
        <RepoHeading repo={repo} />
        <ul className="repo-meta" aria-label="About this repository">
          {info.likes !== undefined && <li>{formatCount(info.likes)} likes</li>}
          {info.downloads !== undefined && <li>{formatCount(info.downloads)} downloads</li>}
          {Number.isFinite(updated) && (
            <li>
              updated{' '}
              <time dateTime={new Date(updated).toISOString()} title={new Date(updated).toLocaleString()}>
                {formatRelativeTime(updated, Date.now())}
              </time>
            </li>
          )}
          {info.gated && (
            <li>
              <span className="badge">gated</span> <Link to="/settings">Add a token in Settings</Link>
            </li>
          )}
          <li>
            {hubRepoUrl ? (
              <a href={hubRepoUrl} target="_blank" rel="noopener noreferrer">
                View on {hubLabel(endpoint)}
              </a>
            ) : (
              `From ${hubLabel(endpoint)}`
            )}
          </li>
        </ul>
        <CardChips
          card={card.data}
          baseUrl={details.resolveBase}
          hubUrl={embedded ? HUGGINGFACE : endpoint}
          ModelLink={RouterLink}
        />
      </header>

      <div className="model-layout">
        <div className="model-main">
          <Tabs
            label="Model pages"
            selected={tab}
            onSelect={onTab}
            tabs={[
              {
                id: 'card',
                label: 'Model card',
                panel: <CardPanel body={card.body} baseUrl={details.resolveBase} warnings={card.warnings} gated={!!info.gated} />,
              },
              {
                id: 'files',
                label: 'Files and versions',
                panel: <FilesTable files={details.files} commit={details.commit} revision={revision} resolveBase={details.resolveBase} />,
              },
            ]}
          />
        </div>

        <aside className="model-side" aria-label="Model summary and tools">
          <section className="hub-panel" aria-labelledby="model-summary-heading">
            <h2 id="model-summary-heading">Model summary</h2>
            {facts.status === 'loading' && (
              <p className="hint" role="status">
                Reading the file headers…
              </p>
            )}
            {facts.status === 'failed' && <ErrorAlert error={facts.error} onRetry={() => setFactsAttempt((n) => n + 1)} />}
            {ready && <ModelFactsBox facts={ready} defaultFile={defaultFile} busy={readingFile} onFileChange={setFile} />}
          </section>

          {ready && (
            <DeviceFitPanel
              facts={ready}
              contextLength={context}
              onContextChange={setContextLength}
              gpu={gpu}
              storage={storageEstimate}
              cachedBytes={cachedBytes}
            />
          )}

          {ready &&
            (ready.supported ? (
              <RunWidget
                request={runRequest}
                mode={ready.hasChatTemplate ? 'chat' : 'completion'}
                examplePrompts={ready.hasChatTemplate ? [] : ['Once upon a time']}
                downloadBytes={deviceFit({ facts: ready, contextLength: context, gpu, storage: storageEstimate, cachedBytes }).download}
                chatHref={chatLink(repo, chosenFile, hubParam)}
              />
            ) : (
              <p className="hint">The engine cannot run this model here: {ready.unsupported ?? 'its architecture is not supported'}.</p>
            ))}

          <UseOnYourSite repo={repo} />
        </aside>
      </div>
    </>
  );
}

function CardPanel({ body, baseUrl, warnings, gated }: { body: string; baseUrl: string; warnings: string[]; gated: boolean }) {
  return (
    <>
      {body.trim() === '' ? (
        <p className="empty">
          {gated ? 'This repository is gated: its card shows once a token with access is saved in Settings.' : 'This repository has no model card.'}
        </p>
      ) : (
        <Suspense
          fallback={
            <p className="hint" role="status">
              Loading the model card…
            </p>
          }
        >
          <Markdown source={body} baseUrl={baseUrl} />
        </Suspense>
      )}
      {warnings.length > 0 && (
        <details className="card-warnings">
          <summary>
            {warnings.length} {warnings.length === 1 ? 'problem' : 'problems'} in the card's front matter
          </summary>
          <ul>
            {warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

interface TabSpec<Id extends string> {
  id: Id;
  label: string;
  panel: ReactNode;
}

/** The WAI-ARIA tabs pattern: arrow keys, Home and End move between tabs; Tab goes into the panel. */
function Tabs<Id extends string>({ label, tabs, selected, onSelect }: { label: string; tabs: TabSpec<Id>[]; selected: Id; onSelect: (id: Id) => void }) {
  const ids = useId();
  const index = Math.max(0, tabs.findIndex((t) => t.id === selected));

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const next = (moves[e.key] + tabs.length) % tabs.length;
    onSelect(tabs[next].id);
    document.getElementById(`${ids}-tab-${tabs[next].id}`)?.focus();
  }

  return (
    <>
      <div role="tablist" aria-label={label} className="tabs" onKeyDown={onKeyDown}>
        {tabs.map((t) => (
          <button
            key={t.id}
            id={`${ids}-tab-${t.id}`}
            type="button"
            role="tab"
            aria-selected={t.id === tabs[index].id}
            aria-controls={`${ids}-panel-${t.id}`}
            tabIndex={t.id === tabs[index].id ? 0 : -1}
            onClick={() => onSelect(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${ids}-panel-${tabs[index].id}`} aria-labelledby={`${ids}-tab-${tabs[index].id}`} className="tab-panel">
        {tabs[index].panel}
      </div>
    </>
  );
}

function UseOnYourSite({ repo }: { repo: string }) {
  const app = appUrl();
  const snippets = [
    { id: 'iframe', title: 'Embed', what: 'embed snippet', code: iframeSnippet(app, repo), note: 'An iframe with the run widget; visitors run the model on their own GPU.' },
    { id: 'sdk', title: 'JavaScript', what: 'JavaScript snippet', code: sdkSnippet(app, repo), note: 'The Pocket Hub SDK in a module script, streaming a reply.' },
  ];
  return (
    <section className="hub-panel" aria-labelledby="use-on-site-heading">
      <h2 id="use-on-site-heading">Use on your site</h2>
      {snippets.map((s) => (
        <div key={s.id} className="snippet">
          <div className="snippet-head">
            <h3>{s.title}</h3>
            <CopyButton text={s.code} what={s.what} />
          </div>
          <p className="hint">{s.note}</p>
          <pre tabIndex={0} aria-label={s.title}>
            <code>{s.code}</code>
          </pre>
        </div>
      ))}
    </section>
  );
}
