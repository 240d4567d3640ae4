// The embed dialog in real Chromium: a native modal dialog's focus, Escape and backdrop, and
// the copy announcement.
import { act, createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { afterEach, expect, test, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { EmbedDialog } from './EmbedDialog.tsx';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const cleanups: (() => void)[] = [];
afterEach(() => {
  cleanups.splice(0).forEach((cleanup) => cleanup());
  vi.restoreAllMocks();
});

const SNIPPET = '<iframe\n  src="https://example.org/embed/spaces/o/s"\n></iframe>';
/** The snippet for a site, as spaceEmbed builds it: `?parent=` only when one is named. */
const snippetFor = (parent?: string) => (parent ? SNIPPET.replace('/o/s"', `/o/s?parent=${encodeURIComponent(parent)}"`) : SNIPPET);

async function render() {
  const container = document.createElement('div');
  const before = document.createElement('button');
  before.textContent = 'Elsewhere on the page';
  document.body.append(before, container);
  const root = createRoot(container);
  await act(async () => root.render(createElement(EmbedDialog, { name: 'Story Writer', snippet: snippetFor, note: 'Paste it.' })));
  cleanups.push(() => {
    act(() => root.unmount());
    container.remove();
    before.remove();
  });
  const trigger = [...container.querySelectorAll('button')].find((b) => b.textContent === 'Embed')!;
  const dialog = container.querySelector('dialog')!;
  return { trigger, dialog, before };
}

test('opens as a modal named by its heading, with the code focused and selected', async () => {
  const { trigger, dialog, before } = await render();
  expect(dialog.open).toBe(false);
  await userEvent.click(trigger);
  expect(dialog.open).toBe(true);
  expect(dialog.matches(':modal')).toBe(true);
  expect(document.getElementById(dialog.getAttribute('aria-labelledby')!)!.textContent).toBe('Embed Story Writer');
  expect(document.getElementById(dialog.getAttribute('aria-describedby')!)!.textContent).toBe('Paste it.');
  const code = dialog.querySelector('textarea')!;
  expect(document.activeElement).toBe(code);
  expect(code.value).toBe(SNIPPET);
  expect([code.selectionStart, code.selectionEnd]).toEqual([0, SNIPPET.length]);
  // A modal dialog makes the page behind it inert: Tab cycles through the dialog only. Eight
  // presses go round its four controls twice; without the modal they would reach `before`.
  for (let i = 0; i < 8; i++) {
    await userEvent.keyboard('{Tab}');
    expect(dialog.contains(document.activeElement) || document.activeElement === document.body).toBe(true);
    expect(document.activeElement).not.toBe(before);
  }
});

test('Escape, Close and a click on the backdrop close it and give focus back to the Embed button', async () => {
  const { trigger, dialog } = await render();
  const close = [...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Close')!;

  await userEvent.click(trigger);
  await userEvent.keyboard('{Escape}');
  expect(dialog.open).toBe(false);
  expect(document.activeElement).toBe(trigger);

  await userEvent.click(trigger);
  await userEvent.click(close);
  expect(dialog.open).toBe(false);
  expect(document.activeElement).toBe(trigger);

  await userEvent.click(trigger);
  // A click on the backdrop targets the dialog element itself; one on the content bubbles up
  // to it with another target and must leave it open.
  await act(async () => dialog.dispatchEvent(new MouseEvent('click', { bubbles: true })));
  expect(dialog.open).toBe(false);
  await userEvent.click(trigger);
  await act(async () => dialog.querySelector('h2')!.dispatchEvent(new MouseEvent('click', { bubbles: true })));
  expect(dialog.open).toBe(true);
});

test('Copy puts the snippet on the clipboard and announces it', async () => {
  const writeText = vi.spyOn(navigator.clipboard, 'writeText').mockResolvedValue();
  const { trigger, dialog } = await render();
  await userEvent.click(trigger);
  const copy = dialog.querySelector<HTMLButtonElement>('button[aria-label="Copy embed code"]')!;
  await act(() => userEvent.click(copy));
  expect(writeText).toHaveBeenCalledWith(SNIPPET);
  expect(dialog.querySelector('[role="status"]')!.textContent).toBe('Copied');
});

test('naming the site puts its origin in the code as ?parent=; what is not a web address leaves it out and says so', async () => {
  const { trigger, dialog } = await render();
  await userEvent.click(trigger);
  const site = dialog.querySelector<HTMLInputElement>('input')!;
  const code = dialog.querySelector('textarea')!;
  const note = () => document.getElementById(site.getAttribute('aria-describedby')!)!.textContent;
  expect(document.querySelector(`label[for="${site.id}"]`)!.textContent).toBe('Your site (optional)');

  await userEvent.type(site, 'blog.example/posts/1');
  expect(code.value).toContain('src="https://example.org/embed/spaces/o/s?parent=https%3A%2F%2Fblog.example"');
  expect(note()).toBe('The embed talks only to pages of https://blog.example.');
  expect(site.getAttribute('aria-invalid')).toBe('false');

  await userEvent.clear(site);
  await userEvent.type(site, 'javascript:alert(1)');
  expect(code.value).toBe(SNIPPET);
  expect(site.getAttribute('aria-invalid')).toBe('true');
  expect(note()).toMatch(/is not a web address/);
});
