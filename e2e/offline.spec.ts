// The installed app offline: the service worker (vite.config.ts, pwaOptions) serves the app and
// the embedded hub's small files, and the engine reads the weights it stored in IndexedDB.
import { expect, test, type Page } from '@playwright/test';
import { chooseGreedy, GREEDY_CONTINUATION, typeWhenLoaded } from './chatHelpers.ts';

const STORY = `Once upon a time${GREEDY_CONTINUATION}`;
const GGUF_REPO = 'pocket-hub/stories260K-GGUF';
const GGUF_WEIGHTS = `/hub/${GGUF_REPO}/resolve/main/stories260K.gguf`;

/** Waits until the service worker is installed, active and serving this page. */
async function serviceWorkerInControl(page: Page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated');
}

/** The status the page gets for `url`, or 'failed' when the request gets no answer at all. */
function statusOf(page: Page, url: string, headers: Record<string, string> = {}): Promise<number | 'failed'> {
  return page.evaluate(
    ([url, headers]) => fetch(url, { headers }).then((res) => res.status, () => 'failed' as const),
    [url, headers] as const,
  );
}

async function tellStory(page: Page) {
  await chooseGreedy(page, 24);
  await typeWhenLoaded(page, 'Once upon a time');
  await page.getByLabel('Message').press('Enter');
  await expect(page.getByRole('log')).toContainText(STORY);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
}

test('after one visit, the chat loads its model and generates with the network off, and deep links open', async ({ page, context }) => {
  await page.goto('/chat');
  await tellStory(page);
  await expect(page.getByText('Ready to work offline')).toBeVisible();
  await serviceWorkerInControl(page);

  await context.setOffline(true);
  const reloaded = await page.reload();
  // The server is out of reach: the page came from the precache.
  expect(reloaded?.fromServiceWorker()).toBe(true);
  await expect(page.getByText('Nothing here yet')).toBeVisible();
  await tellStory(page);
  // Said once, on the first install only.
  await expect(page.getByText('Ready to work offline')).toBeHidden();
  // The weights came from IndexedDB: the service worker holds no copy and passes a Range
  // request on to the network, which is off.
  expect(await statusOf(page, GGUF_WEIGHTS, { Range: 'bytes=0-3' })).toBe('failed');

  const settings = await page.goto('/settings');
  expect(settings?.fromServiceWorker()).toBe(true);
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible();
});

test('a model page seen once shows its card offline', async ({ page, context }) => {
  await page.goto(`/${GGUF_REPO}`);
  const card = page.getByRole('tabpanel', { name: 'Model card' });
  await expect(card.getByRole('heading', { name: 'stories260K (GGUF)' })).toBeVisible();
  await serviceWorkerInControl(page);

  await context.setOffline(true);
  const reloaded = await page.reload();
  expect(reloaded?.fromServiceWorker()).toBe(true);
  await expect(page.getByRole('heading', { level: 1, name: GGUF_REPO, exact: true })).toBeVisible();
  await expect(card.getByRole('heading', { name: 'stories260K (GGUF)' })).toBeVisible();
});
