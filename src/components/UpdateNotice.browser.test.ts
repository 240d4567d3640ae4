import { act, createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UpdateNotice, type UpdateNoticeProps } from './UpdateNotice.tsx';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

interface View {
  region: HTMLElement;
  props: UpdateNoticeProps;
  button(name: string): HTMLButtonElement;
}

async function render(state: Pick<UpdateNoticeProps, 'needRefresh' | 'offlineReady'>): Promise<View> {
  const props: UpdateNoticeProps = { ...state, onReload: vi.fn(), onLater: vi.fn(), onDismiss: vi.fn() };
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  await act(async () => root.render(createElement(UpdateNotice, props)));
  cleanups.push(() => {
    act(() => root.unmount());
    container.remove();
  });
  const region = container.firstElementChild as HTMLElement;
  const button = (name: string) => {
    const found = [...region.querySelectorAll('button')].find((b) => b.textContent === name);
    if (!found) throw new Error(`no "${name}" button in: ${region.innerHTML}`);
    return found;
  };
  return { region, props, button };
}

describe('UpdateNotice', () => {
  it('keeps an empty polite live region while there is nothing to say', async () => {
    const { region } = await render({ needRefresh: false, offlineReady: false });
    expect(region.getAttribute('aria-live')).toBe('polite');
    expect(region.textContent).toBe('');
  });

  it('offers a waiting version with Reload and Later', async () => {
    const { region, props, button } = await render({ needRefresh: true, offlineReady: false });
    expect(region.getAttribute('aria-live')).toBe('polite');
    expect(region.textContent).toContain('A new version of Pocket Hub is ready.');
    button('Reload').click();
    expect(props.onReload).toHaveBeenCalledOnce();
    button('Later').click();
    expect(props.onLater).toHaveBeenCalledOnce();
    expect(props.onDismiss).not.toHaveBeenCalled();
  });

  it('says that the app works offline, with a way to dismiss it', async () => {
    const { region, props, button } = await render({ needRefresh: false, offlineReady: true });
    expect(region.textContent).toContain('Ready to work offline');
    button('Dismiss').click();
    expect(props.onDismiss).toHaveBeenCalledOnce();
    expect(props.onReload).not.toHaveBeenCalled();
  });

  it('puts a waiting version before the offline notice', async () => {
    const { region } = await render({ needRefresh: true, offlineReady: true });
    expect(region.textContent).toContain('A new version of Pocket Hub is ready.');
    expect(region.textContent).not.toContain('Ready to work offline');
  });
});
