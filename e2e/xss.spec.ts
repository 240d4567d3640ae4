// The XSS corpus (xssCorpus.ts) on every page that shows what a hub says: a model page, a Space
// page, the listings, the embed routes in a cross-origin iframe, and a static Space. Nothing may
// run (securityFixtures.ts fails a test on a hook call, a dialog or a CSP violation), and the
// sanitiser must have removed every payload by itself: the same tests run a second time with
// the page's Content-Security-Policy bypassed, where only the sanitiser stands in the way.
import type { Locator, Page } from '@playwright/test';
import { HOST_PAGES_PORT } from './hostPagesServer.ts';
import { expect, test } from './securityFixtures.ts';
import {
  HOSTILE_HUB_PORT,
  HOSTILE_MODEL,
  HOSTILE_MODEL_ID,
  HOSTILE_SPACE,
  HOSTILE_SPACE_ID,
  HOSTILE_STATIC_SPACE,
  HTML_PAYLOADS,
  PAYLOADS,
  RENDERED_MARKER,
  XSS_HOOK,
  type Payload,
} from './xssCorpus.ts';

const APP = 'http://localhost:4173';
const SITE = `http://localhost:${HOST_PAGES_PORT}`;
const HOSTILE_HUB = `http://localhost:${HOSTILE_HUB_PORT}`;
const hub = `hub=${encodeURIComponent(HOSTILE_HUB)}`;

const payload = (id: string): Payload => PAYLOADS.find((p) => p.id === id)!;

/**
 * What the sanitiser must have taken out of rendered markdown: elements that run or load active
 * content, event handler attributes, inline styles, and URLs in schemes that run script. In the
 * app's own UI (`app`) form controls are the app's, so only the rest is looked for.
 */
async function activeContent(region: Locator, where: 'markdown' | 'app' = 'markdown'): Promise<string[]> {
  return region.evaluate((root, app) => {
    const found: string[] = [];
    const scripted = 'script, iframe, frame, object, embed, svg, math, meta, base, link, style, template, noscript, video, audio, body';
    // The Copy button of a code block is the app's own; the disabled checkbox is a task list's.
    const controls = 'form, button:not(.md-code-copy), input:not([type="checkbox"][disabled]), textarea, select';
    const forbidden = app ? scripted : `${scripted}, ${controls}`;
    for (const element of root.querySelectorAll(forbidden)) found.push(`<${element.tagName.toLowerCase()}>`);
    for (const element of root.querySelectorAll('*')) {
      for (const { name, value } of element.attributes) {
        const where = `${element.tagName.toLowerCase()} ${name}="${value}"`;
        if (/^on/i.test(name) || ['srcdoc', 'formaction', 'action', 'xlink:href', 'autofocus'].includes(name)) found.push(where);
        // react-markdown's column alignment is the one inline style a card may carry; the app's
        // own UI sets styles of its own (a Space's gradient), checked where they are made.
        if (name === 'style' && !app && !/^text-align: (left|right|center);?$/.test(value)) found.push(where);
        // Browsers skip control characters and spaces inside a scheme, so they are dropped here too.
        const squeezed = value.replace(/[\u0000-\u0020]/g, '');
        if (/(^|,)(javascript|vbscript|data):/i.test(squeezed) && ['href', 'src', 'srcset', 'data', 'poster', 'background'].includes(name)) {
          found.push(where);
        }
      }
    }
    return found;
  }, where === 'app');
}

/**
 * Clicks each planted link, in case its URL survived (a javascript: URL runs on click, and a
 * sanitiser that left one would show it here as a hook call or, under the CSP, a violation).
 * Returns the links' texts.
 */
async function clickPayloadLinks(region: Locator): Promise<string[]> {
  const links = region.locator('a', { hasText: /^xss / });
  const texts = await links.allTextContents();
  for (let i = 0; i < texts.length; i++) await links.nth(i).dispatchEvent('click');
  return texts;
}

// The planted links that still render as links (their text kept, the URL removed).
const MODEL_CARD_LINKS = ['md-link', 'md-link-case', 'md-link-entity', 'md-reference', 'md-data-link', 'html-entity-href', 'html-onclick'];

/** Waits until every image has loaded or failed, so any onload/onerror left would have run. */
async function imagesSettled(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => [...document.images].every((image) => image.complete))).toBe(true);
}

/** The hostile hub as the user's only saved hub, in the app's own pages (frames of other origins have other storage). */
async function useHostileHub(page: Page): Promise<void> {
  await page.context().addInitScript(
    ([key, value, app]) => {
      if (location.origin === app) localStorage.setItem(key, value);
    },
    ['pocket-hub:hub-settings', JSON.stringify({ hubs: [HOSTILE_HUB] }), APP],
  );
}

