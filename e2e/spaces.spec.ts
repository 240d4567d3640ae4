import { expect, test } from '@playwright/test';

// stories260K's argmax continuation of "Once upon a time" (llama2.c and llama.cpp agree on it).
const GREEDY_CONTINUATION = ', there was a little girl named Lily.';
const STORY_WRITER = 'pocket-hub/story-writer';
const SNIPPET_SRC = `src="http://localhost:4173/embed/spaces/${STORY_WRITER}"`;

test('/spaces lists the embedded Spaces; story-writer embeds and runs from an example prompt', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto('/spaces');
  const grid = page.getByRole('list', { name: 'Spaces' });
  const storyCard = grid.getByRole('listitem').filter({ has: page.getByRole('link', { name: 'Story Writer', exact: true }) });
  // Pinned in its card, so first in the gallery.
  await expect(grid.getByRole('listitem').first()).toContainText('Story Writer');
  await expect(storyCard).toContainText('📖');
  await expect(storyCard).toContainText('Start a bedtime story');
  await expect(storyCard).toContainText('Completion');
  await expect(grid.getByRole('link', { name: 'Smol Chat', exact: true })).toBeVisible();

  await page.getByLabel('Search Spaces').fill('smol');
  await expect(page).toHaveURL(/\/spaces\?search=smol$/);
  await expect(grid.getByRole('link', { name: 'Story Writer' })).toHaveCount(0);
  await expect(grid.getByRole('link', { name: 'Smol Chat', exact: true })).toBeVisible();
  await page.getByLabel('Search Spaces').fill('no-space-is-called-this');
  await expect(page.getByText('No Spaces match “no-space-is-called-this”.')).toBeVisible();
  await page.getByLabel('Search Spaces').fill('');
  await expect(page).toHaveURL(/\/spaces$/);

  await grid.getByRole('link', { name: 'Story Writer', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/spaces/${STORY_WRITER}$`));
  await expect(page.locator('.space-header').getByRole('heading', { level: 1 })).toHaveText('Story Writer');
  const about = page.getByRole('list', { name: 'About this Space' });
  await expect(about).toContainText('Completion Space');
  await expect(about.getByRole('link', { name: 'mit' })).toHaveAttribute('href', 'https://choosealicense.com/licenses/mit/');
  await expect(about.getByRole('link', { name: 'pocket-hub/stories260K-GGUF' })).toHaveAttribute('href', '/pocket-hub/stories260K-GGUF');

  // The embed dialog: focus goes to the code, Copy puts it on the clipboard, Escape gives focus back.
  const embedButton = page.getByRole('button', { name: 'Embed', exact: true });
  await embedButton.click();
  const dialog = page.getByRole('dialog', { name: 'Embed Story Writer' });
  await expect(dialog).toBeVisible();
  const code = dialog.getByLabel('Embed code', { exact: true });
  await expect(code).toBeFocused();
  await expect(code).toHaveValue(new RegExp(SNIPPET_SRC));
  await dialog.getByRole('button', { name: 'Copy embed code' }).click();
  await expect(dialog.getByRole('status')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await code.inputValue());
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(embedButton).toBeFocused();

  // The card's sampling reaches the widget; greedy then makes the story the known one.
  const widget = page.getByRole('region', { name: 'Run in your browser' });
  await widget.getByRole('button', { name: 'Load model · 1.2 MB' }).click();
  await widget.getByRole('group', { name: 'Example prompts' }).getByRole('button', { name: 'Once upon a time' }).click();
  const prompt = widget.getByRole('textbox', { name: 'Prompt' });
  await expect(prompt).toHaveValue('Once upon a time');
  await widget.getByText('Sampling settings').click();
  await expect(widget.getByLabel('Temperature')).toHaveValue('0.8');
  await expect(widget.getByLabel('Top-k')).toHaveValue('40');
  await expect(widget.getByLabel('Max new tokens')).toHaveValue('160');
  await widget.getByRole('button', { name: 'Greedy' }).click();
  await expect(widget.getByLabel('Temperature')).toHaveValue('0');
  // The known continuation is about ten tokens; a short run keeps SwiftShader's part small.
  await widget.getByLabel('Max new tokens').fill('24');
  await expect(widget.getByRole('button', { name: 'Run' })).toBeEnabled();
  await widget.getByRole('button', { name: 'Run' }).click();
  await expect(widget.getByRole('log')).toContainText(`Once upon a time${GREEDY_CONTINUATION}`);
});

test('a chat Space names its model; a missing Space says so', async ({ page }) => {
  await page.goto('/spaces/pocket-hub/smol-chat');
  await expect(page.locator('.space-header').getByRole('heading', { level: 1 })).toHaveText('Smol Chat');
  const about = page.getByRole('list', { name: 'About this Space' });
  await expect(about).toContainText('Chat Space');
  await expect(about.getByRole('link', { name: 'HuggingFaceTB/SmolLM2-135M-Instruct' })).toHaveAttribute('href', '/HuggingFaceTB/SmolLM2-135M-Instruct');
  await expect(page.getByRole('button', { name: 'Embed', exact: true })).toBeVisible();

  await page.goto('/spaces/pocket-hub/no-such-space');
  await expect(page.getByRole('heading', { name: 'Space not found' })).toBeVisible();
  await expect(page.getByText('No hub in your list has the Space pocket-hub/no-such-space')).toBeVisible();
});
