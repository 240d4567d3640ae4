import { useId, type ReactNode } from 'react';
import type { ModelFacts } from '../protocol/index.ts';
import { formatBytes, formatCount } from './format.ts';

export interface ModelFactsBoxProps {
  facts: ModelFacts;
  /** GGUF repos: the file the loader picks when none is named, marked as the default. */
  defaultFile?: string;
  /** Called with a GGUF path from `facts.ggufChoices`. */
  onFileChange?: (path: string) => void;
  /** While facts for another file are being read. */
  busy?: boolean;
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** The model's shape and size from its file headers, and for GGUF repos which quantisation to use. */
export function ModelFactsBox({ facts, defaultFile, onFileChange, busy = false }: ModelFactsBoxProps) {
  const pickerId = useId();
  const file = facts.weightFiles[0];
  const choices = facts.ggufChoices ?? [];
  return (
    <div className="facts-box" aria-busy={busy || undefined}>
      {choices.length > 1 && onFileChange && (
        <div className="field">
          <label className="field-label" htmlFor={pickerId}>
            Quantisation
          </label>
          <select id={pickerId} value={file} disabled={busy} onChange={(e) => onFileChange(e.target.value)}>
            {choices.map((c) => (
              <option key={c.path} value={c.path}>
                {c.quant} · {formatBytes(c.size)}
                {c.path === defaultFile ? ' (default)' : ''}
              </option>
            ))}
          </select>
        </div>
      )}
      <dl className="facts-list">
        <Fact label="Architecture">{facts.architecture}</Fact>
        <Fact label="Parameters">{formatCount(facts.parameters)}</Fact>
        <Fact label="Layers">{facts.layers}</Fact>
        <Fact label="Hidden size">{facts.hiddenSize}</Fact>
        <Fact label="Heads">
          {facts.heads === facts.kvHeads ? facts.heads : `${facts.heads} query · ${facts.kvHeads} key/value`}
        </Fact>
        <Fact label="Context">{facts.contextLength.toLocaleString('en')} tokens</Fact>
        <Fact label="Vocabulary">{facts.vocabSize.toLocaleString('en')} tokens</Fact>
        <Fact label="Weight type">{facts.dtype}</Fact>
        <Fact label="Download">{formatBytes(facts.downloadBytes)}</Fact>
        <Fact label="Format">
          {facts.format === 'gguf' ? 'GGUF' : 'safetensors'} · {facts.hasChatTemplate ? 'chat template' : 'text completion'}
        </Fact>
      </dl>
      {choices.length === 1 && <p className="hint">One GGUF file: {choices[0].path}</p>}
    </div>
  );
}
