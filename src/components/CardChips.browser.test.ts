import { act, createElement, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import ggufCard from '../../test/fixtures/cards/gguf-quant.md?raw';
import instructCard from '../../test/fixtures/cards/instruct-model.md?raw';
import { parseModelCard, type ModelCardData } from '../hub/card.ts';
import { CardChips, licenseUrl, type CardChipsProps } from './CardChips.tsx';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

async function render(props: CardChipsProps): Promise<HTMLElement> {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  await act(async () => root.render(createElement(CardChips, props)));
  cleanups.push(() => {
    act(() => root.unmount());
    container.remove();
  });
  return container;
}

/** Each chip as its label and value text, in order. */
function chips(view: HTMLElement): [string, string][] {
  return [...view.querySelectorAll('li')].map((li) => [
    li.querySelector('.card-chip-label')!.textContent!,
    li.querySelector('.card-chip-value')!.textContent!,
  ]);
}

const BASE = 'https://huggingface.co/gguf-bakery/Pebble-3B-Instruct-GGUF/resolve/0123456789abcdef0123456789abcdef01234567';
const empty: ModelCardData = { tags: [], languages: [], datasets: [], baseModels: [] };

describe('CardChips', () => {
  it('shows a model card front matter as a labelled list', async () => {
    const view = await render({ card: parseModelCard(instructCard).data });
    const list = view.querySelector('ul')!;
    expect(list.getAttribute('aria-label')).toBe('Model facts from the card');
    expect(chips(view)).toEqual([
      ['License', 'apache-2.0'],
      ['Task', 'text-generation'],
      ['Library', 'transformers'],
      ['Fine-tuned from', 'pocket-lab/Pebble-0.5B'],
      ['Dataset', 'HuggingFaceH4/ultrachat_200k'],
      ['Dataset', 'pocket-lab/pebble-sft-mix'],
      ['Language', 'English'],
      ['Language', 'French'],
      ['Language', 'Chinese'],
      ['Tag', 'chat'],
      ['Tag', 'conversational'],
    ]);
  });

  it('links the license, datasets and base model', async () => {
    const view = await render({ card: parseModelCard(instructCard).data });
    const links = [...view.querySelectorAll('a')].map((a) => [a.textContent, a.getAttribute('href'), a.target, a.rel]);
    expect(links).toEqual([
      ['apache-2.0', 'https://huggingface.co/pocket-lab/Pebble-0.5B-Instruct/blob/main/LICENSE', '_blank', 'noopener noreferrer'],
      ['pocket-lab/Pebble-0.5B', '/pocket-lab/Pebble-0.5B', '', ''],
      ['HuggingFaceH4/ultrachat_200k', 'https://huggingface.co/datasets/HuggingFaceH4/ultrachat_200k', '_blank', 'noopener noreferrer'],
      ['pocket-lab/pebble-sft-mix', 'https://huggingface.co/datasets/pocket-lab/pebble-sft-mix', '_blank', 'noopener noreferrer'],
    ]);
  });

  it('names a custom license and resolves its relative link in the repository', async () => {
    const view = await render({ card: parseModelCard(ggufCard).data, baseUrl: BASE });
    expect(chips(view).slice(0, 3)).toEqual([
      ['License', 'pebble-community-license'],
      ['Task', 'text-generation'],
      ['Quantized from', 'pocket-lab/Pebble-3B-Instruct'],
    ]);
    expect(view.querySelector('a')!.getAttribute('href')).toBe(`${BASE}/LICENSE`);
  });

  it('renders base models through the link component it is given', async () => {
    function RouterLink({ to, children }: { to: string; children: ReactNode }) {
      return createElement('a', { href: `#${to}`, 'data-router': '' }, children);
    }
    const card = { ...empty, baseModels: ['a/one', 'b/two', 'gpt2'], baseModelRelation: 'merge' as const };
    const view = await render({ card, ModelLink: RouterLink });
    expect(chips(view)).toEqual([
      ['Merged from', 'a/one'],
      ['Merged from', 'b/two'],
      ['Merged from', 'gpt2'],
    ]);
    expect([...view.querySelectorAll('a[data-router]')].map((a) => a.getAttribute('href'))).toEqual(['#/a/one', '#/b/two']);
  });

  it('shows the tags the other chips already show once, and unknown language codes as written', async () => {
    const card = {
      ...empty,
      license: 'mit',
      pipelineTag: 'text-generation',
      libraryName: 'gguf',
      tags: ['gguf', 'text-generation', 'license:mit', 'mit', 'tiny'],
      languages: ['multilingual'],
    };
    const view = await render({ card });
    expect(chips(view)).toEqual([
      ['License', 'mit'],
      ['Task', 'text-generation'],
      ['Library', 'gguf'],
      ['Language', 'multilingual'],
      ['Tag', 'tiny'],
    ]);
  });

  it('renders nothing for a card without front matter', async () => {
    const view = await render({ card: empty });
    expect(view.innerHTML).toBe('');
  });
});

describe('licenseUrl', () => {
  it('prefers the card link, then choosealicense.com, else none', () => {
    expect(licenseUrl({ license: 'MIT' })).toBe('https://choosealicense.com/licenses/mit/');
    expect(licenseUrl({ license: 'llama3.2' })).toBeUndefined();
    expect(licenseUrl({ license: 'mit', licenseLink: 'https://example.com/terms' })).toBe('https://example.com/terms');
    // A relative link without a repository, or a script URL, falls back to the id.
    expect(licenseUrl({ license: 'mit', licenseLink: 'LICENSE' })).toBe('https://choosealicense.com/licenses/mit/');
    expect(licenseUrl({ license: 'other', licenseLink: 'javascript:alert(1)' }, BASE)).toBeUndefined();
  });
});
