// Hostile repos for e2e/xss.spec.ts, served by the e2e hub (e2e/hubServer.ts) on HOSTILE_HUB_PORT.
// Each payload, if it ran in any page or frame of the test's browser, would call XSS_HOOK (a
// binding the spec exposes) with its id, or open a dialog with it. The READMEs are built from
// this list, so the spec and the hub agree on what was planted.

export const HOSTILE_HUB_PORT = 4185;
export const XSS_HOOK = 'xssFired';

/** Where a payload is planted; the spec checks each place renders without running it. */
export type PayloadPlace =
  | 'model-front-matter'
  | 'model-markdown'
  | 'model-html'
  | 'model-link'
  | 'model-image'
  | 'space-front-matter'
  | 'space-markdown'
  | 'repo-id'
  | 'listing'
  | 'static-space';

export interface Payload {
  id: string;
  place: PayloadPlace;
  /** The front matter key (front matter payloads), or the text itself (markdown and HTML). */
  key?: string;
  text: string;
}

const call = (id: string) => `${XSS_HOOK}('${id}')`;
// A 1×1 GIF that loads anywhere, so its onload handler would run if the attribute survived.
const PIXEL = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

// Front matter: values the chips and the Space header show as text, or turn into links.
const MODEL_FRONT_MATTER: Payload[] = [
  { id: 'fm-license-name', place: 'model-front-matter', key: 'license_name', text: `<img src=x onerror="${call('fm-license-name')}">` },
  { id: 'fm-license-link', place: 'model-front-matter', key: 'license_link', text: `javascript:${call('fm-license-link')}` },
  { id: 'fm-pipeline-tag', place: 'model-front-matter', key: 'pipeline_tag', text: `<script>${call('fm-pipeline-tag')}</script>` },
  { id: 'fm-library-name', place: 'model-front-matter', key: 'library_name', text: `"><svg onload="${call('fm-library-name')}">` },
  { id: 'fm-tag', place: 'model-front-matter', key: 'tags', text: `<iframe srcdoc="<script>parent.${call('fm-tag')}</script>"></iframe>` },
  { id: 'fm-language', place: 'model-front-matter', key: 'language', text: `<details open ontoggle="${call('fm-language')}">` },
  { id: 'fm-dataset', place: 'model-front-matter', key: 'datasets', text: `javascript:${call('fm-dataset')}` },
  { id: 'fm-base-model', place: 'model-front-matter', key: 'base_model', text: `//evil.example/"><img src=x onerror="${call('fm-base-model')}">` },
];

// Markdown syntax: links and images whose URLs are scripts.
const MODEL_MARKDOWN: Payload[] = [
  { id: 'md-link', place: 'model-link', text: `[xss md-link](javascript:${call('md-link')})` },
  { id: 'md-link-case', place: 'model-link', text: `[xss md-link-case](JaVaScRiPt:${call('md-link-case')})` },
  { id: 'md-link-entity', place: 'model-link', text: `[xss md-link-entity](javascript&#58;${call('md-link-entity')})` },
  { id: 'md-reference', place: 'model-link', text: `[xss md-reference][evil]\n\n[evil]: javascript:${call('md-reference')}` },
  { id: 'md-autolink', place: 'model-link', text: `<javascript:${call('md-autolink')}>` },
  { id: 'md-data-link', place: 'model-link', text: `[xss md-data-link](data:text/html,<script>opener.${call('md-data-link')}</script>)` },
  { id: 'md-image', place: 'model-image', text: `![xss md-image](javascript:${call('md-image')})` },
  { id: 'md-image-alt', place: 'model-image', text: `![xss" onerror="${call('md-image-alt')}](missing.png)` },
  { id: 'md-heading', place: 'model-markdown', text: `## Heading <img src=x onerror="${call('md-heading')}">` },
  { id: 'md-fence-info', place: 'model-markdown', text: '```"><img src=x onerror="' + call('md-fence-info') + '">\ncode\n```' },
  { id: 'md-footnote', place: 'model-markdown', text: `Note[^xss].\n\n[^xss]: <img src=x onerror="${call('md-footnote')}">` },
  { id: 'md-table', place: 'model-markdown', text: `| a |\n| - |\n| <img src=x onerror="${call('md-table')}"> |` },
];

