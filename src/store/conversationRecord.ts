// A conversation as it is saved and exported, and the pure steps between it and the live
// transcript: turning exchanges into messages and back, its default title, rewinding for
// Edit and Regenerate, and the export file.
import type { FinishReason } from '../protocol/index.ts';
import { defaultSampling, type SamplingForm } from './sampling.ts';
import type { Entry } from './store.ts';

export interface ConversationMessage {
  role: 'user' | 'assistant';
  content: string;
  /** Why an assistant reply ended. */
  reason?: FinishReason;
}

/** One saved conversation. Times are milliseconds since the epoch. */
export interface Conversation {
  id: string;
  title: string;
  /** What `?model=` named when it was held: a Hub repo id or a model address. */
  model: string;
  /**
   * 'chat': user and assistant turns through the model's chat template. 'completion': each
   * user text was continued as it stands. Kept so the transcript shows right before the model loads.
   */
  mode: Entry['kind'];
  createdAt: number;
  /** When a turn last ended. Renaming leaves it alone, so the list keeps its order. */
  updatedAt: number;
  systemPrompt: string;
  /** A user message without an assistant message after it is an exchange whose reply failed. */
  messages: ConversationMessage[];
  sampling: SamplingForm;
}

export type ConversationSummary = Pick<Conversation, 'id' | 'title' | 'model' | 'updatedAt'>;

/** The conversation that the transcript shows, once it has been saved. */
export type ActiveConversation = Pick<Conversation, 'id' | 'title' | 'model' | 'createdAt'>;

const TITLE_LENGTH = 48;

/** The start of the first user message, on one line, cut at a word where one is near the limit. */
export function defaultTitle(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line === '') return 'Untitled';
  if (line.length <= TITLE_LENGTH) return line;
  const cut = line.slice(0, TITLE_LENGTH);
  const space = cut.lastIndexOf(' ');
  // A word longer than half the title (a URL, a code line) is cut through instead.
  return `${(space > TITLE_LENGTH / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** A typed title, or undefined when it is blank and the old one should stay. */
export function cleanTitle(text: string): string | undefined {
  const line = text.replace(/\s+/g, ' ').trim();
  return line === '' ? undefined : line;
}

/** Finished replies are kept; a failed or unfinished one leaves its user message alone. */
export function toMessages(entries: readonly Entry[]): ConversationMessage[] {
  return entries.flatMap((e): ConversationMessage[] => {
    const user: ConversationMessage = { role: 'user', content: e.user };
    if (e.status !== 'done') return [user];
    return [user, { role: 'assistant', content: e.reply, ...(e.reason ? { reason: e.reason } : {}) }];
  });
}

/** The transcript's exchanges, numbered by `nextId`. An assistant message with no user message before it is dropped. */
export function toEntries(messages: readonly ConversationMessage[], kind: Entry['kind'], nextId: () => number): Entry[] {
  const entries: Entry[] = [];
  for (const m of messages) {
    const last = entries.at(-1);
    if (m.role === 'user') {
      entries.push({ id: nextId(), kind, user: m.content, reply: '', status: 'failed' });
    } else if (last && last.status === 'failed') {
      entries[entries.length - 1] = { ...last, reply: m.content, status: 'done', reason: m.reason };
    }
  }
  return entries;
}

/** A saved conversation's sampling form, with fields added since it was saved at their defaults. */
export function savedSampling(c: Pick<Conversation, 'sampling'>): SamplingForm {
  return { ...defaultSampling, ...c.sampling };
}

/**
 * The transcript ready to answer `target` again: every exchange after it dropped, its reply
 * cleared, and its user text replaced by `user` when one is given. Undefined when there is no such entry.
 */
export function rewind(entries: readonly Entry[], target: number, user?: string): Entry[] | undefined {
  const index = entries.findIndex((e) => e.id === target);
  if (index < 0) return undefined;
  const entry = entries[index];
  return [...entries.slice(0, index), { ...entry, user: user ?? entry.user, reply: '', status: 'streaming', reason: undefined }];
}

export function summarize(c: Conversation): ConversationSummary {
  return { id: c.id, title: c.title, model: c.model, updatedAt: c.updatedAt };
}

/** The list with `c` put in place of its old summary, newest first. */
export function withSummary(list: readonly ConversationSummary[], c: ConversationSummary): ConversationSummary[] {
  return newestFirst([...list.filter((s) => s.id !== c.id), c]);
}

export function newestFirst<T extends Pick<Conversation, 'updatedAt'>>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => b.updatedAt - a.updatedAt);
}

export const EXPORT_FORMAT = 'pocket-hub-conversations';

/**
 * The export file: a versioned wrapper, so a later import can tell it apart from other JSON,
 * around the conversations as saved, with times as ISO strings for people reading the file.
 */
export function exportDocument(conversations: readonly Conversation[], now: number): string {
  const document = {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: new Date(now).toISOString(),
    conversations: conversations.map((c) => ({
      ...c,
      createdAt: new Date(c.createdAt).toISOString(),
      updatedAt: new Date(c.updatedAt).toISOString(),
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** `chat-<title>.json` for one conversation, `chats-<date>.json` for several. */
export function exportFileName(conversations: readonly Pick<Conversation, 'title'>[], now: number): string {
  if (conversations.length !== 1) return `pocket-hub-chats-${new Date(now).toISOString().slice(0, 10)}.json`;
  const slug = conversations[0].title
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `pocket-hub-chat-${slug || 'untitled'}.json`;
}
