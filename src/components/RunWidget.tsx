// "Run in your browser": loads a model on demand and runs prompts against it, in a box that a
// model page or a Space page can place anywhere.
//
// The engine worker holds one model at a time, and the chat page's store records which. The
// widget therefore loads through the store's `openModel` (so /chat, opened afterwards with the
// same request, finds the model loaded instead of trusting a stale record) and generates
// through the page's run queue (engineRuns.ts), keeping its own transcript apart from the chat's.
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { Link } from 'react-router-dom';
import { runGeneration, type RunHandle } from '../client/engineRuns.ts';
import '../app/hubPages.css';
import type { ChatMessage, FinishReason, GenerationResult, GenerationStats, LoadRequest, SamplingOptions } from '../protocol/index.ts';
import { isPocketHubError } from '../protocol/index.ts';
import { cancelLoad, openModel, resumeLoad } from '../store/actions.ts';
import { defaultSampling, greedySampling, parseSampling, type SamplingForm } from '../store/sampling.ts';
import { useHub } from '../store/store.ts';
import { EngineQueueNote, useRunWaiting } from './EngineQueueNote.tsx';
import { ErrorAlert } from './ErrorAlert.tsx';
import { formatBytes } from './format.ts';
import { LoadProgressView } from './LoadProgressView.tsx';
import { RunStats } from './RunStats.tsx';
import { SamplingPanel } from './SamplingPanel.tsx';
import { Transcript, type TranscriptEntry } from './Transcript.tsx';

export interface RunWidgetProps {
  /** How to load the model: `modelRequest(...)`, plus `revision` and `file` where they differ from the defaults. */
  request: LoadRequest;
  /** 'chat' sends messages through the model's chat template (a model whose facts say `hasChatTemplate`); 'completion' continues raw text. */
  mode: 'chat' | 'completion';
  /** Chat mode: a system turn put before every conversation. */
  systemPrompt?: string;
  /** Offered as one-click starting points; the first is also the placeholder. */
  examplePrompts?: string[];
  /** Starting sampling values (a card's or a Space's); the user can still change them. */
  sampling?: Partial<Omit<SamplingOptions, 'seed'>>;
  /** Starting cap on new tokens per run; the model's context caps it in any case. */
  maxTokens?: number;
  /** Bytes a load still has to download, shown on the Load button; 0 when the weights are cached. */
  downloadBytes?: number;
  /** Where "Open in chat" goes; no link without it. */
  chatHref?: string;
  /** The widget's heading. */
  title?: string;
  /** Who runs, as the page names a run that waits or holds the engine ("the Space Smol Chat"); the model's run box by default. */
  runLabel?: string;
}

type Generation = { status: 'idle' } | { status: 'generating' | 'stopping'; runId: number; ticket: number; tokensPerSecond?: number };

/** The same load: the store's record is of this request, not of another model or revision. */
function sameRequest(a: LoadRequest | undefined, b: LoadRequest): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

function requestKey(request: LoadRequest): string {
  return request.repo ?? request.url ?? '';
}

