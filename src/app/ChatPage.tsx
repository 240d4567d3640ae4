import { useEffect } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Composer } from '../components/Composer.tsx';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { LoadProgressView } from '../components/LoadProgressView.tsx';
import { ModelSummary } from '../components/ModelSummary.tsx';
import { RunStats } from '../components/RunStats.tsx';
import { SamplingPanel } from '../components/SamplingPanel.tsx';
import { Transcript } from '../components/Transcript.tsx';
import { cancelLoad, chooseGreedy, openModel, resetSampling, resumeLoad, retry, send, setDraft, setSampling, stop } from '../store/actions.ts';
import { loadHubSettings } from '../store/hubSettings.ts';
import { useHub } from '../store/store.ts';
import { defaultModel, modelRequest } from './models.ts';

const loadStatusText = {
  idle: 'Not loaded',
  loading: 'Loading…',
  ready: 'Ready',
  failed: 'Could not load',
  paused: 'Download paused',
};

export function ChatPage() {
  const [params] = useSearchParams();
  const url = params.get('model') || defaultModel;
  const hubParam = params.get('hub');
  const { loadStatus, stages, model, entries, draft, generation, lastRun, failure, sampling } = useHub();

  useEffect(() => {
    openModel(url, modelRequest(url, hubParam, loadHubSettings()));
  }, [url, hubParam]);

  useEffect(() => {
    // Escape stops from anywhere on the page, not only from the message box.
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') stop();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const chat = model?.hasChatTemplate ?? false;
  const running = generation.status !== 'idle';
  const emptyText = {
    idle: 'Nothing here yet.',
    loading: 'Nothing here yet. You can type while the model loads.',
    failed: 'Nothing here yet: the model did not load.',
    paused: 'Nothing here yet: the download is paused.',
    ready: chat
      ? 'Nothing here yet. Say hello to start the conversation.'
      : 'Nothing here yet. This model continues text: write the start of a story and it goes on from there.',
  }[loadStatus];

  return (
    <section className="page chat-page">
      <ModelSummary url={url} model={model} status={loadStatusText[loadStatus]} />
      {loadStatus === 'loading' && <LoadProgressView stages={stages} />}
      {loadStatus === 'loading' && stages.download && stages.download.loaded < stages.download.total && (
        <button type="button" onClick={cancelLoad}>
          Cancel download
        </button>
      )}
      {loadStatus === 'paused' && (
        <div className="alert" role="status">
          <p className="alert-message">Download paused. What was downloaded is kept.</p>
          <button type="button" onClick={resumeLoad}>
            Resume
          </button>
        </div>
      )}
      {failure && <ErrorAlert error={failure.error} onRetry={retry} />}
      <Transcript entries={entries} busy={running} emptyText={emptyText} />
      <RunStats
        status={generation.status}
        tokensPerSecond={generation.status === 'idle' ? undefined : generation.tokensPerSecond}
        last={lastRun}
      />
      <Composer
        value={draft}
        onChange={setDraft}
        onSend={send}
        onStop={stop}
        ready={loadStatus === 'ready' && !running}
        generating={generation.status === 'generating'}
        placeholder={chat ? 'Ask something' : 'Once upon a time'}
      />
      <SamplingPanel
        form={sampling}
        maxTokensLimit={model?.contextLength}
        onChange={setSampling}
        onGreedy={chooseGreedy}
        onReset={resetSampling}
      />
    </section>
  );
}
