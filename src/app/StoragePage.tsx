import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { deleteCached, storageInfo } from '../client/engineClient.ts';
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
            <StorageTable
              models={listing.info.models}
              now={listing.at}
              deleting={deleting && cachedModelKey(deleting)}
              onDelete={(model) => void remove(model)}
            />
          )}
        </>
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
