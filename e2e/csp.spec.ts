// The production build under its Content-Security-Policy (vite.config.ts, docs/security.md): the
// routes, the service worker, the engine worker, the SDK's host page on another site and a static
// Space all work with no violation (securityFixtures.ts fails a test on any, in pages, frames
// and workers).
import { chooseGreedy, GREEDY_CONTINUATION, typeWhenLoaded } from './chatHelpers.ts';
import { HOST_PAGES_PORT } from './hostPagesServer.ts';
import { expect, test } from './securityFixtures.ts';

const SITE = `http://localhost:${HOST_PAGES_PORT}`;
const MODEL = 'pocket-hub/stories260K-GGUF';
const POLICY = /^default-src 'self'; script-src 'self'; .*object-src 'none'/;

test('every route renders under the policy, and the service worker registers and takes control', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('meta[http-equiv="Content-Security-Policy"]')).toHaveAttribute('content', POLICY);
  await expect(page.getByRole('heading', { name: 'Featured models' })).toBeVisible();
  // The registration is a script file of the build (UpdatePrompt.tsx), not an inline one.
  expect(await page.locator('script:not([src])').count()).toBe(0);
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated');
  // A worker's policy is the one its own script arrives with.
  expect((await page.request.get('/sw.js')).headers()['content-security-policy']).toMatch(POLICY);

  for (const [path, heading] of [
    ['/models', 'Models'],
    ['/spaces', 'Spaces'],
    ['/settings', 'Settings'],
    ['/storage', 'Storage'],
    [`/${MODEL}`, MODEL],
  ] as const) {
    await page.goto(path);
    await expect(page.getByRole('heading', { level: 1, name: heading, exact: true })).toBeVisible();
  }
  // The model page's card, through the lazily loaded markdown renderer and its stylesheet.
  await expect(page.getByRole('tabpanel', { name: 'Model card' }).getByRole('heading', { name: 'stories260K (GGUF)' })).toBeVisible();
});

test('the engine worker runs under the policy its script is served with', async ({ page }) => {
  const workerScript = page.waitForResponse((response) => /\/assets\/engine\.worker-[\w-]+\.js$/.test(response.url()));
  await page.goto(`/chat?model=${MODEL}`);
  expect((await workerScript).headers()['content-security-policy']).toMatch(POLICY);
  await chooseGreedy(page, 12);
  await typeWhenLoaded(page, 'Once upon a time');
  await page.getByLabel('Message').press('Enter');
  await expect(page.getByRole('log')).toContainText(`Once upon a time${GREEDY_CONTINUATION}`);
});

test("the SDK's engine page works under the policy inside another site", async ({ page }) => {
  await page.goto(`${SITE}/sdk.html`);
  await page.waitForFunction(() => (window as unknown as { sdkLoaded?: boolean }).sdkLoaded === true);
  const { chunks } = await page.evaluate(
    (model) =>
      (window as unknown as { streamCompletion: (p: unknown) => Promise<{ chunks: { choices: { text: string }[] }[] }> }).streamCompletion({
        model,
        prompt: 'Once upon a time',
        temperature: 0,
        max_tokens: 8,
      }),
    MODEL,
  );
  expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toMatch(/^, there was/);
  const host = page.frames().find((frame) => frame.url().endsWith('/sdk/host.html'))!;
  expect(await host.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toMatch(POLICY);
});

test('a static Space loads in its sandboxed frame and reaches the engine under the policy', async ({ page }) => {
  await page.goto('/spaces/pocket-hub/story-stream');
  const space = page.frameLocator('iframe[title="Story Stream"]');
  await space.getByLabel('Temperature').fill('0');
  await space.getByLabel('Length in tokens').fill('8');
  await space.getByRole('button', { name: 'Start' }).click();
  await expect(space.getByRole('status')).toContainText(/^The end · 8 tokens/);
});