test('the corpus is live: in a plain page without a sanitiser its raw HTML runs', async ({ page, watch }) => {
  // The control for everything below: these payloads run by themselves in an ordinary document.
  await page.setContent(HTML_PAYLOADS.map((p) => p.text).join('\n'));
  const live = [
    'html-script',
    'html-img-onerror',
    'html-img-onload',
    'html-svg-onload',
    'html-svg-script',
    'html-iframe-srcdoc',
    'html-iframe-js',
    'html-details',
    'html-video',
    'html-audio-source',
    'html-comment-mxss',
    'html-body',
    'space-md-img',
    'space-md-script',
  ];
  await expect.poll(() => [...new Set(watch.fired.map((f) => f.id))].sort()).toEqual(expect.arrayContaining(live.sort()));
  watch.fired.length = 0;
});

for (const csp of ['enforced', 'bypassed'] as const) {
  test.describe(`with the Content-Security-Policy ${csp}`, () => {
    test.use({ bypassCSP: csp === 'bypassed' });

    if (csp === 'enforced') {
      test('the policy is in the page and blocks an inline script, and the watch sees it', async ({ page, watch }) => {
        await page.goto('/settings');
        await expect(page.locator('meta[http-equiv="Content-Security-Policy"]')).toHaveAttribute('content', /script-src 'self';/);
        const ran = await page.evaluate(async () => {
          const script = document.createElement('script');
          script.textContent = 'window.inlineRan = true';
          document.head.append(script);
          await new Promise((settled) => setTimeout(settled, 0));
          return (window as { inlineRan?: boolean }).inlineRan === true;
        });
        expect(ran).toBe(false);
        await expect.poll(() => watch.violations.some((v) => v.includes('script-src'))).toBe(true);
        watch.violations.length = 0;
      });
    }

    test('a model card with payloads in its front matter, markdown, HTML, links and images renders inert', async ({ page }) => {
      await page.goto(`/${HOSTILE_MODEL}?${hub}`);
      const card = page.getByRole('tabpanel', { name: 'Model card' });
      await expect(card.getByRole('heading', { name: `${RENDERED_MARKER} (end)` })).toBeVisible();
      await card.getByRole('heading', { name: `${RENDERED_MARKER} (end)` }).scrollIntoViewIfNeeded();
      await imagesSettled(page);
      expect(await activeContent(card)).toEqual([]);
      expect(await clickPayloadLinks(card)).toEqual(MODEL_CARD_LINKS.map((id) => `xss ${id}`));

      // Front matter reaches the page as text: shown, and never parsed as markup.
      const chips = page.getByRole('list', { name: 'Model facts from the card' });
      for (const id of ['fm-license-name', 'fm-pipeline-tag', 'fm-library-name', 'fm-tag']) await expect(chips).toContainText(payload(id).text);
      await expect(chips).toContainText('Language');
      // A license link that is a script is no link at all.
      await expect(chips.getByRole('link')).toHaveCount(0);
      expect(await activeContent(chips)).toEqual([]);
      // Rejected fields (a dataset and a base model that are not repo ids) are named in the warnings, as text.
      await card.getByText("2 problems in the card's front matter").click();
      await expect(card.locator('.card-warnings')).toContainText(payload('fm-base-model').text);
      expect(await activeContent(card.locator('.card-warnings'))).toEqual([]);
    });

    test('a Space with payloads in its title, description, emoji and README renders inert, and so does its embed snippet', async ({ page }) => {
      // Saved, not only in ?hub=: the Space's widget looks its model up on the saved hubs.
      await useHostileHub(page);
      await page.goto(`/spaces/${HOSTILE_SPACE}?${hub}`);
      const title = payload('space-title').text;
      // The README has an h1 of its own, which may render before the header gets its title.
      await expect(page.locator('.space-header').getByRole('heading', { level: 1 })).toHaveText(title);
      await expect(page.locator('.space-description')).toHaveText(payload('space-short-description').text);
      const about = page.getByRole('list', { name: 'About this Space' });
      await expect(about).toContainText(payload('space-license').text);
      // Only the real model is linked; the emoji and colour were refused and the defaults shown.
      await expect(about.getByRole('link', { name: HOSTILE_MODEL })).toHaveAttribute('href', `/${HOSTILE_MODEL}`);
      await expect(page.locator('.space-banner-emoji')).toHaveCount(0);
      // colorFrom's CSS was refused: the gradient runs from colorTo's blue to itself.
      await expect(page.locator('.space-banner')).toHaveAttribute('style', /^background: linear-gradient\(135deg, rgb\(31, 95, 209\), rgb\(31, 95, 209\)\);/);

      const readme = page.getByRole('region', { name: 'About this Space' });
      await expect(readme.getByRole('heading', { name: `${RENDERED_MARKER} (end)` })).toBeVisible();
      await imagesSettled(page);
      expect(await activeContent(readme)).toEqual([]);
      expect(await clickPayloadLinks(readme)).toEqual(['xss space-md-link']);
      expect(await activeContent(page.locator('.space-header'), 'app')).toEqual([]);

      // The snippet is pasted into other people's pages: read as HTML it must be one iframe, its title
      // intact. Parsed in a blank page: the snippet's own style attribute is not the app's to allow.
      await page.getByRole('button', { name: 'Embed', exact: true }).click();
      const snippet = await page.getByRole('dialog').getByLabel('Embed code', { exact: true }).inputValue();
      const blank = await page.context().newPage();
      const parsed = await blank.evaluate((html) => {
        const template = document.createElement('template');
        template.innerHTML = html;
        return [...template.content.querySelectorAll('*')].map((e) => ({ tag: e.tagName, title: e.getAttribute('title'), attributes: e.getAttributeNames() }));
      }, snippet);
      await blank.close();
      expect(parsed).toEqual([{ tag: 'IFRAME', title: `${title} on Pocket Hub`, attributes: ['src', 'title', 'width', 'height', 'style', 'allow', 'referrerpolicy', 'loading'] }]);
      await page.keyboard.press('Escape');

      // The widget reads the real model; its example prompts include the payload, as a button's text.
      const widget = page.getByRole('region', { name: 'Run in your browser' });
      await widget.getByRole('button', { name: /^Load model/ }).click();
      await expect(widget.getByRole('group', { name: 'Example prompts' })).toContainText(payload('space-example-prompt').text);
      expect(await activeContent(widget.getByRole('group', { name: 'Example prompts' }), 'app')).toEqual([]);
    });

    test('listings show hostile ids, titles and descriptions as text', async ({ page }) => {
      await useHostileHub(page);
      await page.goto('/spaces');
      const grid = page.getByRole('list', { name: 'Spaces' });
      await expect(grid.getByRole('link', { name: payload('space-title').text, exact: true })).toBeVisible();
      await expect(grid).toContainText(payload('space-short-description').text);
      // A Space without a title is shown by its name, here a payload.
      await expect(grid.getByRole('link', { name: HOSTILE_SPACE_ID.split('/')[1], exact: true })).toBeVisible();
      expect(await activeContent(grid, 'app')).toEqual([]);

      await page.goto('/models?search=xss');
      const results = page.getByRole('region', { name: `localhost:${HOSTILE_HUB_PORT}` });
      await expect(results.getByRole('link', { name: HOSTILE_MODEL_ID, exact: true })).toBeVisible();
      await expect(results).toContainText(payload('listing-library-name').text);
      expect(await activeContent(results, 'app')).toEqual([]);

      await page.goto('/');
      await expect(page.getByRole('link', { name: HOSTILE_MODEL_ID, exact: true })).toBeVisible();
      await imagesSettled(page);
    });

    test('the embed routes show the hostile Space and model inside another site without running them', async ({ page }) => {
      for (const path of [`/embed/spaces/${HOSTILE_SPACE}?${hub}`, `/embed/model/${HOSTILE_MODEL}?${hub}`]) {
        await page.goto(`${SITE}/embed.html?${new URLSearchParams({ embed: path })}`);
        const embed = page.frameLocator('#embed');
        const repo = path.startsWith('/embed/spaces/') ? HOSTILE_SPACE : HOSTILE_MODEL;
        await expect(embed.getByRole('link', { name: `${repo} on Pocket Hub ↗` })).toBeVisible();
        await expect.poll(() => page.evaluate(() => (window as unknown as { embedEvents: { data: { type: string } }[] }).embedEvents.map((e) => e.data.type))).toEqual([
          'pocket-hub:ready',
        ]);
        expect(await activeContent(embed.locator('main'), 'app')).toEqual([]);
      }
    });

    test("a hostile static Space's own script cannot reach the app around it", async ({ page, watch }) => {
      const reports: { origin: string; outcomes: Record<string, string> }[] = [];
      await page.context().exposeBinding('spaceReport', (_source, origin: string, outcomes: Record<string, string>) => void reports.push({ origin, outcomes }));
      await page.goto(`/spaces/${HOSTILE_STATIC_SPACE}?${hub}`);
      await expect(page.getByTitle('Hostile static', { exact: true })).toHaveAttribute('sandbox', 'allow-scripts allow-forms');
      await expect.poll(() => reports.length).toBe(1);
      const [{ origin, outcomes }] = reports;
      expect(origin).toBe('null');
      // Cross-origin: the app's window lends neither its functions nor its document, and its storage is not the Space's.
      for (const id of ['static-parent-call', 'static-top-call', 'static-parent-dom', 'static-storage']) expect(outcomes[id], id).toBe('SecurityError');
      // No allow-popups: open() hands back nothing.
      expect(outcomes['static-popup']).toBe('Error');
      // No allow-top-navigation and no allow-modals: the attempts are dropped, whatever they return.
      expect(Object.keys(outcomes).sort()).toEqual(PAYLOADS.filter((p) => p.place === 'static-space').map((p) => p.id).sort());
      expect(page.url()).toBe(`${APP}/spaces/${HOSTILE_STATIC_SPACE}?${hub}`);
      expect(watch.dialogs).toEqual([]);
    });
  });
}

test('the corpus has at least 30 payloads, each with its own id, each calling the hook with it', () => {
  expect(PAYLOADS.length).toBeGreaterThanOrEqual(30);
  expect(new Set(PAYLOADS.map((p) => p.id)).size).toBe(PAYLOADS.length);
  for (const p of PAYLOADS) expect(p.text, p.id).toContain(p.id === 'static-alert' ? "alert('static-alert')" : `${XSS_HOOK}('${p.id}')`);
});
