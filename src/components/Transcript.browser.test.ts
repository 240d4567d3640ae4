// The transcript in real Chromium: markdown for chat replies only, and the keyboard path
// through Edit and Regenerate. (A .ts file with createElement: the browser project only
// picks up *.browser.test.ts.)
import { act, createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeAll, expect, test, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { Transcript, type TranscriptEntry, type TranscriptProps } from './Transcript.tsx';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

// The renderer is lazy; loaded up front so that a render suspends only briefly.
beforeAll(() => import('./Markdown.tsx'));

function props(entries: TranscriptEntry[], change: Partial<TranscriptProps> = {}): TranscriptProps {
  return { entries, busy: false, emptyText: 'Nothing here yet.', canAnswer: true, onEdit: vi.fn(), onRegenerate: vi.fn(), ...change };
}

async function render(p: TranscriptProps): Promise<{ log: HTMLElement; root: Root }> {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  await rerender(root, p);
  cleanups.push(() => {
    act(() => root.unmount());
    container.remove();
  });
  return { log: container.querySelector<HTMLElement>('[role="log"]')!, root };
}

/**
 * Renders, then lets the lazy renderer resolve inside a second act(): act() commits only when
 * it ends, so the suspension happens after the first. The pause only keeps React's act()
 * warning quiet; the assertions wait for the markdown themselves.
 */
async function rerender(root: Root, p: TranscriptProps) {
  await act(async () => root.render(createElement(Transcript, p)));
  await act(() => new Promise((resolve) => setTimeout(resolve, 100)));
}

// Real input through the browser; act() makes React apply the updates it causes before the test looks.
const input = {
  click: (el: Element) => act(() => userEvent.click(el)),
  fill: (el: Element, text: string) => act(() => userEvent.fill(el, text)),
  keyboard: (keys: string) => act(() => userEvent.keyboard(keys)),
};

function buttons(el: HTMLElement, name: string): HTMLButtonElement[] {
  return [...el.querySelectorAll('button')].filter((b) => b.textContent === name);
}

const chat = (id: number, user: string, reply: string, status: TranscriptEntry['status'] = 'done'): TranscriptEntry => ({ id, kind: 'chat', user, reply, status });

test('a chat reply is sanitized markdown with highlighted code; the user text stays as typed', async () => {
  const reply = 'Try **this**:\n\n```python\nprint("hi")\n```\n\n<img src=x onerror="window.pwned = 1">';
  const { log } = await render(props([chat(1, 'Use **bold** and <b>tags</b>', reply)]));
  await vi.waitFor(() => expect(log.querySelector('.markdown-body')).not.toBeNull());

  const user = log.querySelector('.turn.user .entry-text')!;
  expect(user.textContent).toBe('Use **bold** and <b>tags</b>');
  expect(user.querySelector('b, strong')).toBeNull();

  const markdown = log.querySelector('.turn.assistant .markdown-body')!;
  expect(markdown.querySelector('strong')?.textContent).toBe('this');
  expect(markdown.querySelector('pre code.hljs .hljs-built_in')?.textContent).toBe('print');
  expect(markdown.querySelector('button[aria-label="Copy code"]')).not.toBeNull();
  expect(markdown.querySelector('[onerror]')).toBeNull();
  expect((window as { pwned?: number }).pwned).toBeUndefined();
});

test('a completion reads as one run of text, with no markdown', async () => {
  const { log } = await render(props([{ id: 1, kind: 'completion', user: 'Once upon a time', reply: ', there was **Lily**.', status: 'done' }]));
  expect(log.querySelector('.entry-text')?.textContent).toBe('Once upon a time, there was **Lily**.');
  expect(log.querySelector('.markdown-body')).toBeNull();
});

test('a streaming reply re-renders its markdown as it grows, keeping the blocks already there', async () => {
  const p = props([chat(1, 'Hi', '# Title\n\nOne', 'streaming')], { busy: true, canAnswer: false });
  const { log, root } = await render(p);
  await vi.waitFor(() => expect(log.querySelector('h1')).not.toBeNull());
  const heading = log.querySelector('h1');
  await rerender(root, { ...p, entries: [chat(1, 'Hi', '# Title\n\nOne two', 'streaming')] });
  await vi.waitFor(() => expect(log.querySelector('.markdown-body p')?.textContent).toBe('One two'));
  // The same element, updated in place: the heading does not blink out and back.
  expect(log.querySelector('h1')).toBe(heading);
  expect(log.getAttribute('aria-busy')).toBe('true');
  expect(buttons(log, 'Edit')).toHaveLength(0);
});

test('Edit: Escape cancels and gives focus back to Edit; Enter saves the new text', async () => {
  const onEdit = vi.fn();
  const pageEscape = vi.fn();
  document.addEventListener('keydown', pageEscape);
  cleanups.push(() => document.removeEventListener('keydown', pageEscape));
  const { log } = await render(props([chat(1, 'Hi', 'Hello'), chat(2, 'Joke?', 'No.')], { onEdit }));

  const edit = buttons(log, 'Edit')[0];
  await input.click(edit);
  const box = log.querySelector('textarea')!;
  expect(document.activeElement).toBe(box);
  expect(box.value).toBe('Hi');
  await input.keyboard('{Escape}');
  expect(log.querySelector('textarea')).toBeNull();
  expect(document.activeElement).toBe(buttons(log, 'Edit')[0]);
  // Escape is Stop to the page; closing the edit must not also stop a reply.
  expect(pageEscape).not.toHaveBeenCalled();

  await input.click(buttons(log, 'Edit')[0]);
  await input.fill(log.querySelector('textarea')!, 'Good morning');
  await input.keyboard('{Shift>}{Enter}{/Shift}');
  expect(onEdit).not.toHaveBeenCalled();
  await input.keyboard('{Enter}');
  expect(onEdit).toHaveBeenCalledWith(1, 'Good morning\n');
  expect(document.activeElement).toBe(log);
});

test('Regenerate is offered on the last exchange only, and both actions wait while the model cannot answer', async () => {
  const onRegenerate = vi.fn();
  const entries = [chat(1, 'Hi', 'Hello'), chat(2, 'Joke?', '', 'failed')];
  const { log, root } = await render(props(entries, { onRegenerate }));
  expect(buttons(log, 'Regenerate')).toHaveLength(1);
  expect(log.querySelectorAll('article')[1].contains(buttons(log, 'Regenerate')[0])).toBe(true);
  expect(log.textContent).toContain('No reply: generating it failed.');
  await input.click(buttons(log, 'Regenerate')[0]);
  expect(onRegenerate).toHaveBeenCalledTimes(1);

  await rerender(root, props(entries, { onRegenerate, canAnswer: false }));
  expect([...buttons(log, 'Regenerate'), ...buttons(log, 'Edit')].every((b) => b.disabled)).toBe(true);
});
