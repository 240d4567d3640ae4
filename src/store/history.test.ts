import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { Conversation } from './conversationRecord.ts';
import { deleteConversation, exportConversations, loadHistory, openConversation, renameConversation } from './history.ts';
import { defaultSampling } from './sampling.ts';
import { initialChat, initialHistory, useHub, type Entry } from './store.ts';

// IndexedDB is the browser test's (conversations.browser.test.ts); here a Map stands in, and can be told to fail.
const db = vi.hoisted(() => ({ records: new Map<string, Conversation>(), failWith: undefined as Error | undefined }));

vi.mock('./conversations.ts', () => {
  const check = () => {
    if (db.failWith) throw db.failWith;
  };
  return {
    newConversationId: () => `id${db.records.size}`,
    putConversation: async (c: Conversation) => {
      check();
      db.records.set(c.id, structuredClone(c));
    },
    getConversation: async (id: string) => {
      check();
      return structuredClone(db.records.get(id));
    },
    deleteConversation: async (id: string) => {
      check();
      db.records.delete(id);
    },
    listConversations: async () => {
      check();
      return [...db.records.values()].sort((a, b) => b.updatedAt - a.updatedAt);
    },
    renameConversation: async (id: string, title: string) => {
      check();
      const saved = db.records.get(id);
      if (saved) db.records.set(id, { ...saved, title });
      return saved && { ...saved, title };
    },
  };
});

// Nothing here generates; the chat actions history.ts calls need no engine.
vi.mock('../client/engineClient.ts', () => ({}));

function done(id: number, user: string, reply: string): Entry {
  return { id, kind: 'completion', user, reply, status: 'done', reason: 'length' };
}

/** What the chat actions do at the end of a reply: the generation goes back to idle. */
async function finishTurn(entries: Entry[]) {
  useHub.setState({ entries, generation: { status: 'generating', runId: 1, entryId: entries.at(-1)!.id } });
  useHub.setState({ generation: { status: 'idle' } });
  await vi.waitFor(() => expect(useHub.getState().history.conversations.some((c) => c.id === useHub.getState().conversation?.id)).toBe(true));
}

beforeEach(() => {
  db.records.clear();
  db.failWith = undefined;
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(1000);
  useHub.setState({ ...initialChat, ...initialHistory, modelUrl: 'pocket-hub/stories260K-GGUF', sampling: defaultSampling });
});

afterEach(() => {
  vi.useRealTimers();
});

test('the first finished turn saves a conversation titled after it, and later turns update the same one', async () => {
  await loadHistory();
  expect(useHub.getState().history).toEqual({ status: 'ready', conversations: [] });
  await finishTurn([done(1, 'Once upon a time', ', there was a girl')]);
  const [id] = db.records.keys();
  expect(db.records.get(id)).toEqual({
    id,
    title: 'Once upon a time',
    model: 'pocket-hub/stories260K-GGUF',
    mode: 'completion',
    createdAt: 1000,
    updatedAt: 1000,
    systemPrompt: '',
    messages: [
      { role: 'user', content: 'Once upon a time' },
      { role: 'assistant', content: ', there was a girl', reason: 'length' },
    ],
    sampling: defaultSampling,
  });

  vi.setSystemTime(2000);
  await finishTurn([done(1, 'Once upon a time', ', there was a girl'), done(2, 'The dog', ' ran')]);
  await vi.waitFor(() => expect(db.records.get(id)?.messages).toHaveLength(4));
  expect(db.records.size).toBe(1);
  expect(db.records.get(id)).toMatchObject({ createdAt: 1000, updatedAt: 2000, title: 'Once upon a time' });
  expect(useHub.getState().history.conversations).toEqual([{ id, title: 'Once upon a time', model: 'pocket-hub/stories260K-GGUF', updatedAt: 2000 }]);
});

test('a reply that ends with nothing in the transcript (another model opened) saves nothing', async () => {
  useHub.setState({ generation: { status: 'generating', runId: 1, entryId: 1 } });
  useHub.setState({ generation: { status: 'idle' } });
  await Promise.resolve();
  expect(db.records.size).toBe(0);
  expect(useHub.getState().conversation).toBeUndefined();
});

test('renaming changes the list and the open conversation, and a blank title is ignored', async () => {
  await finishTurn([done(1, 'Once', ' upon')]);
  const id = useHub.getState().conversation!.id;
  await renameConversation(id, '  Lily \n story ');
  expect(db.records.get(id)?.title).toBe('Lily story');
  expect(useHub.getState().conversation?.title).toBe('Lily story');
  expect(useHub.getState().history.conversations[0].title).toBe('Lily story');
  await renameConversation(id, '   ');
  expect(db.records.get(id)?.title).toBe('Lily story');
});

test('deleting the open conversation leaves a new chat; opening one deleted elsewhere drops it from the list', async () => {
  await finishTurn([done(1, 'Once', ' upon')]);
  const id = useHub.getState().conversation!.id;
  await deleteConversation(id);
  expect(db.records.size).toBe(0);
  expect(useHub.getState()).toMatchObject({ entries: [], conversation: undefined });
  expect(useHub.getState().history.conversations).toEqual([]);

  useHub.setState({ history: { status: 'ready', conversations: [{ id: 'gone', title: 'Gone', model: 'm', updatedAt: 1 }] } });
  expect(await openConversation('gone')).toBe(false);
  expect(useHub.getState().history.conversations).toEqual([]);
});

test('opening a saved conversation shows its turns and settings', async () => {
  await finishTurn([done(1, 'Once', ' upon')]);
  const id = useHub.getState().conversation!.id;
  useHub.setState({ ...initialChat, sampling: { ...defaultSampling, temperature: '1.5' } });
  expect(await openConversation(id)).toBe(true);
  expect(useHub.getState().entries).toMatchObject([{ user: 'Once', reply: ' upon', status: 'done' }]);
  expect(useHub.getState().sampling.temperature).toBe(defaultSampling.temperature);
});

test('exports one conversation or all of them', async () => {
  await finishTurn([done(1, 'First story', ' A')]);
  useHub.setState({ ...initialChat });
  vi.setSystemTime(5000);
  await finishTurn([done(2, 'Second story', ' B')]);
  const second = useHub.getState().conversation!.id;

  const one = await exportConversations(second);
  expect(one?.fileName).toBe('pocket-hub-chat-second-story.json');
  expect(JSON.parse(one!.text).conversations.map((c: Conversation) => c.title)).toEqual(['Second story']);
  const all = await exportConversations();
  expect(all?.fileName).toBe('pocket-hub-chats-1970-01-01.json');
  expect(JSON.parse(all!.text).conversations.map((c: Conversation) => c.title)).toEqual(['Second story', 'First story']);
  expect(await exportConversations('missing')).toBeUndefined();
});

test('storage that refuses marks the list failed and leaves the chat as it is', async () => {
  db.failWith = new DOMException('The user denied permission to access the database.', 'InvalidStateError');
  await loadHistory();
  expect(useHub.getState().history).toMatchObject({ status: 'failed', error: db.failWith });
  useHub.setState({ entries: [done(1, 'Once', ' upon')], generation: { status: 'generating', runId: 1, entryId: 1 } });
  useHub.setState({ generation: { status: 'idle' } });
  await vi.waitFor(() => expect(useHub.getState().conversation).toBeDefined());
  expect(useHub.getState().entries).toHaveLength(1);
  expect(db.records.size).toBe(0);
});
