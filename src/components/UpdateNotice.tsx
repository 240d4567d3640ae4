// What the service worker has to tell the user (UpdatePrompt wires it to the registration).
import './updatePrompt.css';

export interface UpdateNoticeProps {
  /** A new build is installed and waits for a reload. */
  needRefresh: boolean;
  /** The first install has cached the app. */
  offlineReady: boolean;
  onReload: () => void;
  onLater: () => void;
  onDismiss: () => void;
}

export function UpdateNotice({ needRefresh, offlineReady, onReload, onLater, onDismiss }: UpdateNoticeProps) {
  // The live region stays in the page, empty, so that its messages are announced when they
  // appear. aria-live rather than role="status": pages own their status messages ("Saved."),
  // and this one is app-wide.
  return (
    <div className="update-prompt" aria-live="polite" aria-atomic="true">
      {needRefresh ? (
        <div className="update-prompt-bar">
          <p>A new version of Pocket Hub is ready.</p>
          <button type="button" className="primary" onClick={onReload}>
            Reload
          </button>
          <button type="button" onClick={onLater}>
            Later
          </button>
        </div>
      ) : offlineReady ? (
        <div className="update-prompt-bar">
          <p>Ready to work offline: models you have downloaded run without a connection.</p>
          <button type="button" onClick={onDismiss}>
            Dismiss
          </button>
        </div>
      ) : null}
    </div>
  );
}
