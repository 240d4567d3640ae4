import type { KeyboardEvent } from 'react';

export interface ComposerProps {
  value: string;
  onChange: (value: string) => void;
  onSend: () => void;
  onStop: () => void;
  /** A model is loaded and nothing is running. */
  ready: boolean;
  generating: boolean;
  placeholder: string;
}

/** Enter sends, Shift+Enter starts a new line; while a reply streams, Send becomes Stop. */
export function Composer({ value, onChange, onSend, onStop, ready, generating, placeholder }: ComposerProps) {
  const canSend = ready && value.trim() !== '';

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter that confirms an IME composition belongs to the input method, not to us.
    if (e.key !== 'Enter' || e.shiftKey || e.nativeEvent.isComposing) return;
    e.preventDefault();
    if (canSend) onSend();
  }

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        if (canSend) onSend();
      }}
    >
      <label htmlFor="message">Message</label>
      <div className="composer-row">
        <textarea
          id="message"
          rows={3}
          value={value}
          placeholder={placeholder}
          aria-describedby="composer-keys"
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
        />
        {generating ? (
          <button type="button" className="stop" onClick={onStop}>
            Stop
          </button>
        ) : (
          <button type="submit" className="primary" disabled={!canSend}>
            Send
          </button>
        )}
      </div>
      <p id="composer-keys" className="hint">
        Enter sends · Shift+Enter adds a line · Escape stops
      </p>
    </form>
  );
}
