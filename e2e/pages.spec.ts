import { expect, test } from '@playwright/test';
import { HUB_PORT, HUB_REPO } from './hubServer.ts';

test('settings keep the hub endpoints and the token across a reload', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
  const endpoints = page.getByRole('list', { name: /Hub endpoints/ }).getByRole('listitem');
  await expect(endpoints).toHaveText([/https:\/\/huggingface\.co/]);

  const newEndpoint = page.getByLabel('Add an endpoint');
  await newEndpoint.fill('not a url');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('is not a web address');
  await expect(newEndpoint).toHaveAttribute('aria-invalid', 'true');
  await newEndpoint.fill('http://mirror.example');
  await newEndpoint.press('Enter');
  await expect(page.getByRole('alert')).toContainText('Use https://');
  await expect(endpoints).toHaveCount(1);

  await newEndpoint.fill('https://mirror.example/');
  await newEndpoint.press('Enter');
  await expect(endpoints).toHaveText([/huggingface\.co/, /https:\/\/mirror\.example/]);
  await page.getByRole('button', { name: 'Move https://mirror.example up' }).click();
  await expect(endpoints).toHaveText([/mirror\.example/, /huggingface\.co/]);
  // Focus stays with the moved entry, on the control that still works now that it is first.
  await expect(page.getByRole('button', { name: 'Move https://mirror.example down' })).toBeFocused();

  const token = page.getByLabel('Hugging Face access token');
  await expect(token).toHaveAttribute('type', 'password');
  await token.fill('hf_secret123');
  await page.getByRole('button', { name: 'Show token' }).click();
  await expect(token).toHaveAttribute('type', 'text');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toHaveText(/^Saved\./);

  await page.reload();
  await expect(endpoints).toHaveText([/mirror\.example/, /huggingface\.co/]);
  // Shown as bullets again after a reload, whatever it was when saved.
  await expect(token).toHaveAttribute('type', 'password');
  await expect(token).toHaveValue('hf_secret123');

  await page.getByRole('button', { name: 'Reset to default' }).click();
  await token.fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.reload();
  await expect(endpoints).toHaveText([/huggingface\.co/]);
  await expect(token).toHaveValue('');
});

test('the storage page of a fresh browser says no model is cached', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Storage' }).click();
  await expect(page.getByRole('heading', { name: 'Storage' })).toBeVisible();
  await expect(page.getByText('No models cached yet')).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByRole('meter', { name: 'Space used by this site' })).toBeVisible();
  await page.getByRole('link', { name: /Chat with the embedded stories260K/ }).click();
  await expect(page).toHaveURL(/\/chat\?model=pocket-hub%2Fstories260K-GGUF$/);
});

test('a cached model is listed on the storage page and deletes after a confirm', async ({ page }) => {
  await page.goto(`/chat?model=${HUB_REPO}&hub=http://localhost:${HUB_PORT}`);
  // Send is enabled once the model is downloaded into the store and loaded.
  await page.getByLabel('Message').fill('Once');
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Storage' }).click();
  const row = page.getByRole('row').filter({ hasText: HUB_REPO });
  await expect(row).toContainText('complete');
  await expect(row.getByRole('cell').nth(3)).toHaveText(/^[1-9]\d*$/);
  await expect(row.getByRole('cell').nth(1).locator('code')).toHaveAttribute('title', /^[0-9a-f]{40}$/);
  await expect(row).toContainText(/now|seconds? ago|minutes? ago/);

  const remove = row.getByRole('button', { name: new RegExp(`^Delete ${HUB_REPO} at [0-9a-f]{7}$`) });
  await remove.click();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(remove).toBeFocused();
  await remove.click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page.getByText('No models cached yet')).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('Free up space deletes the least recently used model, after naming it', async ({ page }) => {
  // Two models: the embedded one first, then the local hub's, which makes it the newer use.
  await page.goto('/chat');
  await page.getByLabel('Message').fill('Once');
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
  await page.goto(`/chat?model=${HUB_REPO}&hub=http://localhost:${HUB_PORT}`);
  await page.getByLabel('Message').fill('Once');
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Storage' }).click();
  const freeing = page.getByRole('region', { name: 'Free up space' });
  // 256 MiB is more than both hold: everything would go, oldest use first.
  await expect(freeing.getByRole('list', { name: 'Models that would be deleted' }).getByRole('listitem')).toHaveText([
    /^pocket-hub\/stories260K-GGUF/,
    new RegExp(`^${HUB_REPO}`),
  ]);
  await freeing.getByRole('button', { name: /^Delete 2 models/ }).click();
  await expect(page.getByText('No models cached yet')).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
});
