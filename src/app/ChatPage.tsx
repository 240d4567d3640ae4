import { useEffect } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { Composer } from '../components/Composer.tsx';
import { ConversationList, type ConversationListItem } from '../components/ConversationList.tsx';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { LoadProgressView } from '../components/LoadProgressView.tsx';
import { ModelSummary } from '../components/ModelSummary.tsx';
import { EngineQueueNote, useRunWaiting } from '../components/EngineQueueNote.tsx';
import { RunStats } from '../components/RunStats.tsx';
import { SamplingPanel } from '../components/SamplingPanel.tsx';
import { preloadMarkdown, Transcript } from '../components/Transcript.tsx';
import {
  cancelLoad,
  chooseGreedy,
  editTurn,
  newChat,
  openModel,
  regenerate,
  resetSampling,
  resumeLoad,
  retry,
  send,
  setDraft,
  setSampling,
  setSystemPrompt,
  stop,
} from '../store/actions.ts';
import { deleteConversation, exportConversations, loadHistory, openConversation, renameConversation, saveConversation } from '../store/history.ts';
import { loadHubSettings } from '../store/hubSettings.ts';
import { useHub } from '../store/store.ts';
import './chat.css';
import { chatPath, defaultModel, modelRequest } from './models.ts';

const loadStatusText = {
  idle: 'Not loaded',
  loading: 'Loading…',
  ready: 'Ready',
  failed: 'Could not load',
  paused: 'Download paused',
};

/** Hands `text` to the browser as a file download. */
function downloadFile(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  // The click has started the download by the time the next task runs.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

async function exportToFile(id?: string): Promise<void> {
  const file = await exportConversations(id);
  if (file) downloadFile(file.fileName, file.text);
}

export function ChatPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const url = params.get('model') || defaultModel;
  const hubParam = params.get('hub');
  // Which GGUF of a repo with several (the model page's quant picker), by path or quant type.
  const file = params.get('file');
  const { loadStatus, stages, model, entries, draft, generation, lastRun, failure, sampling, conversation, systemPrompt, history } = useHub();

  useEffect(() => {
    const request = modelRequest(url, hubParam, loadHubSettings());
    openModel(url, request.repo && file ? { ...request, file } : request);
  }, [url, hubParam, file]);

  useEffect(() => {
    void loadHistory();
  }, []);

  useEffect(() => {
    // Escape stops from anywhere on the page, not only from the message box.
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') stop();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const chat = model?.hasChatTemplate ?? false;
  useEffect(() => {
    if (chat) preloadMarkdown();
  }, [chat]);

  const running = generation.status !== 'idle';
  const ticket = generation.status === 'idle' ? undefined : generation.ticket;
  const waiting = useRunWaiting(ticket) !== undefined;
  // A conversation opened from the list shows at once; its own model may still be replacing the one loaded.
  const canAnswer = loadStatus === 'ready' && !running && (!conversation || conversation.model === url);
  const emptyText = {
    idle: 'Nothing here yet.',
    loading: 'Nothing here yet. You can type while the model loads.',
    failed: 'Nothing here yet: the model did not load.',
    paused: 'Nothing here yet: the download is paused.',
    ready: chat
      ? 'Nothing here yet. Say hello to start the conversation.'
      : 'Nothing here yet. This model continues text: write the start of a story and it goes on from there.',
  }[loadStatus];

  function select(item: ConversationListItem) {
    if (item.id === conversation?.id) return;
    // The conversation goes with the model it was held with; the store keeps it across the switch.
    if (item.model !== url) navigate(chatPath(item.model));
    void openConversation(item.id);
  }

  return (
    <div className="chat-layout">
      <ConversationList
        status={history.status}
        error={history.error}
        conversations={history.conversations}
        activeId={conversation?.id}
        busy={running}
        now={Date.now()}
        onNew={newChat}
        onSelect={select}
        onRename={(id, title) => void renameConversation(id, title)}
        onDelete={(id) => void deleteConversation(id)}
        onExport={(id) => void exportToFile(id)}
      />
      <section className="chat-page" aria-label="Chat">
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
        {chat && (
          <details className="system-prompt">
            <summary>
              System prompt
              {systemPrompt.trim() !== '' && <span className="system-prompt-preview">: {systemPrompt.trim()}</span>}
            </summary>
            <label className="visually-hidden" htmlFor="system-prompt">
              System prompt
            </label>
            <textarea
              id="system-prompt"
              rows={2}
              value={systemPrompt}
              placeholder="Instructions the model follows for the whole conversation"
              aria-describedby="system-prompt-note"
              onChange={(e) => setSystemPrompt(e.target.value)}
              // A saved conversation keeps its new prompt even if no turn follows.
              onBlur={() => {
                if (conversation) void saveConversation();
              }}
            />
            <p id="system-prompt-note" className="hint">
              Sent before the conversation with every reply, including regenerated ones.
            </p>
          </details>
        )}
        <Transcript
          entries={entries}
          busy={running}
          emptyText={emptyText}
          canAnswer={canAnswer}
          onEdit={editTurn}
          onRegenerate={regenerate}
        />
        {/* A reply still waiting for the engine has no stats yet; the note says what it waits for. */}
        {!waiting && (
          <RunStats
            status={generation.status}
            tokensPerSecond={generation.status === 'idle' ? undefined : generation.tokensPerSecond}
            last={lastRun}
            contextLength={model?.contextLength}
          />
        )}
        <EngineQueueNote ticket={ticket} />
        <Composer
          value={draft}
          onChange={setDraft}
          onSend={send}
          onStop={stop}
          ready={canAnswer}
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
    </div>
  );
}
