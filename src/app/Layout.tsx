import { Link, NavLink, Outlet, useLocation } from 'react-router-dom';
import { ErrorBoundary } from '../components/ErrorBoundary.tsx';
import { UpdatePrompt } from '../components/UpdatePrompt.tsx';

export function Layout() {
  const location = useLocation();
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
