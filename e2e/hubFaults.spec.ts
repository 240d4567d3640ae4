import { expect, test, type Page } from '@playwright/test';
import { CDN_HOST, GATED_REPO, GATED_TOKEN, HUB_PORT, HUB_REPO } from './hubServer.ts';
import { chatUrl, clearHubFaults, hubRequests, openStoragePage, overrideQuota, storageUsage, tellStory, WEIGHTS_BYTES } from './hubPage.ts';

// The service worker's precache (and the code cache Chromium keeps for it) grows storage use
// while these tests measure it; they are about the weight store, so the worker stays out.
test.use({ serviceWorkers: 'block' });

// Faults a user meets with a real hub: too little storage for a model, and a gated repo.

test.beforeEach(clearHubFaults);

test('the browser refusing the weights mid-download leaves no partial file, and the model loads once there is room', async ({ page }) => {
  // Chromium's estimate() reports usage + 10 GiB whatever the real quota (its static storage
  // quota), so the app's check before downloading passes and the override is met only when
  // IndexedDB refuses the write: the QuotaExceededError path. quotaEstimate.spec.ts covers the check.
  await openStoragePage(page);
  // Half the weights: room for config.json and the tokenizer files, not for the weights' chunk.
  await overrideQuota(page, (await storageUsage(page)) + WEIGHTS_BYTES / 2);
  await page.goto(chatUrl(HUB_REPO));
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('The browser refused to store 1.0 MiB more');
  await expect(alert).toContainText('model.safetensors: storage is full');
  await expect(alert).toContainText('Free some space: delete cached models on the Storage page');

  await alert.getByRole('link', { name: 'Free space on the Storage page' }).click();
  await expect(page.getByRole('heading', { name: 'Space used by this site' })).toBeVisible();
  // The small files finished first and stay; the weights' record went with the refused write, so
  // nothing reads as a partial download. (Chunks are 64 MiB, so the 1 MiB file is a single chunk:
  // no earlier chunk of it could be left over, and the browser's usage has nothing to show here.)
  const row = page.getByRole('row').filter({ hasText: HUB_REPO });
  await expect(row.getByRole('cell').nth(3)).toHaveText('3');
  await expect(row).not.toContainText('partial');

  await overrideQuota(page);
  await page.goBack();
  await tellStory(page);
});

/** Saves `token` on the Settings page the alert links to, then goes back to the chat. */
async function saveTokenFromAlert(page: Page, token: string) {
  await page.getByRole('alert').getByRole('link', { name: 'Add a token in Settings' }).click();
  await page.getByLabel('Hugging Face access token').fill(token);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toHaveText(/^Saved\./);
  await page.goBack();
}

test('a gated repo without a token asks for one and links to Settings; a token without access gets the 403 message', async ({ page }) => {
  await page.goto(chatUrl(GATED_REPO));
  const alert = page.getByRole('alert');
  await expect(alert).toContainText(`config.json in ${GATED_REPO}: it is gated or private and needs a token`);
  await expect(alert).toContainText('HTTP 401');
  await expect(alert).toContainText('Request access on the model page on huggingface.co, then add a read token in Settings');

  await saveTokenFromAlert(page, 'hf_notGrantedForThisRepo');
  await expect(alert).toContainText(`config.json in ${GATED_REPO}: the token has no access to it`);
  await expect(alert).toContainText('you are not in the authorized list');
  await expect(alert).toContainText('HTTP 403');
});

test('a gated repo with a granted token saved in Settings downloads and generates, and the token never reaches the CDN', async ({ page }) => {
  const before = (await hubRequests()).length;
  await page.goto(chatUrl(GATED_REPO));
  await expect(page.getByRole('alert')).toContainText('needs a token');
  await saveTokenFromAlert(page, GATED_TOKEN);
  await tellStory(page);

  const requests = (await hubRequests()).slice(before);
  const withToken = requests.filter((r) => r.headers.authorization === `Bearer ${GATED_TOKEN}`);
  expect(withToken.some((r) => r.path.startsWith(`/${GATED_REPO}/resolve/`))).toBe(true);
  // The weights came through the hub's redirect to the CDN's origin, which fetch entered without the token.
  const cdn = requests.filter((r) => r.path.startsWith('/cdn/') && r.method === 'GET');
  expect(cdn.length).toBeGreaterThan(0);
  for (const r of cdn) {
    expect(r.headers.host).toBe(`${CDN_HOST}:${HUB_PORT}`);
    expect(r.headers.authorization).toBeUndefined();
  }
});
