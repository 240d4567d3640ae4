// A static Space: its app_file in an iframe sandboxed WITHOUT allow-same-origin, so its code runs
// in an opaque origin and cannot reach the app's storage, its weight cache or the user's token.
// It reaches the engine only through the SDK, whose connection this component hosts: the Space
// page in the app is the host for the Space inside it (messages.ts).
import { useEffect, useRef } from 'react';
import { appHost } from './hostEngine.ts';
import './staticSpace.css';

export interface StaticSpaceFrameProps {
  /** Absolute URL of the Space's app_file at its commit. */
  src: string;
  /** The iframe's accessible name, e.g. the Space's title. */
  title: string;
}

export function StaticSpaceFrame({ src, title }: StaticSpaceFrameProps) {
  const frame = useRef<HTMLIFrameElement>(null);

  useEffect(() => {
    const iframe = frame.current;
    if (!iframe) return;
    // The Space's document, and no other, is let in: its window is this iframe's, and a sandboxed
    // document without allow-same-origin always posts from origin 'null'. Its own nested frames
    // are other windows, so they cannot connect in its name.
    return appHost().listen(window, (event) => event.source === iframe.contentWindow && event.origin === 'null', `the Space ${title}`);
    // Listening starts before the iframe's document can run: effects run right after the
    // commit that creates the element, and its document loads over the network later.
    // The title only names the Space's runs in the page's queue; a new title needs no new listener.
  }, []);

  return (
    <iframe
      ref={frame}
      className="static-space-frame"
      src={src}
      title={title}
      sandbox="allow-scripts allow-forms"
      // The Space's address says which Space the visitor opened; its server need not know from where.
      referrerPolicy="no-referrer"
    />
  );
}
