import { expect, test } from 'vitest';
import { isRepoId, modelRequest } from './models.ts';

test('owner/name is a repo; addresses, files and deeper paths are URLs', () => {
  for (const repo of ['pocket-hub/stories260K', 'HuggingFaceTB/SmolLM2-135M-Instruct', 'Qwen/Qwen2.5-0.5B-Instruct']) expect(isRepoId(repo), repo).toBe(true);
  for (const url of ['/models/stories260K/stories260K.gguf', '/models/stories260K/', 'models/stories260K.gguf', 'http://x/a', 'https://huggingface.co/a/b', 'a/b/c', 'stories', '../a', 'owner/model.gguf']) {
    expect(isRepoId(url), url).toBe(false);
  }
});

test('a repo loads from ?hub= first, then the saved hubs, with the saved token', () => {
  const settings = { hubs: ['https://huggingface.co'], token: 'hf_x' };
  expect(modelRequest('org/m', 'http://localhost:4175, http://b', settings)).toEqual({
    repo: 'org/m',
    hubs: ['http://localhost:4175', 'http://b', 'https://huggingface.co'],
    token: 'hf_x',
  });
  expect(modelRequest('org/m', null, { hubs: ['https://huggingface.co'] })).toEqual({ repo: 'org/m', hubs: ['https://huggingface.co'] });
  expect(modelRequest('/m.gguf', 'http://a', settings)).toEqual({ url: '/m.gguf' });
});
