import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { HUB_CONTROL_PORT, HUB_PORT, HUB_REPO } from './hubServer.ts';
import type { FaultRule } from '../test/hubServer.ts';

// stories260K's argmax continuation of "Once upon a time" (llama2.c and llama.cpp agree on it).
const GREEDY_CONTINUATION = ', there was a little girl named Lily';
const HUB = `http://localhost:${HUB_PORT}`;
const CHAT = `/chat?model=${HUB_REPO}&hub=${HUB}`;
const control = `http://localhost:${HUB_CONTROL_PORT}`;

async function addFault(rule: FaultRule) {
  await fetch(`${control}/faults`, { method: 'POST', body: JSON.stringify(rule) });
}

async function pendingFaults(): Promise<FaultRule[]> {
  return (await fetch(`${control}/faults`)).json() as Promise<FaultRule[]>;
}

async function hubRequests(): Promise<string[]> {
  return (await fetch(`${control}/requests`)).json() as Promise<string[]>;
}

test.beforeEach(() => fetch(`${control}/faults`, { method: 'DELETE' }));

/** Greedy, a short reply, the story's opening: the reply must be the known continuation. */
async function tellStory(page: Page) {
  await page.getByText('Sampling settings').click();
  await page.getByRole('button', { name: 'Greedy' }).click();
  await page.getByLabel('Max new tokens').fill('24');
  await page.getByLabel('Message').fill('Once upon a time');
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
  await page.getByLabel('Message').press('Enter');
  await expect(page.getByRole('log')).toContainText(`Once upon a time${GREEDY_CONTINUATION}`);
}

/** Only the app's own origin stays reachable; returns the requests that tried to leave it. */
async function cutOffEverythingButTheApp(context: BrowserContext, appOrigin: string): Promise<string[]> {
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(appOrigin)) return route.continue();
    blocked.push(url);
    return route.abort('internetdisconnected');
  });
  return blocked;
}

test('a Hub repo downloads with progress, generates, and then loads from the cache with the hub cut off', async ({ page, context, baseURL }) => {
  await page.goto(CHAT);
  const download = page.getByRole('progressbar', { name: 'Downloading' });
  await expect(download).toBeVisible();
  await tellStory(page);

  const before = (await hubRequests()).length;
  const blocked = await cutOffEverythingButTheApp(context, baseURL!);
  await page.reload();
  await tellStory(page);
  expect((await hubRequests()).length).toBe(before);
  // Not even an API call or a HEAD: the cached copy loads with the network untouched.
  expect(blocked).toEqual([]);
});

test('a connection dropped mid-file resumes, and the model still verifies and generates', async ({ page }) => {
  await addFault({ kind: 'drop', afterBytes: 300_000, match: '/cdn/' });
  const before = (await hubRequests()).length;
  await page.goto(CHAT);
  await tellStory(page);
  expect(await pendingFaults()).toEqual([]);
  // The dropped request and the one that finished the file.
  const weights = (await hubRequests()).slice(before).filter((path) => path.startsWith('/cdn/'));
  expect(weights.length).toBeGreaterThanOrEqual(2);
});

test('two tabs opening the same model download each file once', async ({ context }) => {
  // A slow first weight download keeps it in flight while the second tab asks for the same file.
  await addFault({ kind: 'slow', delayMs: 50, match: '/cdn/' });
  const before = (await hubRequests()).length;
  const [first, second] = [await context.newPage(), await context.newPage()];
  await Promise.all([first.goto(CHAT), second.goto(CHAT)]);
  await tellStory(first);
  await tellStory(second);
  const requests = (await hubRequests()).slice(before);
  // One redirect for the weights and one CDN transfer, whichever tab made them: the other waited on the Web Lock.
  expect(requests.filter((path) => path.endsWith('/model.safetensors'))).toHaveLength(1);
  expect(requests.filter((path) => path.startsWith('/cdn/'))).toHaveLength(1);
});

test('Cancel pauses a download and Resume completes it', async ({ page }) => {
  // 16 KiB every 100 ms: the megabyte of weights takes about six seconds, time enough to cancel.
  await addFault({ kind: 'slow', delayMs: 100, match: '/cdn/' });
  await page.goto(CHAT);
  await expect(page.locator('.stage-file')).toContainText('model.safetensors');
  await page.getByRole('button', { name: 'Cancel download' }).click();
  await expect(page.getByText('Download paused. What was downloaded is kept.')).toBeVisible();
  await page.getByRole('button', { name: 'Resume' }).click();
  await tellStory(page);
});
