import type { ChangeEvent } from 'react';

export interface SamplingFields {
  temperature: string;
  topK: string;
  topP: string;
  repetitionPenalty: string;
  maxTokens: string;
  seed: string;
}

interface FieldSpec {
  key: keyof SamplingFields;
  label: string;
  min: number;
  max?: number;
  step: number;
  note: string;
}

export interface SamplingPanelProps {
  form: SamplingFields;
  /** The model's context length: the most new tokens a reply can have. */
  maxTokensLimit?: number;
  onChange: (change: Partial<SamplingFields>) => void;
  onGreedy: () => void;
  onReset: () => void;
}

export function SamplingPanel({ form, maxTokensLimit, onChange, onGreedy, onReset }: SamplingPanelProps) {
  const fields: FieldSpec[] = [
    { key: 'temperature', label: 'Temperature', min: 0, max: 2, step: 0.05, note: '0 always picks the likeliest token' },
    { key: 'topK', label: 'Top-k', min: 0, step: 1, note: '0 turns it off' },
    { key: 'topP', label: 'Top-p', min: 0.01, max: 1, step: 0.01, note: '1 turns it off' },
    { key: 'repetitionPenalty', label: 'Repetition penalty', min: 1, max: 2, step: 0.05, note: '1 turns it off' },
    { key: 'maxTokens', label: 'Max new tokens', min: 1, max: maxTokensLimit, step: 1, note: 'length of a reply' },
    { key: 'seed', label: 'Seed', min: 0, step: 1, note: 'empty: random each time' },
  ];
  return (
    <details className="sampling">
      <summary>Sampling settings</summary>
      <div className="sampling-fields">
        {fields.map((f) => (
          <div key={f.key} className="field">
            <label className="field-label" htmlFor={`sampling-${f.key}`}>
              {f.label}
            </label>
            <input
              id={`sampling-${f.key}`}
              type="number"
              inputMode={f.step === 1 ? 'numeric' : 'decimal'}
              min={f.min}
              max={f.max}
              step={f.step}
              value={form[f.key]}
              placeholder={f.key === 'seed' ? 'random' : undefined}
              aria-describedby={`sampling-${f.key}-note`}
              onChange={(e: ChangeEvent<HTMLInputElement>) => onChange({ [f.key]: e.target.value })}
            />
            <span id={`sampling-${f.key}-note`} className="field-note">
              {f.note}
            </span>
          </div>
        ))}
      </div>
      <div className="sampling-actions">
        <button type="button" onClick={onGreedy} title="Temperature 0 and no repetition penalty: the same text every time">
          Greedy
        </button>
        <button type="button" onClick={onReset}>
          Defaults
        </button>
      </div>
    </details>
  );
}
