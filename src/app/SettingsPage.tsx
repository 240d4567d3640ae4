import { useEffect, useState, type FormEvent } from 'react';
import { checkEndpoint, moveEndpoint } from '../store/hubEndpoints.ts';
import { defaultHubSettings, loadHubSettings, saveHubSettings } from '../store/hubSettings.ts';

type SaveStatus = 'saved' | 'unsaved' | undefined;

export function SettingsPage() {
  const [initial] = useState(loadHubSettings);
  const [hubs, setHubs] = useState<string[]>(initial.hubs);
  const [token, setToken] = useState(initial.token ?? '');
  const [showToken, setShowToken] = useState(false);
  const [draft, setDraft] = useState('');
  const [draftError, setDraftError] = useState<string>();
  const [saveError, setSaveError] = useState<string>();
  const [status, setStatus] = useState<SaveStatus>();
  // Moving or removing an entry re-renders its buttons (or disables the one pressed); this says
  // which control keyboard focus belongs on afterwards, as a list of ids to try in order.
  const [focusNext, setFocusNext] = useState<string[]>();

  useEffect(() => {
    if (!focusNext) return;
    for (const id of focusNext) {
      const el = document.getElementById(id);
      if (el && !(el as HTMLButtonElement).disabled) {
        el.focus();
        break;
      }
    }
    setFocusNext(undefined);
  }, [focusNext]);

  const changeHubs = (next: string[]) => {
    setHubs(next);
    setSaveError(undefined);
    setStatus('unsaved');
  };

  const move = (from: number, to: number, pressed: 'up' | 'down') => {
    changeHubs(moveEndpoint(hubs, from, to));
    setFocusNext([`endpoint-${to}-${pressed}`, `endpoint-${to}-${pressed === 'up' ? 'down' : 'up'}`]);
  };

  const remove = (index: number) => {
    changeHubs(hubs.filter((_, i) => i !== index));
    setFocusNext([`endpoint-${index}-remove`, `endpoint-${index - 1}-remove`, 'new-endpoint']);
  };

  const add = () => {
    const check = checkEndpoint(draft, hubs);
    if (!check.ok) {
      setDraftError(check.message);
      return;
    }
    setDraft('');
    setDraftError(undefined);
    changeHubs([...hubs, check.url]);
  };

  const save = (e: FormEvent) => {
    e.preventDefault();
    // An empty list would silently come back as the default when read; say so instead.
    if (hubs.length === 0) {
      setSaveError('Add at least one hub endpoint, or reset the list to the default.');
      return;
    }
    saveHubSettings({ hubs, token: token.trim() || undefined });
    setSaveError(undefined);
    setStatus('saved');
  };

  return (
    <form className="page narrow settings-page" onSubmit={save} noValidate>
      <h1>Settings</h1>

      <section aria-labelledby="hubs-heading" className="settings-section">
        <h2 id="hubs-heading">Hub endpoints</h2>
        <p className="hint" id="hubs-hint">
          Models given as a repo id (<code>owner/name</code>) are looked up on these hubs, in this order, after the
          app's embedded hub. Put a mirror above huggingface.co to try it first.
        </p>
        {hubs.length === 0 ? (
          <p className="empty">No endpoints: only the embedded hub is searched.</p>
        ) : (
          <ol className="endpoint-list" aria-label="Hub endpoints, in the order they are tried">
            {hubs.map((hub, i) => (
              <li key={hub} className="endpoint">
                <span className="endpoint-url">{hub}</span>
                <span className="endpoint-actions">
                  <button
                    id={`endpoint-${i}-up`}
                    type="button"
                    aria-label={`Move ${hub} up`}
                    title="Move up"
                    disabled={i === 0}
                    onClick={() => move(i, i - 1, 'up')}
                  >
                    ↑
                  </button>
                  <button
                    id={`endpoint-${i}-down`}
                    type="button"
                    aria-label={`Move ${hub} down`}
                    title="Move down"
                    disabled={i === hubs.length - 1}
                    onClick={() => move(i, i + 1, 'down')}
                  >
                    ↓
                  </button>
                  <button id={`endpoint-${i}-remove`} type="button" aria-label={`Remove ${hub}`} onClick={() => remove(i)}>
                    Remove
                  </button>
                </span>
              </li>
            ))}
          </ol>
        )}
        <div className="endpoint-add">
          <label htmlFor="new-endpoint" className="field-label">
            Add an endpoint
          </label>
          <div className="composer-row">
            <input
              id="new-endpoint"
              type="url"
              inputMode="url"
              autoComplete="url"
              placeholder="https://hf-mirror.example"
              value={draft}
              aria-invalid={draftError ? true : undefined}
              aria-describedby={draftError ? 'new-endpoint-error' : undefined}
              onChange={(e) => {
                setDraft(e.target.value);
                setDraftError(undefined);
              }}
              onKeyDown={(e) => {
                // Enter here adds the endpoint rather than saving the whole page.
                if (e.key !== 'Enter') return;
                e.preventDefault();
                add();
              }}
            />
            <button type="button" onClick={add}>
              Add
            </button>
          </div>
          {draftError && (
            <p id="new-endpoint-error" className="field-error" role="alert">
              {draftError}
            </p>
          )}
        </div>
        <p>
          <button type="button" onClick={() => changeHubs([...defaultHubSettings.hubs])}>
            Reset to default
          </button>
        </p>
      </section>

      <section aria-labelledby="token-heading" className="settings-section">
        <h2 id="token-heading">Access token</h2>
        <label htmlFor="hub-token" className="field-label">
          Hugging Face access token
        </label>
        <div className="composer-row">
          <input
            id="hub-token"
            type={showToken ? 'text' : 'password'}
            autoComplete="off"
            spellCheck={false}
            placeholder="hf_…"
            value={token}
            aria-describedby="hub-token-note"
            onChange={(e) => {
              setToken(e.target.value);
              setStatus('unsaved');
            }}
          />
          <button type="button" aria-controls="hub-token" onClick={() => setShowToken(!showToken)}>
            {showToken ? 'Hide token' : 'Show token'}
          </button>
        </div>
        <p id="hub-token-note" className="hint">
          Needed only for gated or private repos; a read token is enough. Create one at{' '}
          <a href="https://huggingface.co/settings/tokens" target="_blank" rel="noreferrer">
            huggingface.co/settings/tokens
          </a>
          . It stays on this device, in this browser's storage, and is sent only to the hub endpoints above.
        </p>
      </section>

      <div className="settings-save">
        <button type="submit" className="primary">
          Save
        </button>
        <p role="status" className="save-status">
          {status === 'saved'
            ? 'Saved. Models you open from now on use these settings.'
            : status === 'unsaved'
              ? 'Unsaved changes.'
              : ''}
        </p>
      </div>
      {saveError && (
        <p className="field-error" role="alert">
          {saveError}
        </p>
      )}
    </form>
  );
}
