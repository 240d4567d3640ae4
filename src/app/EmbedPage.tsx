// /embed/spaces/:owner/:name and /embed/model/:owner/:name: a Space's app or a model's run
// widget alone, for an iframe on another site. The embed tells the page around it what happens
// (messages.ts, EmbedEvent) and obeys its commands (EmbedCommand), talking only to that page's
// origin: the events carry the text the model writes.
import { useEffect, useState } from 'react';
import { useParams, useSearchParams } from 'react-router-dom';
import * as client from '../client/engineClient.ts';
import { stopAllRuns } from '../client/engineRuns.ts';
import { RunWidget } from '../components/RunWidget.tsx';
import { parseSpaceCard, type SpaceCardData } from '../hub/card.ts';
import { InvalidArgumentError, serializeError, type ModelFacts, type RepoDetails } from '../protocol/index.ts';
import { hostLoadRequest, appHost } from '../sdk/hostEngine.ts';
import { EMBED_PROTOCOL_VERSION, embedParentOrigin, parseEmbedCommand, type EmbedEvent } from '../sdk/messages.ts';
import { chatRequest, completionRequest, type ChatCompletionCreateParams, type CompletionCreateParams } from '../sdk/openai.ts';
import { cancelLoad } from '../store/actions.ts';
import { hubsFor, loadHubSettings } from '../store/hubSettings.ts';
import './embed.css';
import { embeddedHubUrl } from './models.ts';
import { isModelPath, modelPagePath } from './repoRoutes.ts';
import { appUrl } from './snippets.ts';
import { isSpacePath, spaceCardFromInfo, spacePagePath } from './spaces.ts';
import { SpaceView } from './SpaceView.tsx';

export type EmbedKind = 'space' | 'model';

type Loaded<T> = { status: 'loading' } | { status: 'ready'; value: T } | { status: 'failed'; error: Error };

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function EmbedPage({ kind }: { kind: EmbedKind }) {
  const { owner = '', name = '' } = useParams();
  const valid = kind === 'space' ? isSpacePath(owner, name) : isModelPath(owner, name);
  if (!valid) {
    return (
      <main className="embed-page">
        <p className="embed-notice">There is no {kind === 'space' ? 'Space' : 'model'} at this address.</p>
      </main>
    );
  }
  const repo = `${owner}/${name}`;
  return <EmbedView key={`${kind}:${repo}`} kind={kind} repo={repo} />;
}

/** The page around the embed, when it is framed and its origin is known; events go nowhere else. */
function useParent(): { origin?: string; post: (event: EmbedEvent) => void } {
  const [params] = useSearchParams();
  const framed = window.parent !== window;
  const origin = framed ? embedParentOrigin(params.get('parent'), document.referrer) : undefined;
  return {
    origin,
    post: (event) => {
      if (origin) window.parent.postMessage(event, origin);
    },
  };
}

function errorEvent(err: unknown): EmbedEvent {
  const { name, message, hint } = serializeError(err);
  return { type: 'pocket-hub:error', name, message, ...(hint ? { hint } : {}) };
}

/** What is embedded, once read: the Space's card, or the model's facts. */
type Subject = { kind: 'space'; details: RepoDetails; card: SpaceCardData } | { kind: 'model'; facts: ModelFacts };

