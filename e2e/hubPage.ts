// Steps the hub fault specs share: talking to the e2e hub's control port, generating, and the
// origin's storage as the browser counts it.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type CDPSession, type Page } from '@playwright/test';
import { STORIES_HF_DIR } from '../test/embedded.ts';
import type { RecordedRequest } from '../test/hubServer.ts';
import { HUB_CONTROL_PORT, HUB_PORT } from './hubServer.ts';

// stories260K's argmax continuation of "Once upon a time" (llama2.c and llama.cpp agree on it).
const GREEDY_CONTINUATION = ', there was a little girl named Lily';
const control = `http://localhost:${HUB_CONTROL_PORT}`;

/** The chat page opening `repo` from the e2e hub. */
export const chatUrl = (repo: string) => `/chat?model=${repo}&hub=http://localhost:${HUB_PORT}`;

/** Bytes of model.safetensors in the e2e hub's copies of stories260K. */
export const WEIGHTS_BYTES = statSync(join(STORIES_HF_DIR, 'model.safetensors')).size;

/** Every request the e2e hub has received, oldest first. */
export async function hubRequests(): Promise<RecordedRequest[]> {
  return (await fetch(`${control}/requests/detail`)).json() as Promise<RecordedRequest[]>;
}

export async function clearHubFaults(): Promise<void> {
  await fetch(`${control}/faults`, { method: 'DELETE' });
}

/** Greedy, a short reply, the story's opening: the reply must be the known continuation. */
export async function tellStory(page: Page): Promise<void> {
  await page.getByText('Sampling settings').click();
  await page.getByRole('button', { name: 'Greedy' }).click();
  await page.getByLabel('Max new tokens').fill('24');
  await page.getByLabel('Message').fill('Once upon a time');
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
  await page.getByLabel('Message').press('Enter');
  await expect(page.getByRole('log')).toContainText(`Once upon a time${GREEDY_CONTINUATION}`);
}

const quotaSessions = new WeakMap<Page, CDPSession>();

/**
 * Sets the quota of the page's origin through DevTools; without `bytes`, gives the browser's
 * own back. The override lasts as long as the DevTools session, hence one session per page.
 */
export async function overrideQuota(page: Page, bytes?: number): Promise<void> {
  let cdp = quotaSessions.get(page);
  if (!cdp) {
    cdp = await page.context().newCDPSession(page);
    quotaSessions.set(page, cdp);
  }
  const origin = new URL(page.url()).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', bytes === undefined ? { origin } : { origin, quotaSize: bytes });
}

export function storageUsage(page: Page): Promise<number> {
  return page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
}

/** Opens the Storage page and waits until it has read the model store. */
export async function openStoragePage(page: Page): Promise<void> {
  await page.goto('/storage');
  await expect(page.getByRole('heading', { name: 'Space used by this site' })).toBeVisible();
}
