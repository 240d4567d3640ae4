import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { chatPath, defaultModel } from './models.ts';

export function HomePage() {
  const navigate = useNavigate();
  const [url, setUrl] = useState('');
  return (
    <section className="page narrow home">
      <h1>Pocket Hub</h1>
      <p className="lead">
        Run open-weights language models on your own GPU, in this browser tab. Pocket Hub loads the weights, compiles its
        own WebGPU kernels and generates text locally: nothing you type leaves your device.
      </p>
      <p>
        <Link className="button primary" to={chatPath(defaultModel)}>
          Chat with stories260K
        </Link>
      </p>
      <p className="hint">
        stories260K is a tiny Llama trained on children's stories, bundled with the app. It writes short, odd stories:
        start one with “Once upon a time”.
      </p>
      <form
        className="open-model"
        onSubmit={(e) => {
          e.preventDefault();
          if (url.trim()) navigate(chatPath(url.trim()));
        }}
      >
        <label htmlFor="model-url">Open a model</label>
        <div className="composer-row">
          <input
            id="model-url"
            type="text"
            inputMode="url"
            placeholder="pocket-hub/stories260K or https://…/model.gguf"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            aria-describedby="model-url-hint"
          />
          <button type="submit">Open</button>
        </div>
        <p id="model-url-hint" className="hint">
          A Hub repo (<code>owner/name</code>), a <code>.gguf</code> file, or a folder with <code>config.json</code>,{' '}
          <code>model.safetensors</code> and <code>tokenizer.json</code>.
        </p>
      </form>
    </section>
  );
}
