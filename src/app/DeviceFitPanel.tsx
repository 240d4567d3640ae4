import { useId } from 'react';
import { formatBinaryBytes } from '../components/storageFormat.ts';
import type { GpuInfo } from '../protocol/index.ts';
import { contextChoices, deviceFit, type FitFacts } from './deviceFit.ts';

export interface DeviceFitPanelProps {
  facts: FitFacts & { contextLength: number };
  contextLength: number;
  onContextChange: (contextLength: number) => void;
  /** null: no WebGPU; undefined: still asking. */
  gpu: GpuInfo | null | undefined;
  storage?: { quota: number; usage: number };
  cachedBytes: number;
}

/** "Runs on this device", or each reason it would not, with the numbers behind it. */
export function DeviceFitPanel({ facts, contextLength, onContextChange, gpu, storage, cachedBytes }: DeviceFitPanelProps) {
  const ids = useId();
  const fit = deviceFit({ facts, contextLength, gpu, storage, cachedBytes });
  const { memory } = fit;
  const checking = fit.shortfalls.length === 0 && fit.unchecked.includes('gpu');
  return (
    <section className="hub-panel device-fit" aria-labelledby={`${ids}-heading`}>
      <h2 id={`${ids}-heading`}>Device fit</h2>
      <div className="field">
        <label className="field-label" htmlFor={`${ids}-context`}>
          Context length
        </label>
        <select id={`${ids}-context`} value={contextLength} onChange={(e) => onContextChange(Number(e.target.value))}>
          {contextChoices(facts.contextLength).map((n) => (
            <option key={n} value={n}>
              {n.toLocaleString('en')} tokens
            </option>
          ))}
        </select>
      </div>

      <div role="status" className={checking ? 'fit-verdict' : fit.runs ? 'fit-verdict fit-ok' : 'fit-verdict fit-bad'}>
        {checking ? (
          <p>Checking this device…</p>
        ) : fit.runs ? (
          <p>
            <strong>Runs on this device</strong>
          </p>
        ) : (
          <>
            <p>
              <strong>Does not run on this device</strong>
            </p>
            <ul>
              {fit.shortfalls.map((s) => (
                <li key={s.kind}>{s.message}</li>
              ))}
            </ul>
          </>
        )}
      </div>

      <dl className="facts-list">
        <div>
          <dt>GPU memory</dt>
          <dd>
            about {formatBinaryBytes(memory.total)}{' '}
            <span className="hint">
              (weights {formatBinaryBytes(memory.weights)} + KV cache {formatBinaryBytes(memory.kvCache)} + scratch{' '}
              {formatBinaryBytes(memory.scratch)})
            </span>
          </dd>
        </div>
        {gpu && (
          <>
            <div>
              <dt>GPU</dt>
              <dd>
                {gpu.adapter || 'unnamed adapter'} · binds up to{' '}
                {formatBinaryBytes(Math.min(gpu.maxStorageBufferBindingSize, gpu.maxBufferSize))} per buffer
              </dd>
            </div>
            <div>
              <dt>shader-f16</dt>
              <dd>
                {fit.shaderF16
                  ? 'available: F16 and BF16 weights are multiplied in f16'
                  : 'not available: F16 and BF16 weights are multiplied in f32'}
              </dd>
            </div>
          </>
        )}
        <div>
          <dt>Storage</dt>
          <dd>
            {fit.download === 0
              ? 'weights already on this device'
              : `${formatBinaryBytes(fit.download)} to download`}
            {fit.storageFree !== undefined
              ? `, ${formatBinaryBytes(fit.storageFree)} free`
              : fit.download > 0 && ', the browser reports no quota'}
          </dd>
        </div>
      </dl>
      <p className="hint">
        Browsers do not say how much memory a GPU has, so the total above is an estimate to compare with your
        GPU's; what is checked are the per-buffer limits WebGPU reports and this site's free storage.
      </p>
    </section>
  );
}
