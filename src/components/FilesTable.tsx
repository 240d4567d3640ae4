import type { RepoFileEntry } from '../protocol/index.ts';
import { formatBytes } from './format.ts';

export interface FilesTableProps {
  files: RepoFileEntry[];
  /** The 40-hex commit the listing was read at. */
  commit: string;
  /** The branch, tag or commit that was asked for, when it is not the commit itself. */
  revision?: string;
  /** Prefix of every file's download URL at this commit, ending in '/'. */
  resolveBase: string;
}

/** Hashes are compared by eye on their start, as git abbreviates commits. */
function shortHash(hash: string): string {
  return hash.slice(0, 10);
}

/** A repo's files at one commit, as the Hub's "Files and versions" tab lists them. */
export function FilesTable({ files, commit, revision, resolveBase }: FilesTableProps) {
  const total = files.reduce((sum, f) => sum + f.size, 0);
  return (
    <div className="files-table-wrap">
      <table className="files-table">
        <caption>
          {files.length} {files.length === 1 ? 'file' : 'files'}, {formatBytes(total)}
          {revision && revision !== commit && (
            <>
              {' · '}
              <code>{revision}</code>
            </>
          )}
          {' at commit '}
          <code title={commit}>{shortHash(commit)}</code>
        </caption>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Size</th>
            <th scope="col">SHA-256</th>
          </tr>
        </thead>
        <tbody>
          {files.map((file) => (
            <tr key={file.path}>
              <th scope="row" className="files-path">
                <a href={resolveBase + file.path.split('/').map(encodeURIComponent).join('/')} download>
                  {file.path}
                </a>
                {file.lfs && (
                  <span className="badge" title="Stored in Git LFS, as the Hub keeps weights">
                    LFS
                  </span>
                )}
              </th>
              <td className="files-size" title={`${file.size.toLocaleString('en')} bytes`}>
                {formatBytes(file.size)}
              </td>
              <td>
                {file.sha256 ? (
                  <code title={file.sha256}>{shortHash(file.sha256)}</code>
                ) : (
                  <span className="hint" title="Small files have only a git blob id, not a published SHA-256">
                    —
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
