import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { modelName } from './ModelSummary.tsx';
import { formatRelativeTime } from './storageFormat.ts';

export interface ConversationListItem {
  id: string;
  title: string;
  /** What `?model=` named for it. */
  model: string;
  updatedAt: number;
}

export interface ConversationListProps {
  status: 'loading' | 'ready' | 'failed';
  error?: Error;
  /** Newest first. */
  conversations: ConversationListItem[];
  activeId?: string;
  /** A reply is streaming: opening another conversation, starting one or deleting the open one waits for it. */
  busy: boolean;
  now: number;
  onNew: () => void;
  onSelect: (item: ConversationListItem) => void;
  onRename: (id: string, title: string) => void;
  onDelete: (id: string) => void;
  /** One conversation, or every one when `id` is undefined. */
  onExport: (id?: string) => void;
}

/** Escape inside the list closes what it opened; the page's own Escape (Stop) must not see it. */
function onEscape(action: () => void) {
  return (e: KeyboardEvent) => {
    if (e.key !== 'Escape') return;
    e.stopPropagation();
    action();
  };
}

function RenameForm({ title, onSave, onCancel }: { title: string; onSave: (title: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(title);
  return (
    <form
      className="conversation-rename"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim() !== '') onSave(text);
      }}
    >
      <label className="visually-hidden" htmlFor="conversation-title">
        Conversation title
      </label>
      <input
        id="conversation-title"
        value={text}
        autoFocus
        maxLength={200}
        onFocus={(e) => e.currentTarget.select()}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onEscape(onCancel)}
      />
      <div className="conversation-actions">
        <button type="submit" disabled={text.trim() === ''}>
          Save
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

interface RowProps {
  item: ConversationListItem;
  active: boolean;
  busy: boolean;
  now: number;
  onSelect: () => void;
  onRename: (title: string) => void;
  onDelete: () => void;
  onExport: () => void;
}

function ConversationRow({ item, active, busy, now, onSelect, onRename, onDelete, onExport }: RowProps) {
  const [mode, setMode] = useState<'view' | 'rename' | 'confirm'>('view');
  const renameRef = useRef<HTMLButtonElement>(null);
  const deleteRef = useRef<HTMLButtonElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  // Focus follows the question, and returns to the button that opened it, so keyboard users
  // are not dropped to the top of the page.
  const returnFocus = useRef<'rename' | 'delete'>(undefined);
  useEffect(() => {
    if (mode === 'confirm') confirmRef.current?.focus();
    if (mode !== 'view') return;
    if (returnFocus.current === 'rename') renameRef.current?.focus();
    if (returnFocus.current === 'delete') deleteRef.current?.focus();
    returnFocus.current = undefined;
  }, [mode]);

  const back = (to: 'rename' | 'delete') => () => {
    returnFocus.current = to;
    setMode('view');
  };
  const titleId = `conversation-${item.id}`;
  const updated = new Date(item.updatedAt);

  return (
    <li className={active ? 'conversation active' : 'conversation'}>
      {mode === 'rename' ? (
        <RenameForm
          title={item.title}
          onSave={(title) => {
            onRename(title);
            back('rename')();
          }}
          onCancel={back('rename')}
        />
      ) : (
        <button type="button" className="conversation-open" aria-current={active || undefined} disabled={busy && !active} onClick={onSelect}>
          <span className="conversation-title" id={titleId}>
            {item.title}
          </span>
          <span className="conversation-meta">
            {modelName(item.model)} ·{' '}
            <time dateTime={updated.toISOString()} title={updated.toLocaleString()}>
              {formatRelativeTime(item.updatedAt, now)}
            </time>
          </span>
        </button>
      )}
      {mode === 'confirm' && (
        <div className="conversation-actions conversation-confirm" role="group" aria-label={`Delete “${item.title}”?`} onKeyDown={onEscape(back('delete'))}>
          <span aria-hidden="true">Delete?</span>
          <button
            ref={confirmRef}
            type="button"
            className="danger"
            onClick={() => {
              setMode('view');
              onDelete();
            }}
          >
            Yes, delete
          </button>
          <button type="button" onClick={back('delete')}>
            Cancel
          </button>
        </div>
      )}
      {mode === 'view' && (
        <div className="conversation-actions">
          <button ref={renameRef} type="button" aria-describedby={titleId} onClick={() => setMode('rename')}>
            Rename
          </button>
          <button type="button" aria-describedby={titleId} onClick={onExport}>
            Export
          </button>
          <button ref={deleteRef} type="button" aria-describedby={titleId} disabled={busy && active} onClick={() => setMode('confirm')}>
            Delete
          </button>
        </div>
      )}
    </li>
  );
}

/**
 * The saved conversations, newest first, with New chat and Export all. On a narrow screen the
 * list folds behind a toggle so the chat keeps the width.
 */
export function ConversationList(props: ConversationListProps) {
  const { status, error, conversations, activeId, busy, now, onNew, onSelect, onRename, onDelete, onExport } = props;
  const [open, setOpen] = useState(false);
  const newChatRef = useRef<HTMLButtonElement>(null);

  let body;
  if (status === 'loading') {
    body = <p className="hint">Loading saved conversations…</p>;
  } else if (status === 'failed') {
    body = (
      <p className="hint" role="status">
        Conversations cannot be saved in this browser{error ? `: ${error.message}` : ''}. The chat still works.
      </p>
    );
  } else if (conversations.length === 0) {
    body = <p className="hint">No saved conversations yet. A chat is saved after its first reply.</p>;
  } else {
    body = (
      <ul className="conversation-items">
        {conversations.map((item) => (
          <ConversationRow
            key={item.id}
            item={item}
            active={item.id === activeId}
            busy={busy}
            now={now}
            onSelect={() => {
              setOpen(false);
              onSelect(item);
            }}
            onRename={(title) => onRename(item.id, title)}
            onDelete={() => {
              // The row goes away with its buttons; New chat is the nearest thing that stays.
              newChatRef.current?.focus();
              onDelete(item.id);
            }}
            onExport={() => onExport(item.id)}
          />
        ))}
      </ul>
    );
  }

  return (
    <nav className={open ? 'conversations open' : 'conversations'} aria-label="Conversations">
      <div className="conversations-head">
        <h2 className="conversations-heading">Conversations</h2>
        <button type="button" className="conversations-toggle" aria-expanded={open} aria-controls="conversation-panel" onClick={() => setOpen(!open)}>
          Conversations ({conversations.length})
        </button>
        <button
          ref={newChatRef}
          type="button"
          disabled={busy}
          onClick={() => {
            setOpen(false);
            onNew();
          }}
        >
          New chat
        </button>
      </div>
      <div id="conversation-panel" className="conversations-panel">
        {body}
        {status === 'ready' && conversations.length > 1 && (
          <button type="button" className="conversations-export" onClick={() => onExport()}>
            Export all
          </button>
        )}
      </div>
    </nav>
  );
}
