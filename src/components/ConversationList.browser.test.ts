// The conversation list in real Chromium, driven from the keyboard as far as it goes.
// (A .ts file with createElement: the browser project only picks up *.browser.test.ts.)
import { act, createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, expect, test, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { ConversationList, type ConversationListProps } from './ConversationList.tsx';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

const NOW = Date.UTC(2025, 5, 1, 12);

function props(change: Partial<ConversationListProps> = {}): ConversationListProps {
  return {
    status: 'ready',
    conversations: [
      { id: 'b2', title: 'Lily and the dog', model: 'pocket-hub/stories260K-GGUF', updatedAt: NOW - 5 * 60_000 },
      { id: 'a1', title: 'Tim goes to the park', model: '/models/other.gguf', updatedAt: NOW - 3 * 86_400_000 },
    ],
    activeId: 'b2',
    busy: false,
    now: NOW,
    onNew: vi.fn(),
    onSelect: vi.fn(),
    onRename: vi.fn(),
    onDelete: vi.fn(),
    onExport: vi.fn(),
    ...change,
  };
}

async function render(p: ConversationListProps): Promise<{ nav: HTMLElement; root: Root }> {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  await act(async () => root.render(createElement(ConversationList, p)));
  cleanups.push(() => {
    act(() => root.unmount());
    container.remove();
  });
  return { nav: container.querySelector('nav')!, root };
}

// Real input through the browser; act() makes React apply the updates it causes before the test looks.
const input = {
  click: (el: Element) => act(() => userEvent.click(el)),
  keyboard: (keys: string) => act(() => userEvent.keyboard(keys)),
};

function button(within: Element, name: string): HTMLButtonElement {
  const found = [...within.querySelectorAll('button')].find((b) => b.textContent === name);
  if (!found) throw new Error(`no button "${name}"`);
  return found;
}

const rows = (nav: HTMLElement) => [...nav.querySelectorAll('li')];

test('lists newest first with the model and age, marks the open one, and opens another', async () => {
  const p = props();
  const { nav } = await render(p);
  expect(nav.getAttribute('aria-label')).toBe('Conversations');
  expect(rows(nav).map((li) => li.querySelector('.conversation-title')?.textContent)).toEqual(['Lily and the dog', 'Tim goes to the park']);
  expect(rows(nav)[0].querySelector('.conversation-meta')?.textContent).toBe('stories260K-GGUF · 5 minutes ago');
  expect(rows(nav)[1].querySelector('.conversation-meta')?.textContent).toBe('other · 3 days ago');
  expect(rows(nav)[0].querySelector('[aria-current="true"]')).not.toBeNull();
  expect(rows(nav)[1].querySelector('[aria-current]')).toBeNull();

  await input.click(rows(nav)[1].querySelector('.conversation-open')!);
  expect(p.onSelect).toHaveBeenCalledWith(p.conversations[1]);
  await input.click(button(nav, 'New chat'));
  expect(p.onNew).toHaveBeenCalledTimes(1);
});

test('rename is inline: Enter saves, Escape cancels without reaching the page, and focus returns to Rename', async () => {
  const p = props();
  const pageKeys = vi.fn();
  document.addEventListener('keydown', pageKeys);
  cleanups.push(() => document.removeEventListener('keydown', pageKeys));
  const { nav } = await render(p);

  await input.click(button(rows(nav)[1], 'Rename'));
  const box = nav.querySelector('input')!;
  expect(document.activeElement).toBe(box);
  expect(box.value).toBe('Tim goes to the park');
  expect(nav.querySelector(`label[for="${box.id}"]`)?.textContent).toBe('Conversation title');
  await input.keyboard('{Escape}');
  expect(nav.querySelector('input')).toBeNull();
  expect(document.activeElement).toBe(button(rows(nav)[1], 'Rename'));
  expect(pageKeys).not.toHaveBeenCalledWith(expect.objectContaining({ key: 'Escape' }));

  await input.keyboard('{Enter}');
  // The whole old title is selected, so typing replaces it.
  await input.keyboard('Tim and the kite{Enter}');
  expect(p.onRename).toHaveBeenCalledWith('a1', 'Tim and the kite');
  expect(document.activeElement).toBe(button(rows(nav)[1], 'Rename'));
});

test('delete asks first; Escape backs out to Delete, and Yes deletes', async () => {
  const p = props();
  const { nav } = await render(p);
  await input.click(button(rows(nav)[1], 'Delete'));
  const confirm = rows(nav)[1].querySelector('[role="group"]')!;
  expect(confirm.getAttribute('aria-label')).toBe('Delete “Tim goes to the park”?');
  expect(document.activeElement).toBe(button(confirm, 'Yes, delete'));
  await input.keyboard('{Escape}');
  expect(p.onDelete).not.toHaveBeenCalled();
  expect(document.activeElement).toBe(button(rows(nav)[1], 'Delete'));

  await input.keyboard('{Enter}');
  await input.keyboard('{Enter}');
  expect(p.onDelete).toHaveBeenCalledWith('a1');
  // The row is about to go; focus waits on New chat.
  expect(document.activeElement).toBe(button(nav, 'New chat'));
});

test('exports one conversation or all of them', async () => {
  const p = props();
  const { nav } = await render(p);
  await input.click(button(rows(nav)[0], 'Export'));
  expect(p.onExport).toHaveBeenLastCalledWith('b2');
  await input.click(button(nav, 'Export all'));
  expect(p.onExport).toHaveBeenLastCalledWith();
});

test('while a reply streams, only the open conversation stays reachable', async () => {
  const { nav } = await render(props({ busy: true }));
  expect(button(nav, 'New chat').disabled).toBe(true);
  expect(rows(nav)[0].querySelector<HTMLButtonElement>('.conversation-open')!.disabled).toBe(false);
  expect(rows(nav)[1].querySelector<HTMLButtonElement>('.conversation-open')!.disabled).toBe(true);
  expect(button(rows(nav)[0], 'Delete').disabled).toBe(true);
  expect(button(rows(nav)[1], 'Delete').disabled).toBe(false);
});

test('the toggle says whether the list is shown; a storage failure is explained, not thrown', async () => {
  const { nav, root } = await render(props());
  const toggle = nav.querySelector<HTMLButtonElement>('.conversations-toggle')!;
  expect(toggle.getAttribute('aria-controls')).toBe('conversation-panel');
  expect(toggle.getAttribute('aria-expanded')).toBe('false');
  await act(async () => toggle.click());
  expect(toggle.getAttribute('aria-expanded')).toBe('true');
  expect(nav.classList.contains('open')).toBe(true);

  await act(async () => root.render(createElement(ConversationList, props({ status: 'failed', error: new Error('QuotaExceededError'), conversations: [] }))));
  expect(nav.querySelector('[role="status"]')?.textContent).toContain('cannot be saved in this browser: QuotaExceededError');
});
