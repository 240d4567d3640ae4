import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { chooseGreedy, GREEDY_CONTINUATION, typeWhenLoaded } from './chatHelpers.ts';

const STORY = `Once upon a time${GREEDY_CONTINUATION}`;

test('a chat is saved after its reply, reopens after a reload, and is renamed, exported and deleted', async ({ page }) => {
  await page.goto('/chat');
  const list = page.getByRole('navigation', { name: 'Conversations' });
  await expect(list).toContainText('No saved conversations yet');

  // stories260K has no chat template, so this is a completion; the history works the same.
  await chooseGreedy(page, 24);
  await typeWhenLoaded(page, 'Once upon a time');
  await page.getByLabel('Message').press('Enter');
  await expect(page.getByRole('log')).toContainText(STORY);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Generation stats' })).toContainText(/Context:?\s*\d+ of 2048 tokens \(\d+%\)/);
  const saved = list.getByRole('button', { name: /^Once upon a time/ });
  await expect(saved).toHaveAttribute('aria-current', 'true');

  await page.reload();
  await expect(page.getByText('Nothing here yet')).toBeVisible();
  await expect(saved).not.toHaveAttribute('aria-current');
  await saved.click();
  await expect(page.getByRole('log')).toContainText(STORY);
  await expect(saved).toHaveAttribute('aria-current', 'true');
  // Its settings came back with it.
  await page.getByText('Sampling settings').click();
  await expect(page.getByLabel('Temperature')).toHaveValue('0');
  await expect(page.getByLabel('Max new tokens')).toHaveValue('24');

  await list.getByRole('button', { name: 'Rename' }).click();
  const title = list.getByLabel('Conversation title');
  await expect(title).toBeFocused();
  await expect(title).toHaveValue('Once upon a time');
  await title.fill('Lily’s story');
  await title.press('Enter');
  const renamed = list.getByRole('button', { name: /^Lily’s story/ });
  await expect(renamed).toBeVisible();
  await page.reload();
  await expect(renamed).toBeVisible();

  const download = page.waitForEvent('download');
  await list.getByRole('button', { name: 'Export', exact: true }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('pocket-hub-chat-lily-s-story.json');
  const exported = JSON.parse(await readFile(await file.path(), 'utf8'));
  expect(exported).toMatchObject({ format: 'pocket-hub-conversations', version: 1 });
  expect(exported.conversations).toHaveLength(1);
  const [conversation] = exported.conversations;
  expect(conversation).toMatchObject({
    title: 'Lily’s story',
    model: 'pocket-hub/stories260K-GGUF',
    mode: 'completion',
    systemPrompt: '',
    sampling: { temperature: '0', maxTokens: '24' },
  });
  expect(conversation.messages).toHaveLength(2);
  expect(conversation.messages[0]).toEqual({ role: 'user', content: 'Once upon a time' });
  expect(conversation.messages[1].role).toBe('assistant');
  expect(conversation.messages[1].content.startsWith(GREEDY_CONTINUATION)).toBe(true);

  await list.getByRole('button', { name: 'Delete', exact: true }).click();
  await list.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(list).toContainText('No saved conversations yet');
  await page.reload();
  await expect(list).toContainText('No saved conversations yet');
});

/** Writes conversations straight into the app's IndexedDB store, as idb-keyval lays it out. */
async function seedConversations(page: Page, conversations: object[]) {
  await page.evaluate(async (records) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('pocket-hub-chats');
      request.onupgradeneeded = () => request.result.createObjectStore('conversations');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const tx = db.transaction('conversations', 'readwrite');
    for (const record of records as { id: string }[]) tx.objectStore('conversations').put(record, record.id);
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }, conversations);
}

async function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

test('at 360×640 in dark mode nothing scrolls sideways, and the list folds behind a toggle', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 360, height: 640 });
  await page.goto('/chat');
  const longWord = 'Supercalifragilisticexpialidocious'.repeat(6);
  const now = Date.now();
  await seedConversations(page, [
    {
      id: 'seeded-chat',
      title: `A chat with a very long title: ${longWord}`,
      model: 'pocket-hub/stories260K-GGUF',
      mode: 'chat',
      createdAt: now,
      updatedAt: now,
      systemPrompt: '',
      messages: [
        { role: 'user', content: `Show me code. ${longWord}` },
        {
          role: 'assistant',
          content: `Here:\n\n\`\`\`python\nprint("${longWord}")\n\`\`\`\n\n| a | b |\n|---|---|\n| ${longWord} | ${longWord} |\n\n**${longWord}**`,
          reason: 'eos',
        },
      ],
      sampling: { temperature: '0.8', topK: '40', topP: '0.95', repetitionPenalty: '1.1', maxTokens: '256', seed: '' },
    },
  ]);
  await page.reload();

  const toggle = page.getByRole('button', { name: /^Conversations/ });
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await expect(toggle).toHaveText('Conversations (1)');
  const open = page.getByRole('button', { name: /^A chat with a very long title/ });
  await expect(open).toBeHidden();
  expect(await sidewaysOverflow(page)).toBe(0);

  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await expect(open).toBeVisible();
  expect(await sidewaysOverflow(page)).toBe(0);

  await open.click();
  // Opening folds the list again, and the reply arrives as markdown from the lazily loaded renderer.
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  const log = page.getByRole('log');
  await expect(log.getByRole('button', { name: 'Copy code' })).toBeVisible();
  await expect(log.locator('strong')).toHaveText(longWord);
  expect(await sidewaysOverflow(page)).toBe(0);

  // The system setting is dark, so the transcript sits on the dark surface colour.
  expect(await log.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(24, 27, 33)');
});
