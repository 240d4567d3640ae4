// An "Embed" button that opens the code to paste into another page. A native modal <dialog>:
// the browser makes the rest of the page inert (so focus stays inside), closes it on Escape,
// and gives it the dialog role; what is left here is the focus on the way in and out.
import { useId, useRef, useState, type MouseEvent } from 'react';
import { siteOrigin } from '../app/snippets.ts';
import '../app/spaces.css';
import { CopyButton } from './CopyButton.tsx';

export interface EmbedDialogProps {
  /** What is embedded, for the heading: "Embed <name>". */
  name: string;
  /** The HTML to paste, for the site `parent` (an origin) when its author named one. */
  snippet: (parent?: string) => string;
  /** One line under the heading on what the embed does. */
  note?: string;
}

export function EmbedDialog({ name, snippet, note }: EmbedDialogProps) {
  const ids = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const code = useRef<HTMLTextAreaElement>(null);
  const [site, setSite] = useState('');
  const parent = siteOrigin(site);
  const siteInvalid = site.trim() !== '' && parent === undefined;
  const text = snippet(parent);

  function open() {
    dialog.current?.showModal();
    // The code is what the dialog is for: focused and selected, Ctrl+C copies it at once.
    code.current?.focus();
    code.current?.select();
  }

  function close() {
    dialog.current?.close();
  }

  // A click on the dialog element itself lands on its backdrop: the content fills the box.
  function onDialogClick(e: MouseEvent<HTMLDialogElement>) {
    if (e.target === e.currentTarget) close();
  }

  return (
    <>
      <button type="button" ref={trigger} aria-haspopup="dialog" onClick={open}>
        Embed
      </button>
      <dialog
        ref={dialog}
        className="embed-dialog"
        aria-labelledby={`${ids}-title`}
        aria-describedby={note ? `${ids}-note` : undefined}
        onClick={onDialogClick}
        // Escape and close() both end here; the button that opened the dialog gets focus back.
        onClose={() => trigger.current?.focus()}
      >
        <div className="embed-dialog-body">
          <h2 id={`${ids}-title`}>Embed {name}</h2>
          {note && (
            <p id={`${ids}-note`} className="hint">
              {note}
            </p>
          )}
          {/* As Twitch's `parent` and YouTube's `origin`: naming the site pins the embed to it. */}
          <label htmlFor={`${ids}-site`} className="field-label">
            Your site (optional)
          </label>
          <input
            id={`${ids}-site`}
            type="url"
            inputMode="url"
            value={site}
            placeholder="https://blog.example"
            aria-invalid={siteInvalid}
            aria-describedby={`${ids}-site-note`}
            onChange={(e) => setSite(e.target.value)}
          />
          <p id={`${ids}-site-note`} className={siteInvalid ? 'field-note field-error' : 'field-note'}>
            {siteInvalid
              ? `“${site.trim()}” is not a web address; the code below works from any site.`
              : parent
                ? `The embed talks only to pages of ${parent}.`
                : 'Names the site that may hear from the embed and command it. Without it, the embed answers the page it finds itself in.'}
          </p>
          <label htmlFor={`${ids}-code`} className="field-label">
            Embed code
          </label>
          <textarea id={`${ids}-code`} ref={code} readOnly rows={text.split('\n').length} value={text} spellCheck={false} />
          <div className="embed-dialog-actions">
            <CopyButton text={text} what="embed code" />
            <button type="button" onClick={close}>
              Close
            </button>
          </div>
        </div>
      </dialog>
    </>
  );
}