function EmbedView({ kind, repo }: { kind: EmbedKind; repo: string }) {
  const [params] = useSearchParams();
  const hubParam = params.get('hub');
  const parent = useParent();
  const [subject, setSubject] = useState<Loaded<Subject>>({ status: 'loading' });

  useEffect(() => {
    let live = true;
    // An embed runs on someone else's page: it reads the user's hubs but, like the SDK host,
    // never uses the user's token (hostEngine.ts).
    const hubs = [...new Set([embeddedHubUrl(), ...hubsFor(loadHubSettings(), hubParam)])];
    const read: Promise<Subject> =
      kind === 'space'
        ? client.describeRepo({ repo, kind: 'space', hubs }).then((details) => ({
            kind: 'space',
            details,
            // A gated Space serves no README to those without access; its info still has the card data.
            card: details.readme !== '' ? parseSpaceCard(details.readme).data : spaceCardFromInfo(details.info),
          }))
        : client.modelFacts({ repo, kind: 'model', hubs }).then((facts) => ({ kind: 'model', facts }));
    read.then(
      (value) => live && setSubject({ status: 'ready', value }),
      (err: unknown) => live && setSubject({ status: 'failed', error: asError(err) }),
    );
    return () => {
      live = false;
    };
  }, [kind, repo, hubParam]);

  const embeddingOff = subject.status === 'ready' && subject.value.kind === 'space' && subject.value.card.disableEmbedding === true;
  const model = subject.status !== 'ready' ? undefined : subject.value.kind === 'model' ? repo : subject.value.card.models[0];

  useEffect(() => {
    if (subject.status === 'failed') parent.post(errorEvent(subject.error));
    if (embeddingOff) {
      parent.post({ type: 'pocket-hub:error', name: 'EmbeddingDisabledError', message: 'The author of this Space turned off embedding.' });
    }
    if (subject.status !== 'ready' || embeddingOff || !parent.origin) return;
    const origin = parent.origin;

    const stopRelaying = client.onEngineEvent((e) => {
      if (e.kind === 'progress') {
        const { kind: stage, loaded, total, file } = e.progress;
        parent.post({ type: 'pocket-hub:progress', stage, loaded, total, ...(file ? { file } : {}) });
      } else if (e.kind === 'token') parent.post({ type: 'pocket-hub:token', text: e.text, tokensPerSecond: e.tokensPerSecond });
      else if (e.kind === 'done') parent.post({ type: 'pocket-hub:done', text: e.result.text, reason: e.result.reason, stats: e.result.stats });
      // A cancelled download or generation is not a failure; 'done' says how a generation ended.
      else if (e.kind === 'error' && !(e.error instanceof Error && e.error.name === 'AbortError')) parent.post(errorEvent(e.error));
    });

    const commands = new Set<() => void>();
    const onMessage = (event: MessageEvent) => {
      if (event.source !== window.parent || event.origin !== origin) return;
      const command = parseEmbedCommand(event.data);
      if (!command) return;
      if (command.type === 'pocket-hub:stop') {
        for (const cancel of commands) cancel();
        // Whatever else runs in the embed (the visitor's own run, a Space's, a download) stops too.
        stopAllRuns();
        cancelLoad();
        return;
      }
      const { params } = command;
      const target = typeof params.model === 'string' ? params.model : model;
      try {
        if (!target) throw new InvalidArgumentError('This Space names no model; give one in the command as `model`.');
        const request =
          params.messages !== undefined
            ? chatRequest({ ...params, model: target } as unknown as ChatCompletionCreateParams)
            : completionRequest({ ...params, model: target } as unknown as CompletionCreateParams);
        // Progress, tokens and the outcome reach the parent through the engine events above,
        // like those of runs started inside the embed; the replies only say when it is over.
        const cancel = appHost().run({ type: 'generate', model: target, request, label: 'the page around this embed' }, (reply) => {
          if (reply.type === 'done' || reply.type === 'error') commands.delete(cancel);
        });
        commands.add(cancel);
      } catch (err) {
        parent.post(errorEvent(err));
      }
    };
    window.addEventListener('message', onMessage);
    parent.post({ type: 'pocket-hub:ready', version: EMBED_PROTOCOL_VERSION, kind, repo });
    return () => {
      stopRelaying();
      window.removeEventListener('message', onMessage);
      for (const cancel of commands) cancel();
    };
    // parent.post is rebuilt each render from the same origin; the origin stands for it.
  }, [subject, embeddingOff, parent.origin, kind, repo, model]);

  const pageUrl = new URL((kind === 'space' ? spacePagePath(repo) : modelPagePath(repo)).slice(1), appUrl()).href;
  const pageLink = (text: string) => (
    <a href={pageUrl} target="_blank" rel="noopener noreferrer">
      {text}
    </a>
  );

  return (
    <main className="embed-page" aria-busy={subject.status === 'loading'}>
      {subject.status === 'loading' && (
        <p className="hint" role="status">
          Looking up {repo}…
        </p>
      )}
      {subject.status === 'failed' && (
        <div className="embed-notice" role="alert">
          <p>
            {repo} could not be opened: {subject.error.message}
          </p>
          <p>{pageLink('Try it on Pocket Hub')}</p>
        </div>
      )}
      {subject.status === 'ready' && subject.value.kind === 'space' && (
        <>
          {embeddingOff ? (
            <div className="embed-notice">
              <p>The author of this Space turned off embedding.</p>
              <p>{pageLink(`Open ${subject.value.card.title ?? repo} on Pocket Hub`)}</p>
            </div>
          ) : (
            <SpaceView details={subject.value.details} card={subject.value.card} embedded />
          )}
        </>
      )}
      {subject.status === 'ready' && subject.value.kind === 'model' && (
        <ModelEmbed repo={repo} facts={subject.value.facts} hubParam={hubParam} />
      )}
      {subject.status === 'ready' && !embeddingOff && <p className="embed-credit">{pageLink(`${repo} on Pocket Hub ↗`)}</p>}
    </main>
  );
}

function ModelEmbed({ repo, facts, hubParam }: { repo: string; facts: ModelFacts; hubParam: string | null }) {
  if (!facts.supported) {
    return <p className="embed-notice">The engine cannot run {repo} here: {facts.unsupported ?? 'its architecture is not supported'}.</p>;
  }
  return (
    <RunWidget
      // The load the parent's commands ask for too, so both share one loaded model.
      request={hostLoadRequest(repo, hubParam)}
      mode={facts.hasChatTemplate ? 'chat' : 'completion'}
      examplePrompts={facts.hasChatTemplate ? [] : ['Once upon a time']}
      title={repo}
    />
  );
}
