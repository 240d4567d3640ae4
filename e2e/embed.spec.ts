// Pocket Hub used from other sites: an embedded Space that reports to the page around it and
// obeys only that page, the SDK imported across origins, and a static Space running sandboxed.
import { expect, test, type Page } from '@playwright/test';
import { GREEDY_CONTINUATION } from './chatHelpers.ts';
import { HOST_PAGES_PORT, NO_EMBED_SPACE, SPACES_HUB_PORT } from './hostPagesServer.ts';

const APP = 'http://localhost:4173';
const SITE = `http://localhost:${HOST_PAGES_PORT}`;
const MODEL = 'pocket-hub/stories260K-GGUF';
const STORY_STREAM = 'pocket-hub/story-stream';

interface Posted {
  origin: string;
  data: { type: string; [key: string]: unknown };
}

const embedEvents = (page: Page) => page.evaluate(() => (window as unknown as { embedEvents: Posted[] }).embedEvents);

test('an embedded Space posts ready, progress, tokens and done to the page around it, and ignores a third origin', async ({ page }) => {
  await page.goto(`${SITE}/embed.html`);
  await expect.poll(async () => (await embedEvents(page)).map((e) => e.data.type)).toEqual(['pocket-hub:ready']);
  expect((await embedEvents(page))[0]).toEqual({ origin: APP, data: { type: 'pocket-hub:ready', version: 1, kind: 'space', repo: STORY_STREAM } });
  await expect(page.frameLocator('#embed').getByRole('link', { name: `${STORY_STREAM} on Pocket Hub ↗` })).toBeVisible();

  // The stranger's command reaches the embed first (one renderer, messages in order); obeying it
  // would show as a first generation of its prompt.
  await page.evaluate(() =>
    (window as unknown as { commandFromStranger: (c: unknown) => Promise<void> }).commandFromStranger({
      type: 'pocket-hub:generate',
      prompt: 'The dog',
      temperature: 0,
      max_tokens: 4,
    }),
  );
  await page.evaluate(() =>
    (window as unknown as { commandEmbed: (c: unknown) => void }).commandEmbed({
      type: 'pocket-hub:generate',
      prompt: 'Once upon a time',
      temperature: 0,
      max_tokens: 12,
    }),
  );

  await expect.poll(async () => (await embedEvents(page)).some((e) => e.data.type === 'pocket-hub:done')).toBe(true);
  const events = await embedEvents(page);
  expect(events.every((e) => e.origin === APP)).toBe(true);
  const types = events.map((e) => e.data.type);
  // ready, then the load's progress, then the tokens, then one done: nothing else, and no error.
  const firstToken = types.indexOf('pocket-hub:token');
  expect(types[0]).toBe('pocket-hub:ready');
  expect(firstToken).toBeGreaterThan(1);
  expect(types.slice(1, firstToken).every((t) => t === 'pocket-hub:progress')).toBe(true);
  expect(types.slice(firstToken, -1).every((t) => t === 'pocket-hub:token')).toBe(true);
  expect(types.at(-1)).toBe('pocket-hub:done');
  const done = events.at(-1)!.data;
  expect(done.text).toMatch(new RegExp(`^${GREEDY_CONTINUATION}`));
  expect(done.reason).toBe('length');
  expect(events.filter((e) => e.data.type === 'pocket-hub:token').map((e) => e.data.text).join('')).toBe(done.text);
  expect(events.some((e) => e.data.type === 'pocket-hub:progress' && e.data.stage === 'warmup')).toBe(true);
});

test('a Space whose author turned embedding off says so in the embed and tells the parent', async ({ page }) => {
  const embedPath = `/embed/spaces/${NO_EMBED_SPACE}?hub=http://localhost:${SPACES_HUB_PORT}`;
  await page.goto(`${SITE}/embed.html?${new URLSearchParams({ embed: embedPath })}`);
  const embed = page.frameLocator('#embed');
  await expect(embed.getByText('The author of this Space turned off embedding.')).toBeVisible();
  await expect(embed.getByRole('link', { name: 'Open No Embed on Pocket Hub' })).toHaveAttribute('href', `${APP}/spaces/${NO_EMBED_SPACE}`);
  // The error and nothing else: no ready, since the embed takes no commands.
  await expect.poll(() => embedEvents(page)).toEqual([
    { origin: APP, data: { type: 'pocket-hub:error', name: 'EmbeddingDisabledError', message: 'The author of this Space turned off embedding.' } },
  ]);
});

