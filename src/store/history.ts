// Saved conversations: the list, saving the open chat after each turn, and opening, renaming,
// deleting and exporting saved ones. IndexedDB can be missing or refuse (a private window, a
// full disk): the chat then works as before, and the list says why nothing is kept.
import { newChat, showConversation } from './actions.ts';
import {
  cleanTitle,
  defaultTitle,
  exportDocument,
  exportFileName,
  summarize,
  toMessages,
  withSummary,
  type ActiveConversation,
  type Conversation,
} from './conversationRecord.ts';
import * as saved from './conversations.ts';
import { useHub, type HubState } from './store.ts';

function historyFailed(err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  useHub.setState((s) => ({ history: { ...s.history, status: 'failed', error } }));
}

function listed(change: (list: HubState['history']['conversations']) => HubState['history']['conversations']): void {
  useHub.setState((s) => ({ history: { ...s.history, conversations: change(s.history.conversations) } }));
}

export async function loadHistory(): Promise<void> {
  try {
    const conversations = (await saved.listConversations()).map(summarize);
    useHub.setState({ history: { status: 'ready', conversations } });
  } catch (err) {
    historyFailed(err);
  }
}

/**
 * Saves the open chat. Its first save makes it a conversation, titled after its first user
 * turn, for the model loaded. Nothing is saved for an empty transcript.
 */
export async function saveConversation(): Promise<void> {
  const s = useHub.getState();
  const first = s.entries[0];
  if (!first || s.modelUrl === undefined) return;
  const now = Date.now();
  let active: ActiveConversation | undefined = s.conversation;
  if (!active) {
    // Set before the write so that a second save, started while this one runs, updates the same record.
    active = { id: saved.newConversationId(), title: defaultTitle(first.user), model: s.modelUrl, createdAt: now };
    useHub.setState({ conversation: active });
  }
  const record: Conversation = {
    ...active,
    mode: first.kind,
    updatedAt: now,
    systemPrompt: s.systemPrompt,
    messages: toMessages(s.entries),
    sampling: s.sampling,
  };
  try {
    await saved.putConversation(record);
    listed((list) => withSummary(list, summarize(record)));
  } catch (err) {
    historyFailed(err);
  }
}

// A turn ends when the generation goes back to idle (a reply finished, was stopped, or failed);
// saved from here rather than from the chat actions so that a reply that ends after the user
// has left the chat page is kept too.
useHub.subscribe((next, prev) => {
  if (prev.generation.status !== 'idle' && next.generation.status === 'idle') void saveConversation();
});

/** Shows a saved conversation; false when it is gone (deleted in another tab) or a reply is streaming. */
export async function openConversation(id: string): Promise<boolean> {
  let record: Conversation | undefined;
  try {
    record = await saved.getConversation(id);
  } catch (err) {
    historyFailed(err);
    return false;
  }
  if (!record) {
    listed((list) => list.filter((c) => c.id !== id));
    return false;
  }
  return showConversation(record);
}

/** A blank title keeps the old one. */
export async function renameConversation(id: string, title: string): Promise<void> {
  const clean = cleanTitle(title);
  if (clean === undefined) return;
  try {
    const renamed = await saved.renameConversation(id, clean);
    if (!renamed) return;
    listed((list) => withSummary(list, summarize(renamed)));
    const { conversation } = useHub.getState();
    if (conversation?.id === id) useHub.setState({ conversation: { ...conversation, title: clean } });
  } catch (err) {
    historyFailed(err);
  }
}

/** Deleting the open conversation leaves an empty new chat in its place. */
export async function deleteConversation(id: string): Promise<void> {
  try {
    await saved.deleteConversation(id);
  } catch (err) {
    historyFailed(err);
    return;
  }
  listed((list) => list.filter((c) => c.id !== id));
  if (useHub.getState().conversation?.id === id) newChat();
}

/** The export file for one conversation, or for all of them when `id` is not given. */
export async function exportConversations(id?: string): Promise<{ fileName: string; text: string } | undefined> {
  try {
    const records = id === undefined ? await saved.listConversations() : [await saved.getConversation(id)].filter((c) => c !== undefined);
    if (records.length === 0) return undefined;
    const now = Date.now();
    return { fileName: exportFileName(records, now), text: exportDocument(records, now) };
  } catch (err) {
    historyFailed(err);
    return undefined;
  }
}
