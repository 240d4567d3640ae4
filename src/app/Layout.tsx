import { Link, NavLink, Outlet, useLocation } from 'react-router-dom';
import { ErrorBoundary } from '../components/ErrorBoundary.tsx';
import { UpdatePrompt } from '../components/UpdatePrompt.tsx';

/**
 * Another site may frame the app's pages (the embed routes and the SDK host must stay frameable,
 * and every route is the same index.html, so no header can tell them apart). The full app in a
 * frame would let that site dress up Settings or Storage and trick a click, so it shows only a
 * way out instead.
 */
function isFramed(): boolean {
  try {
    return window.top !== window.self;
  } catch {
    // A cross-origin parent can make even the comparison throw in some browsers.
    return true;
  }
}

function FramedNotice() {
  const here = window.location.href;
  return (
    <main className="framed-notice">
      <h1>Pocket Hub</h1>
      <p>This page of Pocket Hub does not run inside another site. To embed a Space or a model, use its Embed button.</p>
      <a href={here} target="_blank" rel="noopener noreferrer">
        Open Pocket Hub in a new tab
      </a>
    </main>
  );
}

export function Layout() {
  const location = useLocation();
  if (isFramed()) return <FramedNotice />;
  return (
    <div className="app">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="app-header">
        <Link to="/" className="brand">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          Pocket Hub
        </Link>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Home
          </NavLink>
          <NavLink to="/models">Models</NavLink>
          <NavLink to="/spaces">Spaces</NavLink>
          <NavLink to="/chat">Chat</NavLink>
          <NavLink to="/storage">Storage</NavLink>
          <NavLink to="/settings">Settings</NavLink>
        </nav>
      </header>
      <UpdatePrompt />
      <main id="content" tabIndex={-1}>
        {/* Keyed by path so that leaving a page that failed to render clears the error. */}
        <ErrorBoundary key={location.pathname}>
          <Outlet />
        </ErrorBoundary>
      </main>
    </div>
  );
}
