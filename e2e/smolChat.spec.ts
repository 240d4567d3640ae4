// The embedded chat Space pocket-hub/smol-chat, run end to end. Its model lives on
// huggingface.co, which the tests cannot reach: every request the app makes there is answered
// by the e2e hub, which serves a stand-in under the same id (smolChatStandIn.ts). The Space,
// the worker and the engine are the production build's, asking huggingface.co as they would.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { parseSpaceCard } from '../src/hub/card.ts';
import { tokenizerFromJson } from '../src/engine/tokenizer/index.ts';
import { HUB_PORT } from './hubServer.ts';
import { HOST_PAGES_PORT } from './hostPagesServer.ts';
import { SMOL_CHAT_MODEL } from './smolChatStandIn.ts';

const SPACE = 'pocket-hub/smol-chat';
const APP = 'http://localhost:4173';
const SITE = `http://localhost:${HOST_PAGES_PORT}`;
const HUB = `http://localhost:${HUB_PORT}`;
const card = parseSpaceCard(readFileSync(join(import.meta.dirname, '..', 'hub', 'spaces', SPACE, 'README.md'), 'utf8')).data.declarative!;

// Service workers fetch on their own, where routes do not reach; the Space runs the same without one.
test.use({ serviceWorkers: 'block' });

/** Answers every huggingface.co request from the e2e hub; returns the paths asked for. */
async function huggingFaceFromTestHub(context: BrowserContext): Promise<string[]> {
  const asked: string[] = [];
  await context.route('https://huggingface.co/**', async (route) => {
    const url = new URL(route.request().url());
    asked.push(`${route.request().method()} ${url.pathname}`);
    // The hub's LFS redirect to its CDN is followed here, so the app sees one huggingface.co answer.
    const response = await route.fetch({ url: `${HUB}${url.pathname}${url.search}` });
    await route.fulfill({ response });
  });
  return asked;
}

let tokenizer: ReturnType<typeof tokenizerFromJson>;

// The stand-in's tokenizer as the hub serves it, for counting what the prompt should be.
test.beforeAll(async () => {
  const file = async (name: string) => (await fetch(`${HUB}/${SMOL_CHAT_MODEL}/resolve/main/${name}`)).json() as Promise<unknown>;
  tokenizer = tokenizerFromJson(await file('tokenizer.json'), await file('tokenizer_config.json'));
});

/**
 * Tokens of the prompt the Space should send: its system prompt and `question` in SmolLM2's
 * ChatML, written out here rather than rendered by the engine's template code.
 */
function chatPromptTokens(question: string): number {
  return tokenizer.encode(`<|im_start|>system\n${card.systemPrompt}<|im_end|>\n<|im_start|>user\n${question}<|im_end|>\n<|im_start|>assistant\n`).length;
}

/** Starts a reply to `question` from its example button, and stops it with Escape once text has streamed. */
async function askAndStop(page: Page, widget: ReturnType<Page['getByRole']>, question: string): Promise<void> {
  await widget.getByRole('group', { name: 'Example prompts' }).getByRole('button', { name: question }).click();
  const message = widget.getByRole('textbox', { name: 'Message' });
  await expect(message).toHaveValue(question);
  await message.press('Enter');
  const reply = widget.getByRole('log').locator('.reply, .entry-text').last();
  await expect(reply).not.toHaveText('');
  await expect(widget.getByText(/^Generating · /)).toBeVisible();
  await message.press('Escape');
  await expect(widget.getByText('Stopped.')).toBeVisible();
}

test('the chat Space runs its huggingface.co model: system prompt, example, streamed reply, Escape, embed', async ({ page, context }) => {
  const asked = await huggingFaceFromTestHub(context);
  await page.goto(`/spaces/${SPACE}`);
  await expect(page.locator('.space-header').getByRole('heading', { level: 1 })).toHaveText('Smol Chat');
  const widget = page.getByRole('region', { name: 'Run in your browser' });
  await expect(widget.getByText(card.systemPrompt!.split('\n')[0])).toBeVisible();
  // The facts came from the stand-in's headers: a few MB of BF16, not SmolLM2's 270.
  await widget.getByRole('button', { name: /^Load model · [\d.]+ MB$/ }).click();
  for (const example of card.examplePrompts) {
    await expect(widget.getByRole('group', { name: 'Example prompts' }).getByRole('button', { name: example })).toBeVisible();
  }

  const question = card.examplePrompts[0];
  await askAndStop(page, widget, question);
  const stats = widget.getByRole('status');
  await expect(stats).toContainText('Endedstopped');
  // The chat template was applied, with the Space's system prompt rather than SmolLM2's default
  // one: the question alone is 7 tokens.
  const expected = chatPromptTokens(question);
  expect(expected).toBeGreaterThan(50);
  await expect(stats).toContainText(`Prompt${expected} tokens`);
  expect(asked).toContain(`GET /api/models/${SMOL_CHAT_MODEL}/revision/main`);
  expect(asked.some((a) => a.startsWith('GET /') && a.endsWith('/model.safetensors'))).toBe(true);

  // The same Space embedded on another site: it loads the cached model and reports to the page.
  await page.goto(`${SITE}/embed.html?${new URLSearchParams({ embed: `/embed/spaces/${SPACE}` })}`);
  const embedded = page.frameLocator('#embed').getByRole('region', { name: 'Smol Chat' });
  await embedded.getByRole('button', { name: 'Load model · cached' }).click();
  await askAndStop(page, embedded, card.examplePrompts[2]);
  const events = await page.evaluate(() => (window as unknown as { embedEvents: { origin: string; data: { type: string; text?: string; reason?: string } }[] }).embedEvents);
  expect(events.every((e) => e.origin === APP)).toBe(true);
  expect(events[0].data).toEqual({ type: 'pocket-hub:ready', version: 1, kind: 'space', repo: SPACE });
  const done = events.filter((e) => e.data.type === 'pocket-hub:done');
  expect(done).toHaveLength(1);
  expect(done[0].data.reason).toBe('abort');
  expect(events.some((e) => e.data.type === 'pocket-hub:error')).toBe(false);
});
