import { useEffect, useRef, useState } from 'react';
import type { CachedModel } from '../protocol/index.ts';
import { formatBinaryBytes, formatRelativeTime, shortCommit } from './storageFormat.ts';

export interface StorageTableProps {
  models: CachedModel[];
  /** Milliseconds since the epoch that "last used" is measured from. */
  now: number;
  /** The key (see `cachedModelKey`) of the model being deleted, whose row is then busy. */
  deleting?: string;
  onDelete: (model: CachedModel) => void;
}

export function cachedModelKey(model: Pick<CachedModel, 'repo' | 'commit'>): string {
  return `${model.repo}@${model.commit}`;
}

/**
 * The models in the weight store, one row each. The explicit ARIA roles keep the table's
 * semantics when the phone layout turns its rows into blocks, which drops them in some browsers.
 */
export function StorageTable({ models, now, deleting, onDelete }: StorageTableProps) {
  return (
    <table className="storage-table" role="table">
      <caption className="visually-hidden">Cached models</caption>
      <thead role="rowgroup">
        <tr role="row">
          <th role="columnheader" scope="col">Model</th>
          <th role="columnheader" scope="col">Commit</th>
          <th role="columnheader" scope="col">Size</th>
          <th role="columnheader" scope="col">Files</th>
          <th role="columnheader" scope="col">Status</th>
          <th role="columnheader" scope="col">Last used</th>
          <th role="columnheader" scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody role="rowgroup">
        {models.map((model) => (
          <StorageRow
            key={cachedModelKey(model)}
            model={model}
            now={now}
            busy={deleting === cachedModelKey(model)}
            locked={deleting !== undefined}
            onDelete={() => onDelete(model)}
          />
        ))}
      </tbody>
    </table>
  );
}

interface StorageRowProps {
  model: CachedModel;
  now: number;
  busy: boolean;
  /** One deletion at a time: the page refreshes the list after each. */
  locked: boolean;
  onDelete: () => void;
}

function StorageRow({ model, now, busy, locked, onDelete }: StorageRowProps) {
  const [confirming, setConfirming] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const deleteRef = useRef<HTMLButtonElement>(null);
  // Focus follows the question and returns to Delete on Cancel, so keyboard users are not dropped to the page top.
  const returnFocus = useRef(false);
  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
    else if (returnFocus.current) deleteRef.current?.focus();
    returnFocus.current = false;
  }, [confirming]);

  const name = `${model.repo} at ${shortCommit(model.commit)}`;
  const lastUsed = new Date(model.lastUsed);
  return (
    <tr role="row" aria-busy={busy || undefined}>
      <td role="cell" data-label="Model" className="storage-repo">
        <RepoName repo={model.repo} />
      </td>
      <td role="cell" data-label="Commit">
        <code title={model.commit}>{shortCommit(model.commit)}</code>
      </td>
      <td role="cell" data-label="Size" className="storage-number">
        {formatBinaryBytes(model.bytes)}
      </td>
      <td role="cell" data-label="Files" className="storage-number">
        {model.files.length}
      </td>
      <td role="cell" data-label="Status">
        {model.complete ? (
          <span className="storage-status complete">complete</span>
        ) : (
          <span className="storage-status partial">partial: resumes on next load</span>
        )}
      </td>
      <td role="cell" data-label="Last used">
        <time dateTime={lastUsed.toISOString()} title={lastUsed.toLocaleString()}>
          {formatRelativeTime(model.lastUsed, now)}
        </time>
      </td>
      <td role="cell" className="storage-actions">
        {busy ? (
          <span className="hint" role="status">
            Deleting…
          </span>
        ) : confirming ? (
          <span
            className="storage-confirm"
            role="group"
            aria-label={`Delete ${name}?`}
            onKeyDown={(e) => {
              if (e.key !== 'Escape') return;
              returnFocus.current = true;
              setConfirming(false);
            }}
          >
            <span aria-hidden="true">Delete?</span>
            <button
              ref={confirmRef}
              type="button"
              className="danger"
              disabled={locked}
              onClick={() => {
                setConfirming(false);
                onDelete();
              }}
            >
              Yes, delete
            </button>
            <button
              type="button"
              onClick={() => {
                returnFocus.current = true;
                setConfirming(false);
              }}
            >
              Cancel
            </button>
          </span>
        ) : (
          <button
            ref={deleteRef}
            type="button"
            aria-label={`Delete ${name}`}
            disabled={locked}
            onClick={() => setConfirming(true)}
          >
            Delete
          </button>
        )}
      </td>
    </tr>
  );
}

/** Lets a long repo id wrap after its owner rather than mid-word. */
function RepoName({ repo }: { repo: string }) {
  const slash = repo.indexOf('/');
  if (slash < 0) return repo;
  return (
    <>
      {repo.slice(0, slash + 1)}
      <wbr />
      {repo.slice(slash + 1)}
    </>
  );
}
