import { describe, expect, test } from 'vitest';
import {
  cleanTitle,
  defaultTitle,
  EXPORT_FORMAT,
  exportDocument,
  exportFileName,
  rewind,
  savedSampling,
  toEntries,
  toMessages,
  withSummary,
  type Conversation,
} from './conversationRecord.ts';
import { defaultSampling } from './sampling.ts';
import type { Entry } from './store.ts';

function entry(id: number, user: string, reply: string, status: Entry['status'] = 'done', kind: Entry['kind'] = 'chat'): Entry {
  return { id, kind, user, reply, status, ...(status === 'done' ? { reason: 'eos' as const } : {}) };
}

describe('defaultTitle', () => {
  test('a short first message is the title, on one line', () => {
    expect(defaultTitle('  Once upon a time\n\nthere   was ')).toBe('Once upon a time there was');
  });

  test('a long one is cut at the last word that fits, with an ellipsis', () => {
    const title = defaultTitle('Write a haiku about the sea at dawn, when the fishing boats are leaving the harbour');
    expect(title).toBe('Write a haiku about the sea at dawn, when the…');
    expect(title.length).toBeLessThanOrEqual(49);
  });

  test('a single long word is cut through', () => {
    const url = `https://example.com/${'a'.repeat(80)}`;
    expect(defaultTitle(`${url} explain`)).toBe(`${url.slice(0, 48)}…`);
  });

  test('blank text gets a placeholder, and a blank rename keeps the old title', () => {
    expect(defaultTitle(' \n ')).toBe('Untitled');
    expect(cleanTitle('  \t')).toBeUndefined();
    expect(cleanTitle('  My\nstory ')).toBe('My story');
  });
});

describe('messages and entries', () => {
  test('finished exchanges become user and assistant messages; a failed one keeps only its user message', () => {
    const entries = [entry(1, 'Hi', 'Hello!'), entry(2, 'Tell me more', '', 'failed'), entry(3, 'Again', 'Sure.')];
    expect(toMessages(entries)).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!', reason: 'eos' },
      { role: 'user', content: 'Tell me more' },
      { role: 'user', content: 'Again' },
      { role: 'assistant', content: 'Sure.', reason: 'eos' },
    ]);
  });

  test('messages read back as the same exchanges, with fresh ids', () => {
    const entries = [entry(1, 'Once', ' upon a time', 'done', 'completion'), entry(2, 'The dog', '', 'failed', 'completion')];
    let id = 40;
    const back = toEntries(toMessages(entries), 'completion', () => ++id);
    expect(back).toEqual([
      { id: 41, kind: 'completion', user: 'Once', reply: ' upon a time', status: 'done', reason: 'eos' },
      { id: 42, kind: 'completion', user: 'The dog', reply: '', status: 'failed' },
    ]);
  });

  test('an assistant message with no user message before it is dropped', () => {
    const back = toEntries(
      [
        { role: 'assistant', content: 'orphan' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'assistant', content: 'twice' },
      ],
      'chat',
      () => 1,
    );
    expect(back).toEqual([{ id: 1, kind: 'chat', user: 'Hi', reply: 'Hello', status: 'done', reason: undefined }]);
  });

  test('sampling fields missing from an older save take their defaults', () => {
    const { seed: _seed, ...older } = { ...defaultSampling, temperature: '0' };
    expect(savedSampling({ sampling: older as Conversation['sampling'] })).toEqual({ ...defaultSampling, temperature: '0' });
  });
});

describe('rewind', () => {
  const entries = [entry(1, 'A', 'a'), entry(2, 'B', 'b'), entry(3, 'C', 'c')];

  test('editing a turn drops every exchange after it and clears its reply', () => {
    expect(rewind(entries, 2, 'B, edited')).toEqual([entries[0], { id: 2, kind: 'chat', user: 'B, edited', reply: '', status: 'streaming', reason: undefined }]);
  });

  test('regenerating the last turn keeps its text', () => {
    expect(rewind(entries, 3)).toEqual([entries[0], entries[1], { ...entries[2], reply: '', status: 'streaming', reason: undefined }]);
  });

  test('an unknown entry changes nothing', () => {
    expect(rewind(entries, 9)).toBeUndefined();
  });
});

test('the list puts a changed conversation in place of its old summary, newest first', () => {
  const list = [
    { id: 'b', title: 'B', model: 'm', updatedAt: 20 },
    { id: 'a', title: 'A', model: 'm', updatedAt: 10 },
  ];
  expect(withSummary(list, { id: 'a', title: 'A2', model: 'm', updatedAt: 30 }).map((c) => c.title)).toEqual(['A2', 'B']);
  expect(withSummary(list, { id: 'c', title: 'C', model: 'm', updatedAt: 15 }).map((c) => c.id)).toEqual(['b', 'c', 'a']);
});

describe('export', () => {
  const conversation: Conversation = {
    id: '0f',
    title: 'Lily’s story: part 1!',
    model: 'pocket-hub/stories260K-GGUF',
    mode: 'completion',
    createdAt: Date.UTC(2025, 0, 2, 3, 4, 5),
    updatedAt: Date.UTC(2025, 0, 2, 3, 5, 0),
    systemPrompt: '',
    messages: [
      { role: 'user', content: 'Once upon a time' },
      { role: 'assistant', content: ', there was a little girl named Lily.', reason: 'length' },
    ],
    sampling: { ...defaultSampling, temperature: '0' },
  };
  const now = Date.UTC(2025, 5, 7, 8, 9, 10);

  test('the file wraps the conversations with a format, a version and ISO times', () => {
    const parsed = JSON.parse(exportDocument([conversation], now));
    expect(parsed).toEqual({
      format: EXPORT_FORMAT,
      version: 1,
      exportedAt: '2025-06-07T08:09:10.000Z',
      conversations: [{ ...conversation, createdAt: '2025-01-02T03:04:05.000Z', updatedAt: '2025-01-02T03:05:00.000Z' }],
    });
  });

  test('one conversation is named after its title, several after the day', () => {
    expect(exportFileName([conversation], now)).toBe('pocket-hub-chat-lily-s-story-part-1.json');
    expect(exportFileName([{ title: '???' }], now)).toBe('pocket-hub-chat-untitled.json');
    expect(exportFileName([conversation, conversation], now)).toBe('pocket-hub-chats-2025-06-07.json');
  });
});
