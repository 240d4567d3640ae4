import type { FinishReason, GenerationStats } from '../protocol/index.ts';
import { formatTokensPerSecond } from './format.ts';

const reasonText: Record<FinishReason, string> = {
  eos: 'end of text',
  length: 'token limit',
  stop: 'stop sequence',
  abort: 'stopped',
};

/** Prompt and generated tokens against the context, e.g. "40 of 512 tokens (8%)". */
export function contextUsed(stats: Pick<GenerationStats, 'promptTokens' | 'generatedTokens'>, contextLength: number): string {
  const used = stats.promptTokens + stats.generatedTokens;
  // Rounded down, so that it reads 100% only once the context is full.
  const percent = Math.floor((used / contextLength) * 100);
  return `${used} of ${contextLength} tokens (${percent}%)`;
}

export interface RunStatsProps {
  status: 'idle' | 'generating' | 'stopping';
  /** Decode speed so far, from the latest token. */
  tokensPerSecond?: number;
  last?: { stats: GenerationStats; reason: FinishReason };
  /** The model's context: the prompt and the reply together must fit in it. */
  contextLength?: number;
}

/** Live speed while a reply streams, then the finished run's numbers and how much of the context they filled. */
export function RunStats({ status, tokensPerSecond, last, contextLength }: RunStatsProps) {
  let body;
  if (status === 'stopping') {
    body = <p>Stopping…</p>;
  } else if (status === 'generating') {
    body = <p>{tokensPerSecond === undefined ? 'Reading the prompt…' : `Generating · ${formatTokensPerSecond(tokensPerSecond)}`}</p>;
  } else if (last) {
    const s = last.stats;
    body = (
      <dl role="status">
        <div>
          <dt>Prompt</dt>
          <dd>{s.promptTokens} tokens</dd>
        </div>
        <div>
          <dt>Generated</dt>
          <dd>{s.generatedTokens} tokens</dd>
        </div>
        <div>
          <dt>Prefill</dt>
          <dd>{formatTokensPerSecond(s.prefillTokensPerSecond)}</dd>
        </div>
        <div>
          <dt>Decode</dt>
          <dd>{formatTokensPerSecond(s.decodeTokensPerSecond)}</dd>
        </div>
        <div>
          <dt>First token</dt>
          <dd>{Math.round(s.timeToFirstTokenMs)} ms</dd>
        </div>
        <div>
          <dt>Ended</dt>
          <dd>{reasonText[last.reason]}</dd>
        </div>
        {contextLength !== undefined && contextLength > 0 && (
          <div>
            <dt>Context</dt>
            <dd>{contextUsed(s, contextLength)}</dd>
          </div>
        )}
      </dl>
    );
  }
  if (!body) return null;
  return (
    <section className="run-stats" aria-label="Generation stats">
      {body}
    </section>
  );
}
