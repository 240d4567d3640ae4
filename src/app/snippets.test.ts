import { expect, test } from 'vitest';
import { appUrl, embedUrl, iframeSnippet, sdkSnippet, siteOrigin } from './snippets.ts';
import { embedParentOrigin } from '../sdk/messages.ts';

test('the app URL keeps its base path, so snippets point inside a deployment under a folder', () => {
  expect(appUrl('https://example.org', '/')).toBe('https://example.org/');
  expect(appUrl('https://example.org', '/pocket-hub/')).toBe('https://example.org/pocket-hub/');
  expect(embedUrl('https://example.org/pocket-hub/', 'pocket-hub/stories260K-GGUF')).toBe(
    'https://example.org/pocket-hub/embed/model/pocket-hub/stories260K-GGUF',
  );
  expect(embedUrl('https://example.org', 'o/m')).toBe('https://example.org/embed/model/o/m');
});

test('the iframe snippet names the embed route and the repo', () => {
  expect(iframeSnippet('http://localhost:4173/', 'pocket-hub/stories260K-GGUF')).toBe(
    [
      '<iframe',
      '  src="http://localhost:4173/embed/model/pocket-hub/stories260K-GGUF"',
      '  title="pocket-hub/stories260K-GGUF on Pocket Hub"',
      '  width="100%" height="520" style="border: 0"',
      '  allow="clipboard-write"',
      '  referrerpolicy="strict-origin"',
      '  loading="lazy"',
      '></iframe>',
    ].join('\n'),
  );
});

test('a site named for the snippet becomes ?parent=<origin>, which the embed then talks to', () => {
  const snippet = iframeSnippet('https://a.example/', 'o/m', 'https://blog.example');
  const src = /src="([^"]+)"/.exec(snippet)![1];
  expect(src).toBe('https://a.example/embed/model/o/m?parent=https%3A%2F%2Fblog.example');
  // The embed's own reading of it wins over any referrer.
  expect(embedParentOrigin(new URL(src).searchParams.get('parent'), 'https://elsewhere.example/')).toBe('https://blog.example');
});

test('what the author types as their site is reduced to an http(s) origin, or refused', () => {
  expect(siteOrigin('blog.example')).toBe('https://blog.example');
  expect(siteOrigin(' https://blog.example/posts/1?x=2 ')).toBe('https://blog.example');
  expect(siteOrigin('http://localhost:8080/')).toBe('http://localhost:8080');
  expect(['', '  ', 'javascript:alert(1)', 'data:text/html,x', 'https://', 'not a site'].map(siteOrigin)).toEqual([
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});

test('a hostile repo id cannot leave the iframe attributes', () => {
  const snippet = iframeSnippet('https://a.example/', 'x/"><script>alert(1)</script>');
  expect(snippet).not.toContain('<script>');
  expect(snippet).toContain('src="https://a.example/embed/model/x/%22%3E%3Cscript%3Ealert(1)%3C/script%3E"');
  expect(snippet).toContain('title="x/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; on Pocket Hub"');
  // Only the eight attributes' own quotes, and only the iframe's own open and close tags.
  expect(snippet.match(/"/g)?.length).toBe(2 * 8);
  expect(snippet.match(/</g)?.length).toBe(2);
});

test('the SDK snippet streams a chat completion of the repo from the app’s SDK module', () => {
  expect(sdkSnippet('http://localhost:4173/', 'pocket-hub/stories260K-GGUF')).toBe(
    [
      'import { PocketHub } from "http://localhost:4173/sdk/pocket-hub.js";',
      '',
      'const hub = new PocketHub();',
      'const stream = await hub.chat.completions.create({',
      '  model: "pocket-hub/stories260K-GGUF",',
      `  messages: [{ role: 'user', content: "Once upon a time" }],`,
      '  stream: true,',
      '});',
      'for await (const chunk of stream) {',
      `  document.body.append(chunk.choices[0]?.delta?.content ?? '');`,
      '}',
    ].join('\n'),
  );
});

test('strings in the SDK snippet stay string literals, even inside an HTML script element', () => {
  const snippet = sdkSnippet('https://a.example/', `o/m"; alert(1); "`, 'end </script><b>');
  expect(snippet).toContain(String.raw`model: "o/m\"; alert(1); \"",`);
  expect(snippet).toContain(String.raw`content: "end <\/script><b>"`);
  expect(snippet).not.toContain('</script>');
});