function initialForm(sampling: RunWidgetProps['sampling'], maxTokens: number | undefined): SamplingForm {
  const form: SamplingForm = { ...defaultSampling };
  for (const [key, value] of Object.entries(sampling ?? {})) {
    if (key in form && typeof value === 'number') form[key as keyof SamplingForm] = String(value);
  }
  if (maxTokens !== undefined) form.maxTokens = String(maxTokens);
  return form;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function loadLabel(downloadBytes: number | undefined): string {
  if (downloadBytes === undefined) return 'Load model';
  return downloadBytes === 0 ? 'Load model · cached' : `Load model · ${formatBytes(downloadBytes)}`;
}

export function RunWidget({
  request,
  mode,
  systemPrompt,
  examplePrompts = [],
  sampling,
  maxTokens,
  downloadBytes,
  chatHref,
  title = 'Run in your browser',
  runLabel = `the run box of ${requestKey(request)}`,
}: RunWidgetProps) {
  const ids = useId();
  const promptId = `${ids}-prompt`;
  const keysId = `${ids}-keys`;
  const headingId = `${ids}-heading`;

  const storeRequest = useHub((s) => s.loadRequest);
  const storeStatus = useHub((s) => s.loadStatus);
  const stages = useHub((s) => s.stages);
  const storeModel = useHub((s) => s.model);
  const storeFailure = useHub((s) => s.failure);
  const mine = sameRequest(storeRequest, request);
  const loadStatus = mine ? storeStatus : 'idle';
  const model = mine && storeStatus === 'ready' ? storeModel : undefined;
  const loadFailure = mine && storeStatus === 'failed' && storeFailure?.retry.kind === 'load' ? storeFailure.error : undefined;

  const [form, setForm] = useState(() => initialForm(sampling, maxTokens));
  const [draft, setDraft] = useState('');
  const [entries, setEntries] = useState<TranscriptEntry[]>([]);
  const [generation, setGeneration] = useState<Generation>({ status: 'idle' });
  const [lastRun, setLastRun] = useState<{ stats: GenerationStats; reason: FinishReason }>();
  const [runError, setRunError] = useState<Error>();
  // The run whose events are shown, and whether Stop was pressed on it: callbacks from the
  // worker read these rather than state captured when the run started.
  const current = useRef<{ runId: number; stopping: boolean; handle: RunHandle }>(undefined);
  const nextRunId = useRef(0);
  const promptBox = useRef<HTMLTextAreaElement>(null);

  // Leaving the page, or switching to another file or revision, ends the run in flight.
  const requestJson = JSON.stringify(request);
  useEffect(() => {
    return () => {
      const run = current.current;
      if (run) {
        current.current = undefined;
        run.handle.stop();
      }
    };
  }, [requestJson]);

  const running = generation.status !== 'idle';
  const ticket = generation.status === 'idle' ? undefined : generation.ticket;
  const waiting = useRunWaiting(ticket) !== undefined;
  const canRun = model !== undefined && !running && draft.trim() !== '';

  function updateEntry(runId: number, change: Partial<TranscriptEntry>) {
    setEntries((list) => list.map((e) => (e.id === runId ? { ...e, ...change } : e)));
  }

  function finished(runId: number, result: GenerationResult) {
    const run = current.current;
    if (run?.runId !== runId) return;
    current.current = undefined;
    // After Stop the text on screen stays as it was; otherwise the result is the authority,
    // since token events travel on their own port and may still be on the way.
    updateEntry(runId, { ...(run.stopping ? {} : { reply: result.text }), status: 'done', reason: result.reason });
    setGeneration({ status: 'idle' });
    setLastRun({ stats: result.stats, reason: result.reason });
  }

  function failed(runId: number, err: unknown) {
    if (current.current?.runId !== runId) return;
    current.current = undefined;
    setGeneration({ status: 'idle' });
    if (isPocketHubError(err, 'AbortError')) {
      updateEntry(runId, { status: 'done', reason: 'abort' });
      return;
    }
    updateEntry(runId, { status: 'failed' });
    setRunError(asError(err));
  }

  /** Starts a run of `user` after `history`, which replaces the transcript (an edit drops what came after it). */
  function start(history: TranscriptEntry[], text: string) {
    if (!model || current.current) return;
    let parsed;
    try {
      parsed = parseSampling(form, model.contextLength);
    } catch (err) {
      setRunError(asError(err));
      return;
    }
    const runId = ++nextRunId.current;
    // A completion continues exactly the text given (a trailing space changes the next token);
    // a chat turn's surrounding whitespace means nothing.
    const user = mode === 'chat' ? text.trim() : text;
    const { maxTokens: limit, ...options } = parsed;
    let messages: ChatMessage[] | undefined;
    if (mode === 'chat') {
      messages = systemPrompt ? [{ role: 'system', content: systemPrompt }] : [];
      for (const e of history) {
        if (e.status === 'done') messages.push({ role: 'user', content: e.user }, { role: 'assistant', content: e.reply });
      }
      messages.push({ role: 'user', content: user });
    }
    // Whatever else of the page holds the engine (a chat reply left streaming, a Space's SDK
    // call) finishes first; the widget says what it waits for meanwhile.
    const body = messages ? { messages, maxTokens: limit, ...options } : { prompt: user, maxTokens: limit, ...options };
    const handle = runGeneration(runLabel, body, (event) => {
      const run = current.current;
      if (event.kind !== 'token' || run?.runId !== runId || run.stopping) return;
      setEntries((list) => list.map((e) => (e.id === runId ? { ...e, reply: e.reply + event.text } : e)));
      setGeneration((g) => (g.status === 'generating' && g.runId === runId ? { ...g, tokensPerSecond: event.tokensPerSecond } : g));
    });
    current.current = { runId, stopping: false, handle };
    setEntries([...history, { id: runId, kind: mode, user, reply: '', status: 'streaming' }]);
    setRunError(undefined);
    setLastRun(undefined);
    setGeneration({ status: 'generating', runId, ticket: handle.id });
    handle.result.then(
      (result) => finished(runId, result),
      (err: unknown) => failed(runId, err),
    );
  }

  function run() {
    if (!canRun) return;
    start(entries, draft);
    setDraft('');
  }

  function edit(id: number, text: string) {
    const at = entries.findIndex((e) => e.id === id);
    if (at >= 0) start(entries.slice(0, at), text);
  }

  function regenerate() {
    const last = entries.at(-1);
    if (last) start(entries.slice(0, -1), last.user);
  }

  function stop() {
    const run = current.current;
    if (!run || run.stopping) return;
    run.stopping = true;
    setGeneration((g) => (g.status === 'generating' ? { ...g, status: 'stopping' } : g));
    run.handle.stop();
  }

  function onPromptKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter that confirms an IME composition belongs to the input method.
    if (e.key !== 'Enter' || e.shiftKey || e.nativeEvent.isComposing) return;
    e.preventDefault();
    if (canRun) run();
  }

  const emptyText =
    loadStatus === 'ready'
      ? mode === 'chat'
        ? 'Say something to start a conversation.'
        : 'Write the start of a text and the model continues it.'
      : 'Load the model to try it here. It runs on your GPU; nothing you type leaves this device.';

  return (
    <section
      className="run-widget"
      aria-labelledby={headingId}
      onKeyDown={(e) => {
        // Escape stops from anywhere inside the widget, not only from the prompt box.
        if (e.key === 'Escape' && running) {
          e.preventDefault();
          stop();
        }
      }}
    >
      <div className="run-widget-head">
        <h2 id={headingId}>{title}</h2>
        {chatHref && <Link to={chatHref}>Open in chat</Link>}
      </div>

      {mode === 'chat' && systemPrompt && (
        <p className="run-system">
          <span className="run-system-label">System prompt</span> {systemPrompt.trim()}
        </p>
      )}

      {loadStatus === 'idle' && (
        <button type="button" className="primary" onClick={() => openModel(requestKey(request), request)}>
          {loadLabel(downloadBytes)}
        </button>
      )}
      {loadStatus === 'loading' && (
        <>
          <LoadProgressView stages={stages} />
          {stages.download && stages.download.loaded < stages.download.total && (
            <button type="button" onClick={cancelLoad}>
              Cancel download
            </button>
          )}
        </>
      )}
      {loadStatus === 'paused' && (
        <div className="alert" role="status">
          <p className="alert-message">Download paused. What was downloaded is kept.</p>
          <button type="button" onClick={resumeLoad}>
            Resume
          </button>
        </div>
      )}
      {loadFailure && <ErrorAlert error={loadFailure} onRetry={resumeLoad} />}

      {model && (
        <>
          {examplePrompts.length > 0 && (
            <div className="run-examples" role="group" aria-label="Example prompts">
              {examplePrompts.map((text) => (
                <button
                  key={text}
                  type="button"
                  disabled={running}
                  onClick={() => {
                    setDraft(text);
                    promptBox.current?.focus();
                  }}
                >
                  {text}
                </button>
              ))}
            </div>
          )}
          <Transcript
            entries={entries}
            busy={running}
            emptyText={emptyText}
            canAnswer={model !== undefined && !running}
            onEdit={edit}
            onRegenerate={regenerate}
          />
          {/* A run still waiting for the engine has no stats yet; the note says what it waits for. */}
          {!waiting && (
            <RunStats status={generation.status} tokensPerSecond={generation.status === 'idle' ? undefined : generation.tokensPerSecond} last={lastRun} />
          )}
          <EngineQueueNote ticket={ticket} />
          {runError && <ErrorAlert error={runError} onRetry={() => setRunError(undefined)} />}
          <form
            className="run-prompt"
            onSubmit={(e) => {
              e.preventDefault();
              run();
            }}
          >
            <label htmlFor={promptId}>{mode === 'chat' ? 'Message' : 'Prompt'}</label>
            <div className="composer-row">
              <textarea
                id={promptId}
                ref={promptBox}
                rows={2}
                value={draft}
                placeholder={examplePrompts[0] ?? (mode === 'chat' ? 'Ask something' : 'Once upon a time')}
                aria-describedby={keysId}
                onChange={(e) => setDraft(e.target.value)}
                onKeyDown={onPromptKey}
              />
              {running ? (
                <button type="button" className="stop" onClick={stop} disabled={generation.status === 'stopping'}>
                  Stop
                </button>
              ) : (
                <button type="submit" className="primary" disabled={!canRun}>
                  Run
                </button>
              )}
            </div>
            <div className="run-prompt-foot">
              <p id={keysId} className="hint">
                Enter runs · Shift+Enter adds a line · Escape stops
              </p>
              {entries.length > 0 && !running && (
                <button type="button" className="link-button" onClick={() => setEntries([])}>
                  Clear
                </button>
              )}
            </div>
          </form>
          <SamplingPanel
            form={form}
            maxTokensLimit={model.contextLength}
            onChange={(change) => setForm((f) => ({ ...f, ...change }))}
            onGreedy={() => setForm((f) => ({ ...f, ...greedySampling }))}
            onReset={() => setForm(initialForm(sampling, maxTokens))}
          />
        </>
      )}
    </section>
  );
}
