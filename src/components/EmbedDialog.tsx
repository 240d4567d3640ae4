// An "Embed" button that opens the code to paste into another page. A native modal <dialog>:
// the browser makes the rest of the page inert (so focus stays inside), closes it on Escape,
// and gives it the dialog role; what is left here is the focus on the way in and out.
import { useId, useRef, type MouseEvent } from 'react';
import '../app/spaces.css';
import { CopyButton } from './CopyButton.tsx';

export interface EmbedDialogProps {
  /** What is embedded, for the heading: "Embed <name>". */
  name: string;
  /** The HTML to paste. */
  snippet: string;
  /** One line under the heading on what the embed does. */
  note?: string;
}

export function EmbedDialog({ name, snippet, note }: EmbedDialogProps) {
  const ids = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const code = useRef<HTMLTextAreaElement>(null);

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
          <label htmlFor={`${ids}-code`} className="field-label">
            Embed code
          </label>
          <textarea id={`${ids}-code`} ref={code} readOnly rows={snippet.split('\n').length} value={snippet} spellCheck={false} />
          <div className="embed-dialog-actions">
            <CopyButton text={snippet} what="embed code" />
            <button type="button" onClick={close}>
              Close
            </button>
          </div>
        </div>
      </dialog>
    </>
  );
}
