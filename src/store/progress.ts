import type { LoadProgress, LoadStage } from '../protocol/index.ts';

export const loadStages: readonly LoadStage[] = ['download', 'read', 'upload', 'compile', 'warmup'];

/** One stage of a load as the progress view shows it. */
export interface StageProgress {
  loaded: number;
  total: number;
  file?: string;
  /** Bytes of the file in flight, for a download. */
  fileLoaded?: number;
  fileTotal?: number;
  /** Units (bytes or steps) per second since the stage, or its current file, started. */
  rate?: number;
  /** Seconds left at that rate. */
  etaSeconds?: number;
  /** Where the rate is measured from. */
  startedAt: number;
  startLoaded: number;
}

export type LoadStages = Partial<Record<LoadStage, StageProgress>>;

/**
 * Folds one progress event into the stage it belongs to. A new file, or a count that goes back,
 * restarts the rate measurement, since the engine may report each file of a folder model on
 * its own; a download counts all its files together, so only a count going back restarts it.
 * The first event of a stage only sets its start: a rate needs two points.
 */
export function advanceStage(prev: StageProgress | undefined, p: LoadProgress, nowMs: number): StageProgress {
  const newFile = p.kind !== 'download' && prev?.file !== p.file;
  const restart = !prev || newFile || p.loaded < prev.loaded;
  const startedAt = restart ? nowMs : prev.startedAt;
  const startLoaded = restart ? p.loaded : prev.startLoaded;
  const seconds = (nowMs - startedAt) / 1000;
  const rate = seconds > 0 ? (p.loaded - startLoaded) / seconds : undefined;
  const etaSeconds = rate && rate > 0 ? Math.max(0, p.total - p.loaded) / rate : undefined;
  return { loaded: p.loaded, total: p.total, file: p.file, fileLoaded: p.fileLoaded, fileTotal: p.fileTotal, rate, etaSeconds, startedAt, startLoaded };
}

/** Once a later stage reports, the earlier ones are over even if their last event said otherwise. */
export function finishEarlierStages(stages: LoadStages, current: LoadStage): LoadStages {
  const next: LoadStages = { ...stages };
  for (const stage of loadStages) {
    if (stage === current) break;
    const s = next[stage];
    if (s && s.loaded < s.total) next[stage] = { ...s, loaded: s.total, etaSeconds: 0 };
  }
  return next;
}