// Raw HTML, which GitHub-flavoured markdown lets through to the sanitiser.
const MODEL_HTML: Payload[] = [
  { id: 'html-script', place: 'model-html', text: `<script>${call('html-script')}</script>` },
  { id: 'html-img-onerror', place: 'model-image', text: `<img src="x" onerror="${call('html-img-onerror')}">` },
  { id: 'html-img-onload', place: 'model-image', text: `<img src="${PIXEL}" onload="${call('html-img-onload')}">` },
  { id: 'html-img-srcset', place: 'model-image', text: `<img srcset="javascript:${call('html-img-srcset')}" alt="xss">` },
  { id: 'html-picture-source', place: 'model-image', text: `<picture><source srcset="javascript:${call('html-picture-source')}"><img alt="xss picture"></picture>` },
  { id: 'html-svg-onload', place: 'model-html', text: `<svg onload="${call('html-svg-onload')}"><circle r="4"/></svg>` },
  { id: 'html-svg-script', place: 'model-html', text: `<svg><script>${call('html-svg-script')}</script></svg>` },
  { id: 'html-iframe-srcdoc', place: 'model-html', text: `<iframe srcdoc="<script>parent.${call('html-iframe-srcdoc')}</script>"></iframe>` },
  { id: 'html-iframe-js', place: 'model-html', text: `<iframe src="javascript:parent.${call('html-iframe-js')}"></iframe>` },
  { id: 'html-object', place: 'model-html', text: `<object data="data:text/html,<script>parent.${call('html-object')}</script>"></object>` },
  { id: 'html-embed', place: 'model-html', text: `<embed src="data:text/html,<script>parent.${call('html-embed')}</script>">` },
  { id: 'html-details', place: 'model-html', text: `<details open ontoggle="${call('html-details')}"><summary>xss details</summary>x</details>` },
  { id: 'html-autofocus', place: 'model-html', text: `<input autofocus onfocus="${call('html-autofocus')}">` },
  { id: 'html-video', place: 'model-html', text: `<video src="x" onerror="${call('html-video')}"></video>` },
  { id: 'html-audio-source', place: 'model-html', text: `<audio><source src="x" onerror="${call('html-audio-source')}"></audio>` },
  { id: 'html-entity-href', place: 'model-link', text: `<a href="jav&#x09;ascript:${call('html-entity-href')}">xss html-entity-href</a>` },
  { id: 'html-onclick', place: 'model-link', text: `<a href="#x" onclick="${call('html-onclick')}">xss html-onclick</a>` },
  { id: 'html-formaction', place: 'model-html', text: `<form><button formaction="javascript:${call('html-formaction')}">xss</button></form>` },
  { id: 'html-math', place: 'model-link', text: `<math><maction actiontype="statusline" xlink:href="javascript:${call('html-math')}">xss html-math</maction></math>` },
  { id: 'html-meta-refresh', place: 'model-html', text: `<meta http-equiv="refresh" content="0;url=javascript:${call('html-meta-refresh')}">` },
  { id: 'html-base', place: 'model-html', text: `<base href="javascript:${call('html-base')}//">` },
  { id: 'html-style', place: 'model-html', text: `<style>@import url("javascript:${call('html-style')}");</style>` },
  { id: 'html-template', place: 'model-html', text: `<template><img src=x onerror="${call('html-template')}"></template>` },
  // Mutation XSS: markup that parses differently the second time it is serialised and read.
  { id: 'html-noscript-mxss', place: 'model-html', text: `<noscript><p title="</noscript><img src=x onerror=${call('html-noscript-mxss')}>"></noscript>` },
  { id: 'html-comment-mxss', place: 'model-html', text: `<!--><img src=x onerror="${call('html-comment-mxss')}">-->` },
  { id: 'html-body', place: 'model-html', text: `<body onload="${call('html-body')}">` },
];

const SPACE_FRONT_MATTER: Payload[] = [
  { id: 'space-title', place: 'space-front-matter', key: 'title', text: `<img src=x onerror="${call('space-title')}">"><script>${call('space-title')}</script>` },
  { id: 'space-short-description', place: 'space-front-matter', key: 'short_description', text: `<svg onload="${call('space-short-description')}">` },
  { id: 'space-emoji', place: 'space-front-matter', key: 'emoji', text: `<img src=x onerror="${call('space-emoji')}">` },
  { id: 'space-license', place: 'space-front-matter', key: 'license', text: `<script>${call('space-license')}</script>` },
  { id: 'space-model', place: 'space-front-matter', key: 'models', text: `javascript:${call('space-model')}` },
  { id: 'space-example-prompt', place: 'space-front-matter', key: 'example_prompts', text: `<img src=x onerror="${call('space-example-prompt')}">` },
  { id: 'space-color', place: 'space-front-matter', key: 'colorFrom', text: `red;background:url(javascript:${call('space-color')})` },
  { id: 'space-tag', place: 'space-front-matter', key: 'tags', text: `<iframe src="javascript:parent.${call('space-tag')}"></iframe>` },
];

const SPACE_MARKDOWN: Payload[] = [
  { id: 'space-md-link', place: 'space-markdown', text: `[xss space-md-link](javascript:${call('space-md-link')})` },
  { id: 'space-md-img', place: 'space-markdown', text: `<img src=x onerror="${call('space-md-img')}">` },
  { id: 'space-md-script', place: 'space-markdown', text: `<script>${call('space-md-script')}</script>` },
];

/** Ids as the hub lists them: shown in listings, and refused as page paths by the app. */
const REPO_IDS: Payload[] = [
  { id: 'repo-id-model', place: 'repo-id', text: `<img src=x onerror=${call('repo-id-model')}>` },
  { id: 'repo-id-space', place: 'repo-id', text: `<svg onload=${call('repo-id-space')}>` },
];

// What a model listing shows beside the id (the card data the hub's answer carries).
const LISTING: Payload[] = [
  { id: 'listing-library-name', place: 'listing', key: 'library_name', text: `<img src=x onerror="${call('listing-library-name')}">` },
];

