import { expect, test } from '@playwright/test';
import type { ErrorName } from '../src/protocol/errors.ts';
import { BAD_MODELS, BAD_MODELS_PORT } from '../test/badModels.ts';

// What each error class tells the user to do (its hint), so the test sees the type survived the worker.
const HINTS: Partial<Record<ErrorName, RegExp>> = {
  CorruptFileError: /damaged or not a model file/,
  UnsupportedDtypeError: /weight type is not supported/,
  UnsupportedArchitectureError: /Pocket Hub runs Llama, Mistral/,
  MissingTokenizerError: /Add tokenizer\.json/,
};

// Each broken or unsupported model ends in an alert that says what is wrong and what to do,
// never a blank page or an endless spinner.
for (const bad of BAD_MODELS) {
  test(`${bad.path} shows a ${bad.error} with a hint`, async ({ page }) => {
    await page.goto(`/chat?model=${encodeURIComponent(`http://localhost:${BAD_MODELS_PORT}/${bad.path}`)}`);
    const alert = page.getByRole('alert');
    await expect(alert).toBeVisible();
    await expect(alert).toContainText(bad.mentions);
    await expect(alert).toContainText(HINTS[bad.error]!);
    await expect(alert.getByRole('button', { name: 'Retry' })).toBeVisible();
  });
}

test('a prompt longer than the context is refused with a hint', async ({ page }) => {
  await page.goto('/chat');
  const message = page.getByLabel('Message');
  // stories260K's GGUF declares 2048 positions; this prompt is several thousand tokens.
  await message.fill('Once upon a time there was a dog. '.repeat(400));
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
  await message.press('Enter');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText(/context holds 2048/);
  await expect(alert).toContainText(/Shorten the prompt/);
});
