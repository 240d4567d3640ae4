// One line on what the page's engine is busy with, beside a run's stats: the engine generates
// for one part of the page at a time (engineRuns.ts), and a run started while another holds it
// waits rather than failing, so the page says what it waits for.
import { useEngineRuns } from '../client/engineRuns.ts';

/** Whether the run `ticket` (an engineRuns id) still waits, and behind how many runs. */
export function useRunWaiting(ticket: number | undefined): { waitingFor: string; ahead: number } | undefined {
  const running = useEngineRuns((s) => s.running);
  const waiting = useEngineRuns((s) => s.waiting);
  const at = ticket === undefined ? -1 : waiting.findIndex((w) => w.id === ticket);
  if (at < 0) return undefined;
  return { waitingFor: running?.label ?? 'another run', ahead: at };
}

function list(labels: string[]): string {
  return labels.length <= 2 ? labels.join(' and ') : `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`;
}

/** `ticket`: this surface's run in the queue, undefined while it has none. */
export function EngineQueueNote({ ticket }: { ticket?: number }) {
  const running = useEngineRuns((s) => s.running);
  const waiting = useEngineRuns((s) => s.waiting);
  const mine = useRunWaiting(ticket);
  let text: string | undefined;
  if (mine) {
    const others = mine.ahead > 0 ? `, then ${mine.ahead} more ${mine.ahead === 1 ? 'run' : 'runs'} waiting before this one` : '';
    text = `Waiting for ${mine.waitingFor} to finish${others}. The engine runs one generation at a time.`;
  } else if (running && running.id === ticket && waiting.length > 0) {
    text = `Next in line: ${list(waiting.map((w) => w.label))}.`;
  } else if (running && ticket === undefined) {
    text = `The engine is generating for ${running.label}; a run started here waits until it finishes.`;
  }
  return text ? (
    <p className="hint engine-queue-note" role="status">
      {text}
    </p>
  ) : null;
}
