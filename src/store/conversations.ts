// Saved conversations in IndexedDB, one record per conversation keyed by its id, in a database
// of their own so that clearing chats never touches the weight store.
import { createStore, del, get, set, values, type UseStore } from 'idb-keyval';
import { newestFirst, type Conversation } from './conversationRecord.ts';

/** idb-keyval opens the database on first use, so creating it here costs nothing until then. */
export const chatStore: UseStore = createStore('pocket-hub-chats', 'conversations');

/** 128 random bits as hex: unique without a counter, and crypto.randomUUID needs a secure context. */
export function newConversationId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function putConversation(c: Conversation, store = chatStore): Promise<void> {
  return set(c.id, c, store);
}

export function getConversation(id: string, store = chatStore): Promise<Conversation | undefined> {
  return get<Conversation>(id, store);
}

export function deleteConversation(id: string, store = chatStore): Promise<void> {
  return del(id, store);
}

/** Every saved conversation, newest first. */
export async function listConversations(store = chatStore): Promise<Conversation[]> {
  return newestFirst(await values<Conversation>(store));
}

/** Gives a saved conversation a new title; undefined when there is no such conversation. */
export async function renameConversation(id: string, title: string, store = chatStore): Promise<Conversation | undefined> {
  const saved = await getConversation(id, store);
  if (!saved) return undefined;
  const renamed = { ...saved, title };
  await putConversation(renamed, store);
  return renamed;
}
