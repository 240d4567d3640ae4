import type { LoadStage } from '../protocol/index.ts';
import { formatBytes, formatDuration } from './format.ts';

export interface StageView {
  loaded: number;
  total: number;
  file?: string;
  fileLoaded?: number;
  fileTotal?: number;
  rate?: number;
  etaSeconds?: number;
}

const stageOrder: readonly LoadStage[] = ['download', 'read', 'upload', 'compile', 'warmup'];

const stageTitles: Record<LoadStage, string> = {
  download: 'Downloading',
  read: 'Reading weights',
  upload: 'Uploading to the GPU',
  compile: 'Compiling kernels',
  warmup: 'Warming up',
};

function describe(stage: LoadStage, s: StageView | undefined): string {
  if (!s) return 'waiting';
  if (stage === 'download' || stage === 'read' || stage === 'upload') {
    const parts = [`${formatBytes(s.loaded)} of ${formatBytes(s.total)}`];
    if (s.loaded >= s.total) return parts[0];
    if (s.rate) parts.push(`${formatBytes(s.rate)}/s`);
    if (s.etaSeconds !== undefined) parts.push(`${formatDuration(s.etaSeconds)} left`);
    return parts.join(' · ');
  }
  return `step ${s.loaded} of ${s.total}`;
}

function fileLine(s: StageView): string | undefined {
  if (!s.file) return undefined;
  const name = s.file.split('/').pop();
  if (s.fileTotal === undefined || s.loaded >= s.total) return name;
  return `${name} · ${formatBytes(s.fileLoaded ?? 0)} of ${formatBytes(s.fileTotal)}`;
}

/**
 * One bar per load stage; stages not reached yet are listed as waiting. The download stage is
 * listed only when there is one (a Hub repo not fully in the store).
 */
export function LoadProgressView({ stages }: { stages: Partial<Record<LoadStage, StageView>> }) {
  return (
    <section className="load-progress" aria-label="Loading the model">
      <ol>
        {stageOrder
          .filter((stage) => stage !== 'download' || stages.download)
          .map((stage) => {
            const s = stages[stage];
            const id = `stage-${stage}`;
            const file = s && fileLine(s);
            return (
              <li key={stage} className={s ? (s.loaded >= s.total ? 'stage done' : 'stage active') : 'stage'}>
                <div className="stage-head">
                  <span id={id}>{stageTitles[stage]}</span>
                  <span className="stage-detail">{describe(stage, s)}</span>
                </div>
                {file && <div className="stage-file">{file}</div>}
                <progress aria-labelledby={id} value={s ? s.loaded : 0} max={s && s.total > 0 ? s.total : 1} />
              </li>
            );
          })}
      </ol>
    </section>
  );
}