test('a full page of the app framed by another site shows only a way out, not its controls', async ({ page }) => {
  await page.goto(`${SITE}/embed.html?${new URLSearchParams({ embed: '/settings' })}`);
  const framed = page.frameLocator('#embed');
  await expect(framed.getByText('This page of Pocket Hub does not run inside another site.')).toBeVisible();
  const out = framed.getByRole('link', { name: 'Open Pocket Hub in a new tab' });
  await expect(out).toHaveAttribute('href', `${APP}/settings`);
  await expect(out).toHaveAttribute('target', '_blank');
  // Settings would have its hub list and token field; none of it renders.
  await expect(framed.getByRole('navigation', { name: 'Main' })).toHaveCount(0);
  await expect(framed.getByRole('textbox')).toHaveCount(0);
});

test("a model embed shows the model's run widget and reports the visitor's own run to the parent", async ({ page }) => {
  await page.goto(`${SITE}/embed.html?${new URLSearchParams({ embed: `/embed/model/${MODEL}` })}`);
  await expect.poll(() => embedEvents(page)).toEqual([{ origin: APP, data: { type: 'pocket-hub:ready', version: 1, kind: 'model', repo: MODEL } }]);
  const widget = page.frameLocator('#embed').getByRole('region', { name: MODEL });
  await widget.getByRole('button', { name: 'Load model' }).click();
  await widget.getByText('Sampling settings').click();
  await widget.getByRole('button', { name: 'Greedy' }).click();
  await widget.getByLabel('Max new tokens').fill('12');
  await widget.getByRole('textbox', { name: 'Prompt' }).fill('Once upon a time');
  await widget.getByRole('button', { name: 'Run' }).click();

  await expect.poll(async () => (await embedEvents(page)).at(-1)?.data.type).toBe('pocket-hub:done');
  const events = await embedEvents(page);
  expect(events.every((e) => e.origin === APP)).toBe(true);
  expect(events.at(-1)!.data.text).toMatch(new RegExp(`^${GREEDY_CONTINUATION}`));
  expect(events.filter((e) => e.data.type === 'pocket-hub:token').map((e) => e.data.text).join('')).toBe(events.at(-1)!.data.text);
});

test('the SDK imported from another site streams a completion through a hidden engine frame', async ({ page }) => {
  await page.goto(`${SITE}/sdk.html`);
  await page.waitForFunction(() => (window as unknown as { sdkLoaded?: boolean }).sdkLoaded === true);

  const { chunks, stages } = await page.evaluate((model) =>
    (window as unknown as { streamCompletion: (p: unknown) => Promise<{ chunks: { object: string; choices: { text: string; finish_reason: string | null }[] }[]; stages: string[] }> }).streamCompletion({
      model,
      prompt: 'Once upon a time',
      temperature: 0,
      max_tokens: 12,
    }),
  MODEL);
  const text = chunks.map((c) => c.choices[0]?.text ?? '').join('');
  expect(text.startsWith(GREEDY_CONTINUATION)).toBe(true);
  expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
  expect(chunks.map((c) => c.choices[0].finish_reason)).toEqual([...Array(chunks.length - 1).fill(null), 'length']);
  // A fresh browser: the weights came down from the app's embedded hub first.
  expect(stages).toContain('download');
  expect(stages.at(-1)).toBe('warmup');
  expect(await page.evaluate(() => (window as unknown as { engineFrames: () => unknown }).engineFrames())).toEqual([{ src: `${APP}/sdk/host.html`, hidden: true }]);

  const failure = await page.evaluate(() =>
    (window as unknown as { failure: (p: unknown) => Promise<unknown> }).failure({ model: 'http://localhost:4173/no-such-model.gguf', prompt: 'Once' }),
  );
  expect(failure).toEqual({ name: 'NetworkError', message: 'No model at http://localhost:4173/no-such-model.gguf (HTTP 404).', hint: 'Check the model address.', typed: true });
});

