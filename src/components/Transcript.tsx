import { useLayoutEffect, useRef } from 'react';
import type { FinishReason } from '../protocol/index.ts';

export interface TranscriptEntry {
  id: number;
  kind: 'completion' | 'chat';
  user: string;
  reply: string;
  status: 'streaming' | 'done' | 'failed';
  reason?: FinishReason;
}

const endNotes: Partial<Record<FinishReason, string>> = {
  abort: 'Stopped.',
  length: 'Reached the token limit.',
};

function EntryNote({ entry }: { entry: TranscriptEntry }) {
  const note = entry.status === 'failed' ? 'Failed; see the error above.' : entry.reason && endNotes[entry.reason];
  return note ? <p className="entry-note">{note}</p> : null;
}

function CompletionEntry({ entry }: { entry: TranscriptEntry }) {
  // Prompt and continuation sit side by side in one paragraph, with no whitespace between
  // them, so the text reads exactly as the model saw and continued it.
  return (
    <article className="entry completion">
      <p className="entry-text">
        <span className="prompt">{entry.user}</span>
        <span className="continuation">{entry.reply}</span>
        {entry.status === 'streaming' && <span className="cursor" aria-hidden="true" />}
      </p>
      <EntryNote entry={entry} />
    </article>
  );
}

function ChatEntry({ entry }: { entry: TranscriptEntry }) {
  return (
    <article className="entry chat">
      <div className="turn user">
        <h3 className="turn-role">You</h3>
        <p className="entry-text">{entry.user}</p>
      </div>
      <div className="turn assistant">
        <h3 className="turn-role">Model</h3>
        <p className="entry-text">
          {entry.reply}
          {entry.status === 'streaming' && <span className="cursor" aria-hidden="true" />}
        </p>
      </div>
      <EntryNote entry={entry} />
    </article>
  );
}

/**
 * The transcript, as a log region. It follows new text while the reader is at the bottom and
 * stays put when they have scrolled up to read.
 */
export function Transcript({ entries, busy, emptyText }: { entries: TranscriptEntry[]; busy: boolean; emptyText: string }) {
  const log = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);

  useLayoutEffect(() => {
    const el = log.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [entries]);

  return (
    <div
      ref={log}
      className="transcript"
      role="log"
      aria-live="polite"
      aria-label="Transcript"
      // Screen readers wait for a finished reply instead of reading every token.
      aria-busy={busy}
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        // Within a line or two of the end counts as the end.
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
      }}
    >
      {entries.length === 0 ? (
        <p className="empty">{emptyText}</p>
      ) : (
        entries.map((e) => (e.kind === 'chat' ? <ChatEntry key={e.id} entry={e} /> : <CompletionEntry key={e.id} entry={e} />))
      )}
    </div>
  );
}
