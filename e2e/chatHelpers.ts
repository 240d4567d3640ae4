// Steps the chat specs share.
import { expect, type Page } from '@playwright/test';

// stories260K's argmax continuation of "Once upon a time" (llama2.c and llama.cpp agree on it).
export const GREEDY_CONTINUATION = ', there was a little girl named Lily';

export async function chooseGreedy(page: Page, maxTokens?: number) {
  await page.getByText('Sampling settings').click();
  await page.getByRole('button', { name: 'Greedy' }).click();
  if (maxTokens !== undefined) await page.getByLabel('Max new tokens').fill(String(maxTokens));
}

/** Types into the composer and waits for Send to be enabled, which needs the model loaded. */
export async function typeWhenLoaded(page: Page, text: string) {
  await page.getByLabel('Message').fill(text);
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
}
