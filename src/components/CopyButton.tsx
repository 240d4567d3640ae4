import { useEffect, useState } from 'react';

export interface CopyButtonProps {
  text: string;
  /** What is copied, for the button's accessible name: "Copy <what>". */
  what: string;
  /** The visible label; "Copy" when absent. */
  children?: string;
}

/** Copies `text`; a status line beside it says whether that worked, for sighted and screen-reader users alike. */
export function CopyButton({ text, what, children = 'Copy' }: CopyButtonProps) {
  const [status, setStatus] = useState('');

  useEffect(() => {
    if (status === '') return;
    const timer = setTimeout(() => setStatus(''), 2000);
    return () => clearTimeout(timer);
  }, [status]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setStatus('Copied');
    } catch {
      // No clipboard access: an insecure context, or the user denied the permission.
      setStatus('Copy failed: select the text instead');
    }
  }

  return (
    <span className="copy-button">
      <button type="button" aria-label={`Copy ${what}`} onClick={copy}>
        {children}
      </button>
      <span role="status" className="copy-status">
        {status}
      </span>
    </span>
  );
}
