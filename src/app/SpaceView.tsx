// The body of a Space: what its card says to run. Shared by the Space page and the embed route
// (`embedded`), which shows the same app without the page around it.
import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { describeRepo, modelFacts, storageInfo } from '../client/engineClient.ts';
import { RunWidget } from '../components/RunWidget.tsx';
import type { SpaceCardData } from '../hub/card.ts';
import type { ModelFacts, RepoDetails } from '../protocol/index.ts';
import { StaticSpaceFrame } from '../sdk/StaticSpaceFrame.tsx';
import { HUGGINGFACE, loadHubSettings } from '../store/hubSettings.ts';
import { bytesToDownload } from './deviceFit.ts';
import { embeddedHubUrl, modelRequest } from './models.ts';
import { chatLink, hubLabel, modelPagePath } from './repoRoutes.ts';
import { sdkLabel, spaceApp, type SpaceApp } from './spaces.ts';
import './spaces.css';

export interface SpaceViewProps {
  details: RepoDetails;
  card: SpaceCardData;
  /** Inside the embed route's iframe: no links into the rest of the app, the Space's title as the heading. */
  embedded?: boolean;
}

export function SpaceView({ details, card, embedded = false }: SpaceViewProps) {
  const title = card.title ?? details.info.id;
  // The embedded hub is not a site; Spaces that need a server are found on huggingface.co.
  const hubSite = details.endpoint === embeddedHubUrl() ? HUGGINGFACE : details.endpoint;
  const app = spaceApp(card, details, hubSite);
  return (
    <div className={`space-view space-view-${app.kind}${embedded ? ' embedded' : ''}`}>
      {app.kind === 'declarative' && <DeclarativeSpace app={app} title={title} embedded={embedded} />}
      {app.kind === 'static' && <StaticSpaceFrame src={app.src} title={title} />}
      {app.kind === 'server' && (
        <div className="space-notice">
          <p>
            <strong>{title}</strong> is {app.sdk ? `a ${sdkLabel(app.sdk)} Space` : 'a Space of a kind Pocket Hub does not know'}: it needs a
            server to run, and Pocket Hub runs Spaces only in your browser.
          </p>
          <p>
            <a href={app.hubPage} target="_blank" rel="noopener noreferrer">
              Open it on {hubLabel(hubSite)}
            </a>
          </p>
        </div>
      )}
      {app.kind === 'broken' && (
        <div className="space-notice">
          <p>This Space cannot run: {app.problem}</p>
        </div>
      )}
    </div>
  );
}

type Loaded<T> = { status: 'loading' } | { status: 'ready'; value: T } | { status: 'failed'; error: Error };

interface SpaceModel {
  facts: ModelFacts;
  /** Bytes a load still downloads, after what the weight store already holds. */
  download: number;
}

/**
 * The Space's model as the model page reads it: its commit on the first hub that has it, then
 * the facts at that commit (supported? chat template? size), then how much of it is cached.
 */
function useSpaceModel(request: ReturnType<typeof modelRequest>): Loaded<SpaceModel> {
  const [state, setState] = useState<Loaded<SpaceModel>>({ status: 'loading' });
  const key = JSON.stringify(request);
  useEffect(() => {
    let live = true;
    const repo = request.repo ?? '';
    const access = { hubs: request.hubs ?? [], ...(request.token ? { token: request.token } : {}) };
    setState({ status: 'loading' });
    (async () => {
      const model = await describeRepo({ repo, kind: 'model', ...access });
      const [facts, storage] = await Promise.all([
        modelFacts({ repo, kind: 'model', hubs: [model.endpoint], token: access.token, revision: model.commit }),
        // Without the store's listing nothing counts as cached.
        storageInfo().catch(() => undefined),
      ]);
      return { facts, download: storage ? bytesToDownload(storage.models, repo, model.commit, facts) : facts.downloadBytes };
    })().then(
      (value) => live && setState({ status: 'ready', value }),
      (err: unknown) => live && setState({ status: 'failed', error: err instanceof Error ? err : new Error(String(err)) }),
    );
    return () => {
      live = false;
    };
    // `key` stands for the request, a new object each render.
  }, [key]);
  return state;
}

function DeclarativeSpace({ app, title, embedded }: { app: Extract<SpaceApp, { kind: 'declarative' }>; title: string; embedded: boolean }) {
  const [settings] = useState(loadHubSettings);
  const request = modelRequest(app.model, null, settings);
  const model = useSpaceModel(request);

  if (model.status === 'loading') {
    return (
      <p className="hint" role="status">
        Reading about {app.model}…
      </p>
    );
  }
  const facts = model.status === 'ready' ? model.value.facts : undefined;
  if (facts && !facts.supported) {
    return (
      <div className="space-notice">
        <p>
          This Space runs <ModelName repo={app.model} embedded={embedded} />, which the engine cannot run here:{' '}
          {facts.unsupported ?? 'its architecture is not supported'}.
        </p>
      </div>
    );
  }
  if (facts && app.mode === 'chat' && !facts.hasChatTemplate) {
    return (
      <div className="space-notice">
        <p>
          This chat Space runs <ModelName repo={app.model} embedded={embedded} />, which has no chat template to turn messages into a
          prompt.
        </p>
      </div>
    );
  }
  return (
    <>
      {/* Facts that could not be read do not stop a load: the weights may be cached, or the facts reader may be the part that fails. */}
      {model.status === 'failed' && (
        <p className="hint space-model-line">
          Could not read the details of {app.model}: {model.error.message} Loading it may still work.
        </p>
      )}
      <RunWidget
        request={request}
        mode={app.mode}
        systemPrompt={app.systemPrompt}
        examplePrompts={app.examplePrompts}
        sampling={app.sampling}
        maxTokens={app.maxTokens}
        downloadBytes={model.status === 'ready' ? model.value.download : undefined}
        chatHref={embedded ? undefined : chatLink(app.model)}
        title={embedded ? title : 'Run in your browser'}
        runLabel={`the Space ${title}`}
      />
    </>
  );
}

/** The model's id, linking to its page unless inside an embed, where the app around it is absent. */
function ModelName({ repo, embedded }: { repo: string; embedded: boolean }) {
  return embedded ? <code>{repo}</code> : <Link to={modelPagePath(repo)}>{repo}</Link>;
}
