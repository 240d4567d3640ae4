import { expect, test } from 'vitest';
import { embeddedHubUrl, isRepoId, modelRequest } from './models.ts';

test('owner/name is a repo; addresses, files and deeper paths are URLs', () => {
  for (const repo of ['pocket-hub/stories260K', 'pocket-hub/stories260K-GGUF', 'HuggingFaceTB/SmolLM2-135M-Instruct', 'Qwen/Qwen2.5-0.5B-Instruct']) expect(isRepoId(repo), repo).toBe(true);
  for (const url of ['/hub/pocket-hub/stories260K-GGUF/resolve/main/stories260K.gguf', '/models/stories260K/', 'models/stories260K.gguf', 'http://x/a', 'https://huggingface.co/a/b', 'a/b/c', 'stories', '../a', 'owner/model.gguf']) {
    expect(isRepoId(url), url).toBe(false);
  }
});

test('a repo loads from the embedded hub first, then ?hub=, then the saved hubs, with the saved token', () => {
  const settings = { hubs: ['https://huggingface.co'], token: 'hf_x' };
  const embedded = 'http://localhost:4173/hub';
  expect(modelRequest('org/m', 'http://localhost:4175, http://b', settings, embedded)).toEqual({
    repo: 'org/m',
    hubs: [embedded, 'http://localhost:4175', 'http://b', 'https://huggingface.co'],
    token: 'hf_x',
    publicHubs: [embedded],
  });
  expect(modelRequest('org/m', null, { hubs: ['https://huggingface.co'] }, embedded)).toEqual({ repo: 'org/m', hubs: [embedded, 'https://huggingface.co'], publicHubs: [embedded] });
  expect(modelRequest('/m.gguf', 'http://a', settings, embedded)).toEqual({ url: '/m.gguf' });
});

test('the embedded hub sits beside the app, wherever the app is deployed', () => {
  expect(embeddedHubUrl('http://localhost:4173', '/')).toBe('http://localhost:4173/hub');
  expect(embeddedHubUrl('https://example.org', '/pocket-hub/')).toBe('https://example.org/pocket-hub/hub');
});
