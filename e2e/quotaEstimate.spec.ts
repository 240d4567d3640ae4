import { expect, test } from '@playwright/test';
import { chromiumArgs, chromiumPath } from '../test/chromium.ts';
import { HUB_REPO } from './hubServer.ts';
import { chatUrl, clearHubFaults, hubRequests, openStoragePage, overrideQuota, storageUsage, tellStory, WEIGHTS_BYTES } from './hubPage.ts';

// The service worker's precache (and the code cache Chromium keeps for it) grows storage use
// while these tests measure it; they are about the weight store, so the worker stays out.
test.use({ serviceWorkers: 'block' });

// Chromium's estimate() normally reports usage + 10 GiB whatever the real quota (its static
// storage quota, against fingerprinting). Turned off, it reports the real one, as Firefox and
// Safari do and Chrome does where policy disables the static quota: then the app sees before
// downloading anything that a model does not fit. (hubFaults.spec.ts covers the default, where
// only the write itself is refused.)
test.use({ launchOptions: { executablePath: chromiumPath(), args: [...chromiumArgs, '--disable-features=StaticStorageQuota'] } });

test.beforeEach(clearHubFaults);

test('a model larger than the free quota is refused before any file is fetched, and loads once the quota allows it', async ({ page }) => {
  // Every database the app opens before a download exists once the chat page has shown a model
  // that fails without one (a missing file) and the Storage page has listed the store, so from
  // here on only stored model files can add to the usage.
  await page.goto('/chat?model=/missing.gguf');
  await expect(page.getByRole('alert')).toBeVisible();
  await openStoragePage(page);
  const before = await storageUsage(page);
  // Less than the weights alone: the check must refuse the model as a whole.
  await overrideQuota(page, before + WEIGHTS_BYTES / 2);
  const requestsBefore = (await hubRequests()).length;
  await page.goto(chatUrl(HUB_REPO));
  const alert = page.getByRole('alert');
  await expect(alert).toContainText(/This download needs 1\.0 MiB but only 0\.\d MiB of the \d+\.\d MiB this site may use is free/);
  await expect(alert).toContainText('Free some space: delete cached models on the Storage page');
  await expect(alert.getByRole('link', { name: 'Free space on the Storage page' })).toBeVisible();
  // The repo was looked up, but none of its files was fetched.
  const fetched = (await hubRequests()).slice(requestsBefore).filter((r) => r.path.includes('/resolve/') || r.path.startsWith('/cdn/'));
  expect(fetched).toEqual([]);

  await openStoragePage(page);
  await expect(page.getByText('No models cached yet.')).toBeVisible();
  expect(await storageUsage(page)).toBe(before);

  await overrideQuota(page);
  await page.goto(chatUrl(HUB_REPO));
  await tellStory(page);
});
