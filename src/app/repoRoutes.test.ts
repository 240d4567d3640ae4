import { expect, test } from 'vitest';
import { chatLink, hubLabel, isModelPath, modelPagePath, modelQueryParams, parseModelQuery } from './repoRoutes.ts';

test('owner/name paths are model pages unless the owner is reserved or the segments are not ids', () => {
  expect(isModelPath('pocket-hub', 'stories260K-GGUF')).toBe(true);
  expect(isModelPath('Qwen', 'Qwen2.5-0.5B-Instruct')).toBe(true);
  // The embedded hub's files (/hub/index.json) and the Spaces routes belong to others.
  for (const owner of ['hub', 'spaces', 'Spaces', 'datasets', 'embed', 'sdk', 'chat', 'settings']) expect(isModelPath(owner, 'x'), owner).toBe(false);
  for (const [owner, name] of [['.hidden', 'x'], ['o', '-x'], ['o', 'a b'], ['o', '..']]) expect(isModelPath(owner, name), `${owner}/${name}`).toBe(false);
});

test('links to a model page and to the chat carry the revision and the chosen file', () => {
  expect(modelPagePath('pocket-hub/stories260K')).toBe('/pocket-hub/stories260K');
  expect(modelPagePath('o/m', 'v1.0')).toBe('/o/m?revision=v1.0');
  expect(chatLink('o/m')).toBe('/chat?model=o%2Fm');
  expect(chatLink('o/m', 'm-Q8_0.gguf')).toBe('/chat?model=o%2Fm&file=m-Q8_0.gguf');
  expect(chatLink('o/m', undefined, 'http://localhost:4175')).toBe('/chat?model=o%2Fm&hub=http%3A%2F%2Flocalhost%3A4175');
});

test('the listing query round-trips through the URL and ignores values it does not know', () => {
  const query = parseModelQuery(new URLSearchParams('search=+stories+&library=gguf&sort=likes'));
  expect(query).toEqual({ search: 'stories', library: 'gguf', sort: 'likes' });
  expect(modelQueryParams(query).toString()).toBe('search=stories&library=gguf&sort=likes');
  expect(parseModelQuery(new URLSearchParams('library=onnx&sort=random'))).toEqual({ search: '', sort: 'downloads' });
  // Defaults stay out of the URL.
  expect(modelQueryParams({ search: ' ', sort: 'downloads' }).toString()).toBe('');
});

test('hubs are named by host, the embedded one as such', () => {
  const embedded = 'http://localhost:4173/hub';
  expect(hubLabel(embedded, embedded)).toBe("the app's embedded hub");
  expect(hubLabel('https://huggingface.co', embedded)).toBe('huggingface.co');
  expect(hubLabel('http://localhost:4175/mirror', embedded)).toBe('localhost:4175');
});
