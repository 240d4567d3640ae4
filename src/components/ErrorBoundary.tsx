import { Component, type ErrorInfo, type ReactNode } from 'react';

interface State {
  error?: Error;
}

/** A render error shows a message and a way out instead of a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = {};

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('Pocket Hub hit a rendering error', error, info.componentStack);
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div className="alert page-error" role="alert">
        <h1>Something went wrong</h1>
        <p className="alert-message">{error.message}</p>
        <p className="alert-hint">Reload the page to start again, or go back home.</p>
        <div className="alert-actions">
          <button type="button" onClick={() => window.location.reload()}>
            Reload
          </button>
          <a href="/">Home</a>
        </div>
      </div>
    );
  }
}
