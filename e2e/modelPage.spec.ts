import { expect, test, type Locator } from '@playwright/test';
import { GATED_REPO, HUB_PORT, HUB_REPO } from './hubServer.ts';

// stories260K's argmax continuation of "Once upon a time" (llama2.c and llama.cpp agree on it).
const GREEDY_CONTINUATION = ', there was a little girl named Lily.';
const GGUF_REPO = 'pocket-hub/stories260K-GGUF';
const HF_REPO = 'pocket-hub/stories260K';

/** The value of one labelled fact in a `<dl>` of label–value pairs. */
function fact(list: Locator, label: string): Locator {
  return list.locator('dl > div').filter({ has: list.page().locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd');
}

test('home features the embedded models; a model page shows its card, files, facts and fit, and runs it', async ({ page }) => {
  await page.goto('/');
  const featured = page.getByRole('region', { name: 'Featured models' });
  await expect(featured.getByRole('link', { name: GGUF_REPO, exact: true })).toBeVisible();
  await expect(featured.getByRole('link', { name: HF_REPO, exact: true })).toBeVisible();
  await expect(page.getByRole('region', { name: 'On this device' })).toContainText('No models downloaded yet');

  await featured.getByRole('link', { name: GGUF_REPO, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/${GGUF_REPO}$`));
  // The card's own markdown may bring an h1 of its own once it renders.
  await expect(page.getByRole('heading', { level: 1, name: GGUF_REPO, exact: true })).toBeVisible();

  // The card: its own heading through the markdown renderer, and the front matter as chips.
  const card = page.getByRole('tabpanel', { name: 'Model card' });
  await expect(card.getByRole('heading', { name: 'stories260K (GGUF)' })).toBeVisible();
  const chips = page.getByRole('list', { name: 'Model facts from the card' });
  await expect(chips).toContainText('License mit');
  await expect(chips.getByRole('link', { name: 'mit' })).toHaveAttribute('href', 'https://choosealicense.com/licenses/mit/');

  // The summary comes from the GGUF header, read with range requests.
  const summary = page.getByRole('region', { name: 'Model summary' });
  await expect(fact(summary, 'Layers')).toHaveText('5');
  await expect(fact(summary, 'Vocabulary')).toHaveText('512 tokens');
  await expect(fact(summary, 'Heads')).toHaveText('8 query · 4 key/value');
  await expect(fact(summary, 'Weight type')).toHaveText('F32');
  await expect(fact(summary, 'Download')).toHaveText('1.2 MB');

  const fit = page.getByRole('region', { name: 'Device fit' });
  await expect(fit.getByRole('status')).toHaveText('Runs on this device');
  await expect(fact(fit, 'Storage')).toContainText('to download');
  await fit.getByLabel('Context length').selectOption('512');
  await expect(fit.getByRole('status')).toHaveText('Runs on this device');

  // The tabs follow the arrow keys, and the open one is kept in the URL.
  await page.getByRole('tab', { name: 'Model card' }).focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('tab', { name: 'Files and versions' })).toBeFocused();
  await expect(page.getByRole('tab', { name: 'Files and versions' })).toHaveAttribute('aria-selected', 'true');
  await expect(page).toHaveURL(/\?tab=files$/);
  const row = page.getByRole('row').filter({ hasText: 'stories260K.gguf' });
  await expect(row).toContainText('1.2 MB');
  await expect(row).toContainText('LFS');
  await expect(row.getByRole('cell').nth(0)).toHaveAttribute('title', '1,185,376 bytes');
  const sha = row.locator('code');
  await expect(sha).toHaveText(/^[0-9a-f]{10}$/);
  await expect(sha).toHaveAttribute('title', /^[0-9a-f]{64}$/);
  expect((await sha.getAttribute('title'))!.startsWith((await sha.textContent())!)).toBe(true);
  await expect(page.getByRole('table').locator('caption')).toContainText(/at commit [0-9a-f]{10}/);

  const snippets = page.getByRole('region', { name: 'Use on your site' });
  await expect(snippets).toContainText(`src="http://localhost:4173/embed/model/${GGUF_REPO}"`);
  await expect(snippets).toContainText(`model: "${GGUF_REPO}"`);

  const widget = page.getByRole('region', { name: 'Run in your browser' });
  await expect(widget.getByRole('link', { name: 'Open in chat' })).toHaveAttribute('href', '/chat?model=pocket-hub%2Fstories260K-GGUF');
  await widget.getByRole('button', { name: 'Load model · 1.2 MB' }).click();
  const prompt = widget.getByRole('textbox', { name: 'Prompt' });
  await expect(prompt).toBeVisible();
  await widget.getByText('Sampling settings').click();
  await widget.getByLabel('Temperature').fill('0');
  await widget.getByLabel('Repetition penalty').fill('1');
  // The known continuation is about ten tokens; a short run keeps SwiftShader's part small.
  await widget.getByLabel('Max new tokens').fill('24');
  // A completion model gets the story opening as its example; choosing it fills the box.
  await widget.getByRole('group', { name: 'Example prompts' }).getByRole('button', { name: 'Once upon a time' }).click();
  await expect(prompt).toHaveValue('Once upon a time');
  await expect(prompt).toBeFocused();
  await expect(widget.getByRole('button', { name: 'Run' })).toBeEnabled();
  await prompt.press('Enter');
  await expect(widget.getByRole('log')).toContainText(`Once upon a time${GREEDY_CONTINUATION}`);
  await expect(widget.getByRole('region', { name: 'Generation stats' })).toContainText(/Decode\s*[\d.]+ tokens\/s/);

  // A long run, stopped with Escape: a thousand tokens take SwiftShader over a minute, so it is still running.
  await widget.getByLabel('Max new tokens').fill('1000');
  await prompt.fill('Once upon a time');
  await prompt.press('Enter');
  await expect(widget.getByRole('button', { name: 'Stop' })).toBeVisible();
  await prompt.press('Escape');
  await expect(widget.getByRole('log')).toContainText('Stopped.');
  await expect(widget.getByRole('button', { name: 'Run' })).toBeVisible();

  // The chat opened from the widget has the model, and the widget's run did not leave the engine busy.
  await widget.getByRole('link', { name: 'Open in chat' }).click();
  await expect(page.getByLabel('Message')).toBeVisible();
  await page.getByLabel('Message').fill('Once');
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();

  // Back home, the downloaded model is listed as on this device.
  await page.goto('/');
  await expect(page.getByRole('region', { name: 'On this device' }).getByRole('link', { name: GGUF_REPO, exact: true })).toBeVisible();
});

test('/models searches the hubs with the query in the URL', async ({ page }) => {
  await page.goto('/models?search=stories');
  await expect(page.getByLabel('Search models')).toHaveValue('stories');
  const embedded = page.getByRole('region', { name: "The app's embedded hub" });
  await expect(embedded.getByRole('link', { name: GGUF_REPO, exact: true })).toBeVisible();
  await expect(embedded.getByRole('link', { name: HF_REPO, exact: true })).toBeVisible();

  await page.getByLabel('Library').selectOption('gguf');
  await expect(page).toHaveURL(/\/models\?search=stories&library=gguf$/);
  await expect(embedded.getByRole('link', { name: HF_REPO, exact: true })).toHaveCount(0);
  await expect(embedded.getByRole('link', { name: GGUF_REPO, exact: true })).toBeVisible();

  await page.getByLabel('Search models').fill('no-model-is-called-this');
  await expect(page).toHaveURL(/search=no-model-is-called-this/);
  await expect(embedded).toContainText('No models here match “no-model-is-called-this”.');

  await page.getByLabel('Search models').fill('stories');
  await page.getByLabel('Library').selectOption('');
  await embedded.getByRole('link', { name: HF_REPO, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/${HF_REPO}$`));
  await expect(page.getByRole('tabpanel', { name: 'Model card' }).getByRole('heading', { name: 'stories260K', exact: true })).toBeVisible();
  await expect(fact(page.getByRole('region', { name: 'Model summary' }), 'Format')).toHaveText('safetensors · text completion');
});

test('a missing repo says so, and reserved paths are not model pages', async ({ page }) => {
  await page.goto('/pocket-hub/no-such-model');
  await expect(page.getByRole('heading', { name: 'Model not found' })).toBeVisible();
  await expect(page.getByText('No hub in your list has pocket-hub/no-such-model')).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('RepoNotFound');
  await expect(page.getByRole('alert').getByRole('button', { name: 'Retry' })).toBeVisible();

  await page.goto('/datasets/pocket-hub');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('a repo from another hub links to it there; a gated one points to Settings for a token', async ({ page }) => {
  const hub = `http://localhost:${HUB_PORT}`;
  await page.goto(`/${HUB_REPO}?hub=${hub}`);
  // The card's own markdown may bring an h1 of its own once it renders.
  await expect(page.getByRole('heading', { level: 1, name: HUB_REPO, exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: `View on localhost:${HUB_PORT}` })).toHaveAttribute('href', `${hub}/${HUB_REPO}`);
  // The chat link keeps the hub the page was opened with.
  await expect(page.getByRole('link', { name: 'Open in chat' })).toHaveAttribute(
    'href',
    `/chat?${new URLSearchParams({ model: HUB_REPO, hub })}`,
  );

  await page.goto(`/${GATED_REPO}?hub=${hub}`);
  const alert = page.getByRole('alert');
  await expect(alert).toBeVisible();
  await alert.getByRole('link', { name: 'Add a token in Settings' }).click();
  await expect(page).toHaveURL(/\/settings$/);
});
