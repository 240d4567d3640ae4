// The "Use on your site" snippets on a model page. The text is pasted into other people's
// pages, so every value in it is escaped for where it lands: URL path segments, an HTML
// attribute, a JavaScript string.

/** Where the app is served: its origin plus base path, ending in '/' (`https://example.org/pocket-hub/`). */
export function appUrl(origin = globalThis.location.origin, base = import.meta.env.BASE_URL): string {
  return new URL(base, origin).href;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The embed route of a model: `<app>/embed/model/<owner>/<name>`, each segment encoded. */
export function embedUrl(app: string, repo: string): string {
  const path = repo.split('/').map(encodeURIComponent).join('/');
  return `${withSlash(app)}embed/model/${path}`;
}

/**
 * The origin of the site a snippet is for, from what its author typed ("blog.example",
 * "https://blog.example/posts/1"); undefined when it names no http(s) site.
 */
export function siteOrigin(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:/i.test(trimmed) ? trimmed : `https://${trimmed}`);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** An embed route for the site `parent` (an origin): the embed then talks to that origin only. */
export function withParent(embed: string, parent: string | undefined): string {
  return parent === undefined ? embed : `${embed}?${new URLSearchParams({ parent })}`;
}

/**
 * The lines of an embed iframe. Without `parent`, the embed learns the page's origin from its
 * referrer: `referrerpolicy="strict-origin"` sends the origin and nothing of the path, even from
 * a page whose own policy sends no referrer at all (docs/sdk.md, Embeds).
 */
export function embedIframe(src: string, title: string, height: number): string {
  return [
    `<iframe`,
    `  src="${escapeAttribute(src)}"`,
    `  title="${escapeAttribute(title)}"`,
    `  width="100%" height="${height}" style="border: 0"`,
    `  allow="clipboard-write"`,
    `  referrerpolicy="strict-origin"`,
    `  loading="lazy"`,
    `></iframe>`,
  ].join('\n');
}

/**
 * An iframe showing the model's run widget, for the site `parent` when given. The embed runs the
 * model on the visitor's GPU and stores the weights in the iframe's own storage;
 * `clipboard-write` lets its Copy buttons work.
 */
export function iframeSnippet(app: string, repo: string, parent?: string): string {
  return embedIframe(withParent(embedUrl(app, repo), parent), `${repo} on Pocket Hub`, 520);
}

/**
 * The SDK called from a module script, streaming a chat completion. Strings go through
 * JSON.stringify, which is a valid JavaScript string literal for any text; `</` is broken
 * up so that the snippet can also sit inside an HTML <script> element.
 */
export function sdkSnippet(app: string, repo: string, prompt = 'Once upon a time'): string {
  const js = (text: string) => JSON.stringify(text).replace(/<\//g, '<\\/');
  return [
    `import { PocketHub } from ${js(`${withSlash(app)}sdk/pocket-hub.js`)};`,
    ``,
    `const hub = new PocketHub();`,
    `const stream = await hub.chat.completions.create({`,
    `  model: ${js(repo)},`,
    `  messages: [{ role: 'user', content: ${js(prompt)} }],`,
    `  stream: true,`,
    `});`,
    `for await (const chunk of stream) {`,
    `  document.body.append(chunk.choices[0]?.delta?.content ?? '');`,
    `}`,
  ].join('\n');
}
