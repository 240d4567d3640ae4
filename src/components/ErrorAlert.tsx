import { Link } from 'react-router-dom';
import { PocketHubError, type ErrorName } from '../protocol/index.ts';

const fallbackHint = 'Try again; if it keeps failing, reload the page.';

// Errors whose fix is on another page of the app: the hint names the page, and this links to it.
const fixedOn: Partial<Record<ErrorName, { to: string; label: string }>> = {
  AuthRequiredError: { to: '/settings', label: 'Add a token in Settings' },
  QuotaError: { to: '/storage', label: 'Free space on the Storage page' },
};

/** An error with what to do about it; the hint comes from the typed error when there is one. */
export function ErrorAlert({ error, onRetry }: { error: Error; onRetry: () => void }) {
  const typed = error instanceof PocketHubError;
  const hint = typed && error.hint ? error.hint : fallbackHint;
  const fix = typed ? fixedOn[error.name as ErrorName] : undefined;
  return (
    <div className="alert" role="alert">
      <p className="alert-message">{error.message}</p>
      <p className="alert-hint">{hint}</p>
      {fix && (
        <p>
          <Link to={fix.to}>{fix.label}</Link>
        </p>
      )}
      <button type="button" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}
