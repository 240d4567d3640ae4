import { describe, expect, it } from 'vitest';
import smolChatReadme from '../../hub/spaces/pocket-hub/smol-chat/README.md?raw';
import storyWriterReadme from '../../hub/spaces/pocket-hub/story-writer/README.md?raw';
import { parseSpaceCard, SPACE_COLORS, type SpaceCardData } from '../hub/card.ts';
import type { RepoDetails, RepoInfo, RepoListing } from '../protocol/index.ts';
import {
  gallery,
  isSpacePath,
  SPACE_PALETTE,
  SPACE_TEXT_COLOR,
  spaceApp,
  spaceCardFromInfo,
  spaceEmbed,
  spaceGradient,
  spaceIframeSnippet,
  spacePagePath,
  spaceSummary,
} from './spaces.ts';

// ── WCAG 2 contrast, the reference the palette is checked against.

function channels(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function luminance([r, g, b]: [number, number, number]): number {
  const linear = (c: number) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

function contrast(a: [number, number, number], b: [number, number, number]): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

describe('the Space palette', () => {
  it('uses a contrast function that matches the WCAG reference values', () => {
    expect(contrast([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 10);
    expect(contrast([119, 119, 119], [119, 119, 119])).toBe(1);
    // #767676 is the lightest grey with 4.5:1 on white, #777777 the first to miss it (WebAIM).
    expect(contrast(channels('#767676'), [255, 255, 255])).toBeGreaterThanOrEqual(4.5);
    expect(contrast(channels('#777777'), [255, 255, 255])).toBeLessThan(4.5);
  });

  it('keeps white text at 4.5:1 or more on every point of every gradient', () => {
    const text = channels(SPACE_TEXT_COLOR);
    let worst = { ratio: Infinity, at: '' };
    for (const from of SPACE_COLORS) {
      for (const to of SPACE_COLORS) {
        const [a, b] = [channels(SPACE_PALETTE[from]), channels(SPACE_PALETTE[to])];
        // CSS gradients mix gamma-encoded sRGB channels by default, as this does; tenths of the
        // way would show a dip between the ends, which spaces.ts argues cannot happen.
        for (let i = 0; i <= 10; i++) {
          const mix = a.map((c, k) => Math.round(c + ((b[k] - c) * i) / 10)) as [number, number, number];
          const ratio = contrast(mix, text);
          if (ratio < worst.ratio) worst = { ratio, at: `${from}→${to} at ${i * 10}%` };
        }
      }
    }
    expect(worst.ratio, worst.at).toBeGreaterThanOrEqual(4.5);
  });

  it('fills a missing end with the other, and gray when both are missing', () => {
    expect(spaceGradient('red', 'blue')).toBe(`linear-gradient(135deg, ${SPACE_PALETTE.red}, ${SPACE_PALETTE.blue})`);
    expect(spaceGradient(undefined, 'pink')).toBe(`linear-gradient(135deg, ${SPACE_PALETTE.pink}, ${SPACE_PALETTE.pink})`);
    expect(spaceGradient('green', undefined)).toBe(`linear-gradient(135deg, ${SPACE_PALETTE.green}, ${SPACE_PALETTE.green})`);
    expect(spaceGradient(undefined, undefined)).toBe(`linear-gradient(135deg, ${SPACE_PALETTE.gray}, ${SPACE_PALETTE.gray})`);
  });
});

function info(id: string, cardData?: Record<string, unknown>, sdk?: string): RepoInfo {
  return { id, kind: 'space', tags: [], ...(cardData ? { cardData } : {}), ...(sdk ? { sdk } : {}) };
}

const listing = (id: string, cardData?: Record<string, unknown>, endpoint = 'https://hub.example'): RepoListing => ({ info: info(id, cardData), endpoint });

describe('gallery cards', () => {
  it('reads a listing card with the README rules: bad values are dropped, not shown', () => {
    const card = spaceCardFromInfo(
      info('lab/odd', { title: 'Odd', emoji: 'not one emoji', colorFrom: 'teal', colorTo: 'purple', pinned: 'yes', models: ['../escape', 'lab/ok'] }),
    );
    expect(card.title).toBe('Odd');
    expect(card.emoji).toBeUndefined();
    expect(card.colorFrom).toBeUndefined();
    expect(card.colorTo).toBe('purple');
    expect(card.pinned).toBeUndefined();
    expect(card.models).toEqual(['lab/ok']);
  });

  it("takes the sdk from the hub's info when the card data lacks it, and the card's when both have it", () => {
    expect(spaceCardFromInfo(info('lab/a', {}, 'gradio')).sdk).toBe('gradio');
    expect(spaceCardFromInfo(info('lab/a', { sdk: 'static' }, 'gradio')).sdk).toBe('static');
    expect(spaceCardFromInfo(info('lab/a', undefined, 'docker')).sdk).toBe('docker');
  });

  it('summarises a card for the gallery, with the name and a default emoji when the card has none', () => {
    expect(
      spaceSummary(listing('pocket-hub/story-writer', { title: 'Story Writer', emoji: '📖', colorFrom: 'yellow', colorTo: 'pink', sdk: 'completion', short_description: 'Stories', pinned: true })),
    ).toEqual({
      id: 'pocket-hub/story-writer',
      endpoint: 'https://hub.example',
      path: '/spaces/pocket-hub/story-writer',
      title: 'Story Writer',
      emoji: '📖',
      description: 'Stories',
      sdk: 'completion',
      pinned: true,
      background: spaceGradient('yellow', 'pink'),
    });
    const bare = spaceSummary(listing('someone/bare-space'));
    expect(bare.title).toBe('bare-space');
    expect(bare.emoji).toBe('🧩');
    expect(bare.pinned).toBe(false);
    expect(bare.description).toBeUndefined();
    expect(bare.sdk).toBeUndefined();
  });

  it('puts pinned Spaces first, keeps the hubs’ order otherwise, and shows an id once (from the first hub)', () => {
    const first = [listing('a/one'), listing('a/two', { pinned: true }), listing('shared/space', { title: 'First hub' })];
    const second = [listing('b/three', { pinned: true }, 'https://other.example'), listing('shared/space', { title: 'Second hub' }, 'https://other.example'), listing('b/four', {}, 'https://other.example')];
    const cards = gallery([first, undefined, second]);
    expect(cards.map((c) => c.id)).toEqual(['a/two', 'b/three', 'a/one', 'shared/space', 'b/four']);
    expect(cards.find((c) => c.id === 'shared/space')).toMatchObject({ title: 'First hub', endpoint: 'https://hub.example' });
    expect(gallery([undefined, []])).toEqual([]);
  });

  it('links Space pages under /spaces/ and accepts only Hub-like owner and name segments', () => {
    expect(spacePagePath('pocket-hub/story-writer')).toBe('/spaces/pocket-hub/story-writer');
    expect(spacePagePath('a b/c?d')).toBe('/spaces/a%20b/c%3Fd');
    expect(isSpacePath('pocket-hub', 'story-writer')).toBe(true);
    expect(isSpacePath('Org_1', 'v2.0')).toBe(true);
    expect(isSpacePath('..', 'x')).toBe(false);
    expect(isSpacePath('-x', 'y')).toBe(false);
    expect(isSpacePath('x', 'y z')).toBe(false);
  });
});

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function details(id: string, files: string[] = ['README.md'], endpoint = 'https://hub.example'): Pick<RepoDetails, 'info' | 'endpoint' | 'files' | 'resolveBase'> {
  return {
    info: info(id),
    endpoint,
    files: files.map((path) => ({ path, size: 1, lfs: false, oid: '0'.repeat(40) })),
    resolveBase: `${endpoint}/spaces/${id}/resolve/${COMMIT}/`,
  };
}

const card = (data: Partial<SpaceCardData>): SpaceCardData => ({ models: [], datasets: [], tags: [], ...data });

describe('what a Space page runs', () => {
  it('reads the embedded story-writer Space as a completion on stories260K with its examples and sampling', () => {
    const parsed = parseSpaceCard(storyWriterReadme);
    expect(parsed.warnings).toEqual([]);
    expect(spaceApp(parsed.data, details('pocket-hub/story-writer'))).toEqual({
      kind: 'declarative',
      mode: 'completion',
      model: 'pocket-hub/stories260K-GGUF',
      examplePrompts: ['Once upon a time', 'The little dog', 'Lily and Ben went to the park', 'One day, a big red ball'],
      sampling: { temperature: 0.8, topK: 40 },
      maxTokens: 160,
    });
    expect(parsed.data).toMatchObject({ title: 'Story Writer', emoji: '📖', pinned: true, license: 'mit' });
  });

  it('reads the embedded smol-chat Space as a chat with a system prompt', () => {
    const parsed = parseSpaceCard(smolChatReadme);
    expect(parsed.warnings).toEqual([]);
    const app = spaceApp(parsed.data, details('pocket-hub/smol-chat'));
    expect(app).toMatchObject({ kind: 'declarative', mode: 'chat', model: 'HuggingFaceTB/SmolLM2-135M-Instruct', sampling: { temperature: 0.2, topP: 0.9 }, maxTokens: 256 });
    expect(app.kind === 'declarative' && app.systemPrompt).toMatch(/^You are Smol, .*If you are not sure, say so\.$/s);
    expect(app.kind === 'declarative' && app.examplePrompts).toHaveLength(3);
  });

  it('drops a system prompt from a completion Space, which has no system turn', () => {
    const parsed = parseSpaceCard('---\nsdk: completion\nmodels: [a/b]\nsystem_prompt: Be terse.\n---\n');
    expect(spaceApp(parsed.data, details('x/y'))).toEqual({ kind: 'declarative', mode: 'completion', model: 'a/b', examplePrompts: [], sampling: {} });
  });

  it('says what is missing when a declarative Space names no model', () => {
    const app = spaceApp(parseSpaceCard('---\nsdk: chat\n---\n').data, details('x/y'));
    expect(app).toEqual({ kind: 'broken', problem: 'This chat Space names no model: its card needs a “models” list.' });
  });

  it('points a static Space at its app file at the commit, index.html by default', () => {
    expect(spaceApp(card({ sdk: 'static' }), details('o/s', ['README.md', 'index.html']))).toEqual({
      kind: 'static',
      src: `https://hub.example/spaces/o/s/resolve/${COMMIT}/index.html`,
    });
    expect(spaceApp(card({ sdk: 'static', appFile: 'app/main page.html' }), details('o/s', ['app/main page.html']))).toEqual({
      kind: 'static',
      src: `https://hub.example/spaces/o/s/resolve/${COMMIT}/app/main%20page.html`,
    });
  });

  it('refuses a static app file outside the Space or missing from it', () => {
    for (const appFile of ['../other/index.html', '/index.html', 'https://evil.example/x.html', 'a//b.html', './index.html']) {
      expect(spaceApp(card({ sdk: 'static', appFile }), details('o/s', [appFile])).kind, appFile).toBe('broken');
    }
    expect(spaceApp(card({ sdk: 'static' }), details('o/s', ['README.md']))).toEqual({ kind: 'broken', problem: 'The Space has no file “index.html” to show.' });
  });

  it('sends Spaces that need a server to their hub, naming the sdk from the card or else the info', () => {
    expect(spaceApp(card({ sdk: 'gradio' }), details('o/g', [], 'https://huggingface.co/'))).toEqual({
      kind: 'server',
      sdk: 'gradio',
      hubPage: 'https://huggingface.co/spaces/o/g',
    });
    const d = details('o/n');
    expect(spaceApp(card({}), { ...d, info: { ...d.info, sdk: 'nextjs' } })).toMatchObject({ kind: 'server', sdk: 'nextjs' });
    expect(spaceApp(card({}), d)).toEqual({ kind: 'server', hubPage: 'https://hub.example/spaces/o/n' });
    expect(spaceApp(card({ sdk: 'docker' }), d, 'https://huggingface.co')).toEqual({ kind: 'server', sdk: 'docker', hubPage: 'https://huggingface.co/spaces/o/n' });
  });
});

describe('embedding a Space', () => {
  it('gives the iframe snippet of the embed route under the app’s base path', () => {
    const embed = spaceEmbed(card({ title: 'Story Writer' }), 'pocket-hub/story-writer', 'https://example.org/pocket-hub/');
    expect(embed.allowed && embed.snippet()).toBe(
      [
        '<iframe',
        '  src="https://example.org/pocket-hub/embed/spaces/pocket-hub/story-writer"',
        '  title="Story Writer on Pocket Hub"',
        '  width="100%" height="640" style="border: 0"',
        '  allow="clipboard-write"',
        '  referrerpolicy="strict-origin"',
        '  loading="lazy"',
        '></iframe>',
      ].join('\n'),
    );
    // For a named site the embed talks to that origin only (messages.ts, embedParentOrigin).
    expect(embed.allowed && embed.snippet('https://blog.example')).toContain(
      'src="https://example.org/pocket-hub/embed/spaces/pocket-hub/story-writer?parent=https%3A%2F%2Fblog.example"',
    );
  });

  it('offers no snippet when the card sets disable_embedding, and says why', () => {
    const parsed = parseSpaceCard('---\ntitle: Private\nsdk: chat\nmodels: [a/b]\ndisable_embedding: true\n---\n');
    const embed = spaceEmbed(parsed.data, 'o/private', 'https://example.org/');
    expect(embed.allowed).toBe(false);
    expect(embed.allowed ? '' : embed.reason).toMatch(/turned embedding off/);
    expect(spaceEmbed(card({ disableEmbedding: false }), 'o/p', 'https://example.org/').allowed).toBe(true);
  });

  it('keeps a hostile title and repo id inside the attributes', () => {
    const snippet = spaceIframeSnippet('https://a.example', 'x/"><script>', '"><img src=x onerror=alert(1)>');
    expect(snippet).not.toMatch(/<script>|<img/);
    expect(snippet).toContain('src="https://a.example/embed/spaces/x/%22%3E%3Cscript%3E"');
    expect(snippet).toContain('title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt; on Pocket Hub"');
  });
});
