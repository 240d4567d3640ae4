// The conversation store against Chromium's real IndexedDB: records survive a new connection,
// list newest first, rename and delete, and the app's store lives in its own database.
import { createStore } from 'idb-keyval';
import { expect, test } from 'vitest';
import type { Conversation } from './conversationRecord.ts';
import {
  chatStore,
  deleteConversation,
  getConversation,
  listConversations,
  newConversationId,
  putConversation,
  renameConversation,
} from './conversations.ts';
import { defaultSampling } from './sampling.ts';

let databases = 0;

/** A fresh database per test, and a second handle on it that opens its own connection. */
function freshStore() {
  const name = `pocket-hub-chats-test-${Date.now()}-${databases++}`;
  return { store: createStore(name, 'conversations'), reopen: () => createStore(name, 'conversations') };
}

function conversation(id: string, updatedAt: number, title = `Chat ${id}`): Conversation {
  return {
    id,
    title,
    model: 'pocket-hub/stories260K-GGUF',
    mode: 'completion',
    createdAt: updatedAt - 10,
    updatedAt,
    systemPrompt: '',
    messages: [
      { role: 'user', content: 'Once upon a time' },
      { role: 'assistant', content: ', there was a little girl named Lily.', reason: 'length' },
    ],
    sampling: { ...defaultSampling, temperature: '0' },
  };
}

test('a saved conversation reads back whole through a new connection', async () => {
  const { store, reopen } = freshStore();
  const saved = conversation('a', 100);
  await putConversation(saved, store);
  expect(await getConversation('a', reopen())).toEqual(saved);
  expect(await getConversation('nope', reopen())).toBeUndefined();
});

test('the list is newest first, and saving again replaces the record', async () => {
  const { store } = freshStore();
  await putConversation(conversation('old', 100), store);
  await putConversation(conversation('new', 300), store);
  await putConversation(conversation('mid', 200), store);
  expect((await listConversations(store)).map((c) => c.id)).toEqual(['new', 'mid', 'old']);

  await putConversation({ ...conversation('old', 400), messages: [] }, store);
  const list = await listConversations(store);
  expect(list.map((c) => c.id)).toEqual(['old', 'new', 'mid']);
  expect(list[0].messages).toEqual([]);
});

test('rename keeps everything else, and a missing conversation is reported as such', async () => {
  const { store } = freshStore();
  const saved = conversation('a', 100);
  await putConversation(saved, store);
  expect(await renameConversation('a', 'Lily', store)).toEqual({ ...saved, title: 'Lily' });
  expect(await getConversation('a', store)).toEqual({ ...saved, title: 'Lily' });
  expect(await renameConversation('nope', 'x', store)).toBeUndefined();
  expect(await listConversations(store)).toHaveLength(1);
});

test('delete removes only its conversation', async () => {
  const { store } = freshStore();
  await putConversation(conversation('a', 100), store);
  await putConversation(conversation('b', 200), store);
  await deleteConversation('a', store);
  expect((await listConversations(store)).map((c) => c.id)).toEqual(['b']);
  // Deleting what is not there is not an error: another tab may have deleted it first.
  await deleteConversation('a', store);
});

test("the app's conversations live in the pocket-hub-chats database, keyed by id", async () => {
  const id = newConversationId();
  await putConversation(conversation(id, 100), chatStore);
  try {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('pocket-hub-chats');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const record = await new Promise<unknown>((resolve, reject) => {
      const request = db.transaction('conversations').objectStore('conversations').get(id);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    db.close();
    expect(record).toMatchObject({ id, title: `Chat ${id}` });
  } finally {
    await deleteConversation(id, chatStore);
  }
});

test('ids are 32 hex digits and do not repeat', () => {
  const ids = new Set(Array.from({ length: 100 }, newConversationId));
  expect(ids.size).toBe(100);
  for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
});