// A static Space runs its own script by design, sandboxed in an opaque origin; these are what
// that script tries against the app around it (STATIC_SPACE_HTML reports each outcome).
const STATIC_SPACE: Payload[] = [
  { id: 'static-parent-call', place: 'static-space', text: `parent.${call('static-parent-call')}` },
  { id: 'static-top-call', place: 'static-space', text: `top.${call('static-top-call')}` },
  { id: 'static-parent-dom', place: 'static-space', text: `parent.document.body.append(Object.assign(parent.document.createElement('img'), { src: 'x', onerror: () => parent.${call('static-parent-dom')} }))` },
  { id: 'static-top-navigation', place: 'static-space', text: `top.location.href = "javascript:${call('static-top-navigation')}"` },
  { id: 'static-popup', place: 'static-space', text: `if (!open("javascript:opener.${call('static-popup')}")) throw new Error('blocked')` },
  { id: 'static-alert', place: 'static-space', text: `alert('static-alert')` },
  { id: 'static-storage', place: 'static-space', text: `void localStorage.length; ${call('static-storage')}` },
];

export const PAYLOADS: readonly Payload[] = [
  ...MODEL_FRONT_MATTER,
  ...MODEL_MARKDOWN,
  ...MODEL_HTML,
  ...SPACE_FRONT_MATTER,
  ...SPACE_MARKDOWN,
  ...REPO_IDS,
  ...LISTING,
  ...STATIC_SPACE,
];

export const HOSTILE_MODEL = 'xss-hub/hostile-card';
export const HOSTILE_SPACE = 'xss-hub/hostile-space';
export const HOSTILE_STATIC_SPACE = 'xss-hub/hostile-static';
export const HOSTILE_MODEL_ID = `xss-hub/${REPO_IDS[0].text}`;
export const HOSTILE_SPACE_ID = `xss-hub/${REPO_IDS[1].text}`;
/** A heading each README carries, so the spec knows the hostile markdown has rendered. */
export const RENDERED_MARKER = 'Rendered past the payloads';

/** Front matter as YAML: each value JSON-quoted (JSON is YAML 1.2), lists for the list keys. */
function frontMatter(fixed: Record<string, string | string[]>, payloads: Payload[]): string {
  const lists = new Set(['tags', 'language', 'datasets', 'base_model', 'models', 'example_prompts']);
  const fields = new Map<string, string | string[]>(Object.entries(fixed));
  for (const p of payloads) {
    const before = fields.get(p.key!);
    fields.set(p.key!, lists.has(p.key!) ? [...(Array.isArray(before) ? before : []), p.text] : p.text);
  }
  const lines = [...fields].map(([k, v]) => (Array.isArray(v) ? `${k}:\n${v.map((item) => `  - ${JSON.stringify(item)}`).join('\n')}` : `${k}: ${JSON.stringify(v)}`));
  return `---\n${lines.join('\n')}\n---\n`;
}

// Blank lines between payloads: each raw HTML payload starts its own HTML block.
const body = (payloads: Payload[]) => `# ${RENDERED_MARKER}\n\n${payloads.map((p) => p.text).join('\n\n')}\n\n## ${RENDERED_MARKER} (end)\n`;

export const HOSTILE_MODEL_README =
  frontMatter({ license: 'other' }, MODEL_FRONT_MATTER) + body([...MODEL_MARKDOWN, ...MODEL_HTML]);

// Listed by a model search only as a text-generation model, as the app asks hubs for those.
export const HOSTILE_MODEL_ID_README = frontMatter({ pipeline_tag: 'text-generation' }, LISTING);

export const HOSTILE_SPACE_README =
  // A real model beside the rejected one, so the Space's widget renders its example prompts.
  frontMatter({ sdk: 'completion', colorTo: 'blue', models: [HOSTILE_MODEL], example_prompts: ['Once upon a time'] }, SPACE_FRONT_MATTER) + body(SPACE_MARKDOWN);

export const HOSTILE_STATIC_SPACE_README = `---
title: Hostile static
emoji: 🧨
sdk: static
app_file: index.html
---

# ${RENDERED_MARKER}
`;

/**
 * The static Space's page: each attempt in a try block, then the outcomes reported through
 * `spaceReport`, a second binding the spec exposes. The Space calling bindings in its own frame
 * is allowed; what must fail is reaching the app's window.
 */
export const STATIC_SPACE_HTML = `<!doctype html>
<title>Hostile static</title>
<h1>Hostile static</h1>
<script>
  const outcomes = {};
  ${STATIC_SPACE.map(
    (p) => `try { ${p.text}; outcomes[${JSON.stringify(p.id)}] = 'ran'; } catch (err) { outcomes[${JSON.stringify(p.id)}] = err.name; }`,
  ).join('\n  ')}
  spaceReport(origin, outcomes);
</script>
`;

/** The READMEs' raw HTML and image payloads, for the spec's control that they do run in a page without a sanitiser. */
export const HTML_PAYLOADS = PAYLOADS.filter((p) => p.place === 'model-html' || p.place === 'model-image' || p.place === 'space-markdown');
