import { Link } from 'react-router-dom';
import type { RepoInfo } from '../protocol/index.ts';
import { formatCount } from './format.ts';
import { formatRelativeTime } from './storageFormat.ts';

export interface RepoCardProps {
  info: RepoInfo;
  /** The app path of the repo's page. */
  to: string;
  /** Milliseconds since the epoch that "updated" is measured from. */
  now: number;
}

/** One repo in a listing: its id as the link, then what the hub says about it, where it says it. */
export function RepoCard({ info, to, now }: RepoCardProps) {
  const updated = info.lastModified ? Date.parse(info.lastModified) : NaN;
  const facts = [
    info.pipelineTag,
    info.libraryName,
    info.downloads !== undefined ? `${formatCount(info.downloads)} downloads` : undefined,
    info.likes !== undefined ? `${formatCount(info.likes)} likes` : undefined,
  ].filter((f): f is string => f !== undefined);
  return (
    <article className="repo-card">
      <h3 className="repo-card-title">
        <Link to={to}>{info.id}</Link>
      </h3>
      <p className="repo-card-facts">
        {facts.join(' · ')}
        {Number.isFinite(updated) && (
          <>
            {facts.length > 0 && ' · '}
            updated{' '}
            <time dateTime={new Date(updated).toISOString()} title={new Date(updated).toLocaleString()}>
              {formatRelativeTime(updated, now)}
            </time>
          </>
        )}
        {info.gated && <span className="badge">gated</span>}
      </p>
    </article>
  );
}
