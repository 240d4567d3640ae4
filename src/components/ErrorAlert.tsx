import { PocketHubError } from '../protocol/index.ts';

const fallbackHint = 'Try again; if it keeps failing, reload the page.';

/** An error with what to do about it; the hint comes from the typed error when there is one. */
export function ErrorAlert({ error, onRetry }: { error: Error; onRetry: () => void }) {
  const hint = error instanceof PocketHubError && error.hint ? error.hint : fallbackHint;
  return (
    <div className="alert" role="alert">
      <p className="alert-message">{error.message}</p>
      <p className="alert-hint">{hint}</p>
      <button type="button" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}
