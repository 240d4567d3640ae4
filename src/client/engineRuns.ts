// Every generation of this page goes through here: the chat, the run widgets of model and Space
// pages, the SDK host (static Spaces, other sites through /sdk/host) and an embed's commands. The
// engine runs one generation at a time and refuses a second with "already running"; this queue
// knows which run holds the engine and which wait, starts each in turn, and publishes both for
// the UI to show. Stopping a run that waits only takes it out of the queue: the run that holds
// the engine is somebody else's and keeps going.
import { create } from 'zustand';
import { AbortError, InvalidArgumentError, type GenerateEvent, type GenerateRequest, type GenerationResult } from '../protocol/index.ts';
import * as client from './engineClient.ts';

/** A run as the UI names it: `label` says who asked, to fit "Waiting for <label> to finish". */
export interface RunInfo {
  id: number;
  label: string;
}

export interface EngineRunsState {
  running?: RunInfo;
  /** In the order they will run. */
  waiting: RunInfo[];
}

/** What the engine is busy with, for components; changed only by this module. */
export const useEngineRuns = create<EngineRunsState>()(() => ({ waiting: [] }));

/** Runs that may wait at once; beyond that a new one is refused, so no page can pile up work without end. */
export const MAX_WAITING = 8;

export interface RunHandle {
  id: number;
  /** Settles as the engine's generate does; a run stopped before its turn rejects with AbortError. */
  result: Promise<GenerationResult>;
  /** Takes the run out of the queue, or tells the engine to stop it once it runs. Idempotent. */
  stop(): void;
}

interface Slot {
  info: RunInfo;
  start(): void;
  stop(): void;
}

const queue: Slot[] = [];
let current: Slot | undefined;
let nextId = 0;

function publish(): void {
  useEngineRuns.setState({ running: current?.info, waiting: queue.map((s) => s.info) });
}

function startNext(): void {
  current = queue.shift();
  publish();
  current?.start();
}

/**
 * Generates `request` for `label` once every run queued before it has finished. `onStart` is
 * called when it gets the engine; `onEvent` receives the engine's events as generate's does.
 */
export function runGeneration(
  label: string,
  request: GenerateRequest,
  onEvent: (e: GenerateEvent) => void,
  onStart?: () => void,
): RunHandle {
  const info: RunInfo = { id: ++nextId, label };
  if (queue.length >= MAX_WAITING) {
    const busy = current ? `generating for ${current.info.label}` : 'busy';
    const refused = new InvalidArgumentError(
      `The engine is ${busy} and ${queue.length} more runs are waiting, so ${label} was not queued.`,
      'Try again when one of them has finished, or stop one.',
    );
    return { id: info.id, result: Promise.reject(refused), stop: () => {} };
  }
  let settle!: { resolve: (r: GenerationResult) => void; reject: (err: unknown) => void };
  const result = new Promise<GenerationResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let state: 'waiting' | 'running' | 'stopped' | 'done' = 'waiting';
  const slot: Slot = {
    info,
    start() {
      state = 'running';
      onStart?.();
      client
        .generate(request, onEvent)
        .then(settle.resolve, settle.reject)
        .finally(() => {
          state = 'done';
          if (current === slot) startNext();
        });
    },
    stop() {
      if (state === 'waiting') {
        state = 'stopped';
        queue.splice(queue.indexOf(slot), 1);
        publish();
        settle.reject(new AbortError(`${label} was stopped before the engine got to it.`));
      } else if (state === 'running') {
        state = 'stopped';
        // The engine ends the run with reason 'abort'; `result` resolves as usual.
        client.abort();
      }
    },
  };
  queue.push(slot);
  if (current) publish();
  else startNext();
  return { id: info.id, result, stop: () => slot.stop() };
}

/** Stops every run of this page, waiting or running (an embed's parent said stop). */
export function stopAllRuns(): void {
  for (const slot of [...queue]) slot.stop();
  current?.stop();
}