test('a static Space runs sandboxed in its own opaque origin and generates through the app', async ({ page }) => {
  await page.goto(`/spaces/${STORY_STREAM}`);
  const frameElement = page.getByTitle('Story Stream', { exact: true });
  await expect(frameElement).toHaveAttribute('sandbox', 'allow-scripts allow-forms');
  const space = page.frameLocator('iframe[title="Story Stream"]');
  await expect(space.getByRole('heading', { name: '🌙 Story Stream' })).toBeVisible();

  // No allow-same-origin: the Space's code cannot reach the app's storage.
  const frame = page.frames().find((f) => f.url().includes(`/spaces/${STORY_STREAM}/resolve/`))!;
  expect(await frame.evaluate(() => origin)).toBe('null');
  expect(await frame.evaluate(() => {
    try {
      void localStorage.length;
      return 'reachable';
    } catch (err) {
      return (err as Error).name;
    }
  })).toBe('SecurityError');

  await space.getByLabel('Temperature').fill('0');
  await space.getByLabel('Length in tokens').fill('12');
  await space.getByRole('button', { name: 'Start' }).click();
  await expect(space.getByRole('article', { name: 'Story' })).toContainText(`Once upon a time${GREEDY_CONTINUATION}`);
  await expect(space.getByRole('status')).toContainText(/^The end · 12 tokens at [\d.]+ tokens\/s$/);
  await expect(space.getByRole('button', { name: 'Start' })).toBeEnabled();
});

test("a parent's command sent while the visitor's own run holds the engine waits for it, and the embed says so", async ({ page }) => {
  await page.goto(`${SITE}/embed.html?${new URLSearchParams({ embed: `/embed/model/${MODEL}` })}`);
  await expect.poll(async () => (await embedEvents(page)).map((e) => e.data.type)).toEqual(['pocket-hub:ready']);
  const widget = page.frameLocator('#embed').getByRole('region', { name: MODEL });
  await widget.getByRole('button', { name: 'Load model' }).click();
  await widget.getByText('Sampling settings').click();
  // Long enough to still be running when the command arrives; Escape ends it below.
  await widget.getByLabel('Max new tokens').fill('500');
  await widget.getByRole('textbox', { name: 'Prompt' }).fill('Once upon a time');
  await widget.getByRole('button', { name: 'Run' }).click();
  await expect(widget.getByText(/^Generating · /)).toBeVisible();

  await page.evaluate(() =>
    (window as unknown as { commandEmbed: (c: unknown) => void }).commandEmbed({ type: 'pocket-hub:generate', prompt: 'Once upon a time', temperature: 0, max_tokens: 12 }),
  );
  await expect(widget.getByText('Next in line: the page around this embed.')).toBeVisible();
  await widget.getByRole('textbox', { name: 'Prompt' }).press('Escape');

  // The visitor's run ends stopped, then the command runs: two 'done' and no "already running" error.
  await expect.poll(async () => (await embedEvents(page)).filter((e) => e.data.type === 'pocket-hub:done').length).toBe(2);
  const events = await embedEvents(page);
  expect(events.filter((e) => e.data.type === 'pocket-hub:error')).toEqual([]);
  const [visitor, command] = events.filter((e) => e.data.type === 'pocket-hub:done').map((e) => e.data);
  expect(visitor.reason).toBe('abort');
  expect(command.reason).toBe('length');
  expect(command.text).toMatch(new RegExp(`^${GREEDY_CONTINUATION}`));
  await expect(widget.getByText('Next in line')).toBeHidden();
});

test("on a page that sends no referrer, the snippet's referrerpolicy or ?parent= still tells the embed its parent", async ({ page }) => {
  await page.goto(`${SITE}/no-referrer.html`);
  const heard = () => page.evaluate(() => (window as unknown as { heard: Record<string, string[]> }).heard);
  await expect.poll(async () => (await heard()).snippet).toEqual(['pocket-hub:ready']);
  await expect.poll(async () => (await heard()).parent).toEqual(['pocket-hub:ready']);
  // The bare frame has loaded its widget too, yet posts nothing: it knows of no parent to trust.
  await expect(page.frameLocator('#bare').getByRole('button', { name: 'Load model' })).toBeVisible();
  expect((await heard()).bare).toEqual([]);
});
