import type { ModelInfo } from '../protocol/index.ts';
import { formatBytes, formatCount } from './format.ts';

/** A model's short name from its address: the file without `.gguf`, or the folder. */
export function modelName(url: string): string {
  const segments = url.split(/[?#]/)[0].split('/').filter(Boolean);
  const last = segments.at(-1) ?? url;
  return last.replace(/\.gguf$/i, '');
}

export function ModelSummary({ url, model, status }: { url: string; model?: ModelInfo; status: string }) {
  return (
    <header className="model-summary">
      <h1>{modelName(url)}</h1>
      <p className="model-url">{url}</p>
      {model ? (
        <ul className="model-facts" aria-label="Model facts">
          <li>{formatCount(model.parameters)} parameters</li>
          <li>
            {model.architecture} · {model.format}
          </li>
          <li>{model.layers} layers</li>
          <li>context {model.contextLength}</li>
          <li>{model.hasChatTemplate ? 'chat' : 'text completion'}</li>
          <li>{formatBytes(model.gpuBytes)} on the GPU</li>
          <li>{model.adapter}</li>
        </ul>
      ) : (
        <p className="model-status">{status}</p>
      )}
    </header>
  );
}
