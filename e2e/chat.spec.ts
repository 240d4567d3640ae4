import { expect, test, type Page } from '@playwright/test';
import { chooseGreedy, GREEDY_CONTINUATION, typeWhenLoaded } from './chatHelpers.ts';

/**
 * Records, from inside the page, every length the transcript's text takes and whether the
 * stats ever showed a live rate, so the test sees streaming however fast or slow it runs.
 */
async function watchGeneration(page: Page) {
  await page.evaluate(() => {
    const log = document.querySelector('[role="log"]')!;
    const seen = { lengths: [] as number[], liveRate: false };
    (window as unknown as { seen: typeof seen }).seen = seen;
    new MutationObserver(() => {
      const length = log.textContent?.length ?? 0;
      if (seen.lengths.at(-1) !== length) seen.lengths.push(length);
      const stats = document.querySelector('[aria-label="Generation stats"]')?.textContent ?? '';
      if (/Generating · [\d.]+ tokens\/s/.test(stats)) seen.liveRate = true;
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { seen: { lengths: number[]; liveRate: boolean } }).seen);
}

test('the home page links to the chat, and unknown paths say so', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Pocket Hub' })).toBeVisible();
  await page.getByRole('link', { name: 'Chat with stories260K' }).click();
  await expect(page).toHaveURL(/\/chat\?model=pocket-hub%2Fstories260K-GGUF$/);
  await expect(page.getByRole('heading', { name: 'stories260K' })).toBeVisible();

  await page.goto('/no/such/page');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('streams the greedy continuation of a story with its speed', async ({ page }) => {
  await page.goto('/chat');
  await expect(page.getByText('Nothing here yet')).toBeVisible();
  // The known continuation is about ten tokens; a short reply keeps SwiftShader's part small.
  await chooseGreedy(page, 24);
  await typeWhenLoaded(page, 'Once upon a time');
  const seen = await watchGeneration(page);

  await page.getByLabel('Message').press('Enter');
  const log = page.getByRole('log');
  await expect(log).toContainText(`Once upon a time${GREEDY_CONTINUATION}`);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();

  const { lengths, liveRate } = await seen();
  // The prompt appears in one step; streaming means the reply then grew in several more.
  const growth = lengths.filter((n, i) => i > 0 && n > lengths[i - 1]);
  expect(growth.length).toBeGreaterThanOrEqual(3);
  expect(liveRate).toBe(true);
  const stats = page.getByRole('region', { name: 'Generation stats' });
  await expect(stats).toContainText(/Decode:?\s*[\d.]+ tokens\/s/);
  await expect(stats).toContainText(/First token:?\s*\d+ ms/);
});

test('the HF-format folder (config.json + safetensors + tokenizer.json), by its address, gives the same story', async ({ page }) => {
  await page.goto('/chat?model=/hub/pocket-hub/stories260K/resolve/main/');
  await chooseGreedy(page, 24);
  await typeWhenLoaded(page, 'Once upon a time');
  await page.getByLabel('Message').press('Enter');
  await expect(page.getByRole('log')).toContainText(`Once upon a time${GREEDY_CONTINUATION}`);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
});

for (const how of ['the Stop button', 'Escape'] as const) {
  test(`${how} ends a long generation at once`, async ({ page }) => {
    await page.goto('/chat');
    // Greedy stories260K rambles on without an end-of-text token, so only Stop can end this early.
    await chooseGreedy(page, 1500);
    await typeWhenLoaded(page, 'Once upon a time');
    await page.getByLabel('Message').press('Enter');

    const log = page.getByRole('log');
    const stop = page.getByRole('button', { name: 'Stop' });
    await expect(log).toContainText('Once upon a time, there');
    if (how === 'Escape') await page.keyboard.press('Escape');
    else await stop.click();
    await expect(stop).toBeHidden();
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
    const stats = page.getByRole('region', { name: 'Generation stats' });
    await expect(stats).toContainText(/Ended:?\s*stopped/);
    const generated = Number((await stats.textContent())?.match(/Generated:?\s*(\d+) tokens/)?.[1]);
    expect(generated).toBeLessThan(1500);

    const textAtStop = await log.textContent();
    // Anything still in flight from the worker would land within this pause.
    await page.waitForTimeout(2000);
    expect(await log.textContent()).toBe(textAtStop);

    // The page is ready for the next message.
    await typeWhenLoaded(page, 'The little dog');
  });
}

test('a missing model shows the error with its hint, and Retry tries again', async ({ page, context }) => {
  let fetches = 0;
  context.on('request', (request) => {
    if (new URL(request.url()).pathname === '/models/nope.gguf') fetches++;
  });
  await page.goto('/chat?model=/models/nope.gguf');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('/models/nope.gguf');
  await expect(alert).toContainText(/check the model address/i);
  expect(fetches).toBe(1);
  await alert.getByRole('button', { name: 'Retry' }).click();
  await expect.poll(() => fetches).toBe(2);
  await expect(page.getByRole('alert')).toContainText('/models/nope.gguf');
});

test('a browser without WebGPU is told so, with what to do', async ({ context }) => {
  await context.addInitScript(() => {
    Reflect.deleteProperty(Navigator.prototype, 'gpu');
  });
  const page = await context.newPage();
  await page.goto('/chat');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('WebGPU');
  await expect(alert).toContainText('Use a browser with WebGPU');
  await expect(alert.getByRole('button', { name: 'Retry' })).toBeVisible();
});
