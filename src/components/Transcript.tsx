import { lazy, Suspense, useDeferredValue, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { FinishReason } from '../protocol/index.ts';

export interface TranscriptEntry {
  id: number;
  kind: 'completion' | 'chat';
  user: string;
  reply: string;
  status: 'streaming' | 'done' | 'failed';
  reason?: FinishReason;
}

export interface TranscriptProps {
  entries: TranscriptEntry[];
  busy: boolean;
  emptyText: string;
  /** Whether Edit and Regenerate can start a reply now: a model is loaded and nothing runs. */
  canAnswer: boolean;
  onEdit: (id: number, text: string) => void;
  onRegenerate: () => void;
}

// The markdown renderer (remark, rehype, highlight.js) is most of the chat's code; it arrives
// after the first paint, and a completion model's transcript never needs it.
const loadMarkdown = () => import('./Markdown.tsx');
const Markdown = lazy(async () => ({ default: (await loadMarkdown()).Markdown }));

/** Starts fetching the markdown renderer before the first reply needs it. */
export function preloadMarkdown(): void {
  void loadMarkdown();
}

const endNotes: Partial<Record<FinishReason, string>> = {
  abort: 'Stopped.',
  length: 'Reached the token limit.',
};

function EntryNote({ entry }: { entry: TranscriptEntry }) {
  const note = entry.status === 'failed' ? 'No reply: generating it failed.' : entry.reason && endNotes[entry.reason];
  return note ? <p className="entry-note">{note}</p> : null;
}

/**
 * A chat reply as markdown. The whole reply is parsed again for every token, which is cheap at
 * these lengths; deferring it keeps typing and scrolling smooth while tokens stream in. Until
 * the renderer has loaded the plain text stands in, so nothing blinks out.
 */
function Reply({ text }: { text: string }) {
  const source = useDeferredValue(text);
  return (
    <Suspense fallback={<p className="entry-text">{text}</p>}>
      <Markdown source={source} className="reply" />
    </Suspense>
  );
}

interface EditFormProps {
  initial: string;
  canAnswer: boolean;
  onSave: (text: string) => void;
  onCancel: () => void;
}

/** Enter saves and Shift+Enter adds a line, as in the message box; Escape cancels. */
function EditForm({ initial, canAnswer, onSave, onCancel }: EditFormProps) {
  const [text, setText] = useState(initial);
  const canSave = canAnswer && text.trim() !== '';

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Escape') {
      // Escape also means Stop to the page; here it only leaves the edit.
      e.stopPropagation();
      onCancel();
      return;
    }
    if (e.key !== 'Enter' || e.shiftKey || e.nativeEvent.isComposing) return;
    e.preventDefault();
    if (canSave) onSave(text);
  }

  return (
    <form
      className="edit-turn"
      onSubmit={(e) => {
        e.preventDefault();
        if (canSave) onSave(text);
      }}
    >
      <label className="visually-hidden" htmlFor="edit-turn">
        Edit your text
      </label>
      <textarea id="edit-turn" rows={3} value={text} autoFocus onChange={(e) => setText(e.target.value)} onKeyDown={onKeyDown} />
      <div className="entry-actions">
        <button type="submit" className="primary" disabled={!canSave}>
          Save and regenerate
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

interface EntryProps {
  entry: TranscriptEntry;
  last: boolean;
  editing: boolean;
  canAnswer: boolean;
  editButton: (button: HTMLButtonElement | null) => void;
  onStartEdit: () => void;
  onSave: (text: string) => void;
  onCancel: () => void;
  onRegenerate: () => void;
}

function EditButton({ entry, canAnswer, editButton, onStartEdit }: Pick<EntryProps, 'entry' | 'canAnswer' | 'editButton' | 'onStartEdit'>) {
  return (
    <button type="button" ref={editButton} disabled={!canAnswer} aria-describedby={`entry-${entry.id}-user`} onClick={onStartEdit}>
      Edit
    </button>
  );
}

function RegenerateButton({ canAnswer, onRegenerate }: Pick<EntryProps, 'canAnswer' | 'onRegenerate'>) {
  return (
    <button type="button" disabled={!canAnswer} onClick={onRegenerate}>
      Regenerate
    </button>
  );
}

function CompletionEntry(props: EntryProps) {
  const { entry, last, editing, canAnswer, onSave, onCancel } = props;
  const streaming = entry.status === 'streaming';
  // Prompt and continuation sit side by side in one paragraph, with no whitespace between
  // them, so the text reads exactly as the model saw and continued it.
  return (
    <article className="entry completion">
      {editing ? (
        <EditForm initial={entry.user} canAnswer={canAnswer} onSave={onSave} onCancel={onCancel} />
      ) : (
        <p className="entry-text">
          <span className="prompt" id={`entry-${entry.id}-user`}>
            {entry.user}
          </span>
          <span className="continuation">{entry.reply}</span>
          {streaming && <span className="cursor" aria-hidden="true" />}
        </p>
      )}
      <EntryNote entry={entry} />
      {!streaming && !editing && (
        <div className="entry-actions">
          <EditButton {...props} />
          {last && <RegenerateButton {...props} />}
        </div>
      )}
    </article>
  );
}

function ChatEntry(props: EntryProps) {
  const { entry, last, editing, canAnswer, onSave, onCancel } = props;
  const streaming = entry.status === 'streaming';
  return (
    <article className="entry chat">
      <div className="turn user">
        <h3 className="turn-role">You</h3>
        {editing ? (
          <EditForm initial={entry.user} canAnswer={canAnswer} onSave={onSave} onCancel={onCancel} />
        ) : (
          <>
            {/* The user's own words stay plain text: what they typed is what they see. */}
            <p className="entry-text" id={`entry-${entry.id}-user`}>
              {entry.user}
            </p>
            {!streaming && (
              <div className="entry-actions">
                <EditButton {...props} />
              </div>
            )}
          </>
        )}
      </div>
      {!editing && (
        <div className={streaming ? 'turn assistant streaming' : 'turn assistant'}>
          <h3 className="turn-role">Model</h3>
          {entry.reply === '' ? streaming && <span className="cursor" aria-hidden="true" /> : <Reply text={entry.reply} />}
          <EntryNote entry={entry} />
          {!streaming && last && (
            <div className="entry-actions">
              <RegenerateButton {...props} />
            </div>
          )}
        </div>
      )}
    </article>
  );
}

/**
 * The transcript, as a log region. It follows new text while the reader is at the bottom and
 * stays put when they have scrolled up to read. Each finished exchange can be edited (which
 * drops what came after it), and the last one regenerated.
 */
export function Transcript({ entries, busy, emptyText, canAnswer, onEdit, onRegenerate }: TranscriptProps) {
  const log = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [editing, setEditing] = useState<number>();
  const editButtons = useRef(new Map<number, HTMLButtonElement>());
  // Where focus goes when an edit closes: back to its Edit button, or to the log a new reply streams into.
  const focusAfterEdit = useRef<number | 'log'>(undefined);

  useLayoutEffect(() => {
    const el = log.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [entries]);

  // Markdown renders after the entries change (deferred, and lazily loaded), so following the
  // text also has to watch the content's size; the observer runs after layout, before paint.
  useEffect(() => {
    const el = log.current;
    if (!el || !content.current) return;
    const observer = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(content.current);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (editing !== undefined || focusAfterEdit.current === undefined) return;
    const target = focusAfterEdit.current;
    focusAfterEdit.current = undefined;
    (target === 'log' ? log.current : editButtons.current.get(target))?.focus();
  }, [editing]);

  function entryProps(e: TranscriptEntry, index: number): EntryProps {
    return {
      entry: e,
      last: index === entries.length - 1,
      editing: editing === e.id,
      canAnswer,
      editButton: (button) => {
        if (button) editButtons.current.set(e.id, button);
        else editButtons.current.delete(e.id);
      },
      onStartEdit: () => setEditing(e.id),
      onSave: (text) => {
        focusAfterEdit.current = 'log';
        setEditing(undefined);
        onEdit(e.id, text);
      },
      onCancel: () => {
        focusAfterEdit.current = e.id;
        setEditing(undefined);
      },
      onRegenerate: () => {
        onRegenerate();
        // The button goes away while the reply streams; the log is where it appears.
        log.current?.focus();
      },
    };
  }

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
      <div ref={content}>
        {entries.length === 0 ? (
          <p className="empty">{emptyText}</p>
        ) : (
          entries.map((e, i) =>
            e.kind === 'chat' ? <ChatEntry key={e.id} {...entryProps(e, i)} /> : <CompletionEntry key={e.id} {...entryProps(e, i)} />,
          )
        )}
      </div>
    </div>
  );
}
