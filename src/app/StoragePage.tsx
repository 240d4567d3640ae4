import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { deleteCached, freeSpace, storageInfo } from '../client/engineClient.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { StorageTable, cachedModelKey } from '../components/StorageTable.tsx';
import { formatBinaryBytes, usagePercent } from '../components/storageFormat.ts';
import type { CachedModel, StorageInfo } from '../protocol/index.ts';
import { chatPath, defaultModel } from './models.ts';

type Listing = { status: 'loading' } | { status: 'ready'; info: StorageInfo; at: number } | { status: 'failed'; error: Error };

// Comlink rethrows what the worker threw; anything that is not an Error still gets a message.
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function StoragePage() {
  const [listing, setListing] = useState<Listing>({ status: 'loading' });
  const [deleting, setDeleting] = useState<CachedModel>();
  const [deleteFailure, setDeleteFailure] = useState<{ model: CachedModel; error: Error }>();

  const refresh = useCallback(async () => {
    try {
      const info = await storageInfo();
      setListing({ status: 'ready', info, at: Date.now() });
    } catch (err) {
      setListing({ status: 'failed', error: asError(err) });
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const remove = async (model: CachedModel) => {
    setDeleting(model);
    setDeleteFailure(undefined);
    try {
      await deleteCached(model.repo, model.commit);
      await refresh();
    } catch (err) {
      setDeleteFailure({ model, error: asError(err) });
    } finally {
      setDeleting(undefined);
    }
  };

  return (
    <section className="page storage-page" aria-busy={listing.status === 'loading'}>
      <h1>Storage</h1>
      <p className="lead">Models downloaded from a hub stay in this browser, so they open again without the network.</p>
      {listing.status === 'loading' && (
        <p className="hint" role="status">
          Reading the model store…
        </p>
      )}
      {listing.status === 'failed' && (
        <ErrorAlert
          error={listing.error}
          onRetry={() => {
            setListing({ status: 'loading' });
            void refresh();
          }}
        />
      )}
      {deleteFailure && <ErrorAlert error={deleteFailure.error} onRetry={() => void remove(deleteFailure.model)} />}
      {listing.status === 'ready' && (
        <>
          <StorageUsage info={listing.info} />
          {listing.info.models.length === 0 ? (
            <div className="storage-empty">
              <p>No models cached yet. Models you open from a hub repo are kept here after their first download.</p>
              <p>
                <Link to={chatPath(defaultModel)}>Chat with the embedded stories260K</Link>, which comes with the app.
              </p>
            </div>
          ) : (
            <>
              <StorageTable
                models={listing.info.models}
                now={listing.at}
                deleting={deleting && cachedModelKey(deleting)}
                onDelete={(model) => void remove(model)}
              />
              <FreeSpace models={listing.info.models} onFreed={refresh} />
            </>
          )}
        </>
      )}
    </section>
  );
}

const freeChoices = [256 * 2 ** 20, 2 ** 30, 4 * 2 ** 30, 16 * 2 ** 30];

/**
 * Frees a chosen amount by deleting the models used least recently, after showing which: the
 * worker makes the choice (a dry run) so the list shown is the list deleted.
 */
function FreeSpace({ models, onFreed }: { models: CachedModel[]; onFreed: () => Promise<void> }) {
  const [bytes, setBytes] = useState(freeChoices[0]);
  const [plan, setPlan] = useState<CachedModel[]>();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ error: Error; retry: () => void }>();
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let current = true;
    setPlan(undefined);
    freeSpace(bytes, { dryRun: true }).then(
      (picked) => current && setPlan(picked),
      (err: unknown) => current && setFailure({ error: asError(err), retry: () => setAttempt((n) => n + 1) }),
    );
    return () => {
      current = false;
    };
  }, [bytes, models, attempt]);

  const run = async () => {
    setBusy(true);
    setFailure(undefined);
    try {
      await freeSpace(bytes);
      await onFreed();
    } catch (err) {
      setFailure({ error: asError(err), retry: () => void run() });
    } finally {
      setBusy(false);
    }
  };

  const total = plan?.reduce((sum, m) => sum + m.bytes, 0) ?? 0;
  return (
    <section className="free-space" aria-labelledby="free-space-heading">
      <h2 id="free-space-heading">Free up space</h2>
      <p className="hint">Deletes the models used least recently until at least this much is free; they download again when opened.</p>
      <div className="free-space-row">
        <label htmlFor="free-space-amount">Free at least</label>
        <select id="free-space-amount" value={bytes} onChange={(e) => setBytes(Number(e.target.value))}>
          {freeChoices.map((b) => (
            <option key={b} value={b}>
              {formatBinaryBytes(b)}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => void run()} disabled={busy || !plan || plan.length === 0}>
          {plan ? `Delete ${plan.length} ${plan.length === 1 ? 'model' : 'models'} (${formatBinaryBytes(total)})` : 'Delete…'}
        </button>
      </div>
      {plan && plan.length > 0 && (
        <ul aria-label="Models that would be deleted">
          {plan.map((m) => (
            <li key={cachedModelKey(m)}>
              {m.repo} · {formatBinaryBytes(m.bytes)}
            </li>
          ))}
        </ul>
      )}
      {failure && (
        <ErrorAlert
          error={failure.error}
          onRetry={() => {
            setFailure(undefined);
            failure.retry();
          }}
        />
      )}
    </section>
  );
}

function StorageUsage({ info }: { info: StorageInfo }) {
  const percent = usagePercent(info.usage, info.quota);
  const models = info.models.reduce((sum, m) => sum + m.bytes, 0);
  return (
    <div className="storage-usage">
      <h2 id="storage-use">Space used by this site</h2>
      {percent === undefined ? (
        <p>{formatBinaryBytes(info.usage)} used; this browser does not report its quota.</p>
      ) : (
        <>
          <meter aria-labelledby="storage-use" min={0} max={info.quota} value={info.usage} high={info.quota * 0.9} optimum={0}>
            {percent}%
          </meter>
          <p className="storage-numbers">
            {formatBinaryBytes(info.usage)} of {formatBinaryBytes(info.quota)} ({percent === 0 && info.usage > 0 ? 'under 1' : percent}%) · models:{' '}
            {formatBinaryBytes(models)}
          </p>
        </>
      )}
      {info.persisted ? (
        <p className="storage-persistence">
          <strong>Storage is persistent.</strong> The browser keeps these models until you delete them here or clear
          this site's data.
        </p>
      ) : (
        <p className="storage-persistence">
          <strong>The browser may evict these models</strong> when the device runs low on space. Nothing breaks: an
          evicted model downloads again the next time you open it.
        </p>
      )}
    </div>
  );
}
