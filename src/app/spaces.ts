// What the Spaces gallery and a Space's page show, worked out from a Space's card: its colours,
// its place in the gallery, what its body runs, and the snippet that embeds it elsewhere.
import { parseSpaceCard, type SpaceCardData, type SpaceColor, type SpaceSdk } from '../hub/card.ts';
import type { RepoDetails, RepoInfo, RepoListing, SamplingOptions } from '../protocol/index.ts';
import { embedIframe, withParent } from './snippets.ts';

/**
 * One shade per Hub colour name, each dark enough that white text on it has at least the 4.5:1
 * contrast WCAG asks of normal text (spaces.test.ts checks every one). Between two stops a
 * gradient mixes in gamma-encoded sRGB, and luminance is a convex function of those values, so
 * no point of a gradient is lighter than the lighter of its two ends: checking the ends is enough.
 */
export const SPACE_PALETTE: Readonly<Record<SpaceColor, string>> = {
  red: '#c22a32',
  yellow: '#9a5b00',
  green: '#1d7a3e',
  blue: '#1f5fd1',
  indigo: '#4a3fc4',
  purple: '#8130c2',
  pink: '#bf2667',
  gray: '#525a66',
};

/** The colour of text laid on a Space's gradient. */
export const SPACE_TEXT_COLOR = '#ffffff';

// A Space made on the Hub always has both colours (its form requires them); one written by hand
// may not, and a missing end takes the other end's colour so the card stays in its author's hue.
const FALLBACK_COLOR: SpaceColor = 'gray';
const FALLBACK_EMOJI = '🧩';

/** The card's colorFrom → colorTo as a CSS background. */
export function spaceGradient(from: SpaceColor | undefined, to: SpaceColor | undefined): string {
  const start = SPACE_PALETTE[from ?? to ?? FALLBACK_COLOR];
  const end = SPACE_PALETTE[to ?? from ?? FALLBACK_COLOR];
  return `linear-gradient(135deg, ${start}, ${end})`;
}

/**
 * A listing's card data (the YAML as the hub parsed it) read with the same checks as a README.
 * JSON is valid YAML 1.2, so the mapping goes back through parseSpaceCard as a front matter
 * block rather than through a second copy of its field rules.
 */
export function spaceCardFromInfo(info: RepoInfo): SpaceCardData {
  const fields = { ...info.cardData };
  // The Hub lists the sdk in the info as well as the card; the card's own value wins.
  if (fields.sdk === undefined && info.sdk !== undefined) fields.sdk = info.sdk;
  return parseSpaceCard(`---\n${JSON.stringify(fields)}\n---\n`).data;
}

/** How an sdk is named on a badge and in sentences ('gradio' → 'Gradio'). */
export function sdkLabel(sdk: string): string {
  return sdk.charAt(0).toUpperCase() + sdk.slice(1);
}

/** Whether Pocket Hub runs a Space of this sdk itself; gradio, docker and streamlit need a server. */
export function runsInBrowser(sdk: SpaceSdk | undefined): boolean {
  return sdk === 'chat' || sdk === 'completion' || sdk === 'static';
}

// As the Hub spells owners and names: letters, digits, '-', '_' and '.', not starting with '.' or '-'.
const SEGMENT = /^[A-Za-z0-9][\w.-]*$/;

/** Whether `/spaces/<owner>/<name>` names a Space (and not a path a hostile link made up). */
export function isSpacePath(owner: string, name: string): boolean {
  return SEGMENT.test(owner) && SEGMENT.test(name);
}

function repoPath(repo: string): string {
  return repo.split('/').map(encodeURIComponent).join('/');
}

export function spacePagePath(repo: string): string {
  return `/spaces/${repoPath(repo)}`;
}

/** A Space on its hub's own site, for the Spaces that need the hub's servers. */
export function spaceHubPage(endpoint: string, repo: string): string {
  return `${endpoint.replace(/\/+$/, '')}/spaces/${repoPath(repo)}`;
}

/** One card in the gallery. */
export interface SpaceSummary {
  id: string;
  endpoint: string;
  path: string;
  title: string;
  emoji: string;
  description?: string;
  sdk?: SpaceSdk;
  pinned: boolean;
  background: string;
}

export function spaceSummary({ info, endpoint }: RepoListing): SpaceSummary {
  const card = spaceCardFromInfo(info);
  return {
    id: info.id,
    endpoint,
    path: spacePagePath(info.id),
    title: card.title ?? info.id.split('/').at(-1) ?? info.id,
    emoji: card.emoji ?? FALLBACK_EMOJI,
    ...(card.shortDescription ? { description: card.shortDescription } : {}),
    ...(card.sdk ? { sdk: card.sdk } : {}),
    pinned: card.pinned === true,
    background: spaceGradient(card.colorFrom, card.colorTo),
  };
}

/**
 * The gallery from each hub's answer, in the order the hubs are tried (undefined while a hub
 * has not answered): a Space id seen on an earlier hub hides the same id further down, as for
 * models, and pinned Spaces come first with each group keeping the hubs' order.
 */
export function gallery(perHub: readonly (readonly RepoListing[] | undefined)[]): SpaceSummary[] {
  const seen = new Set<string>();
  const all: SpaceSummary[] = [];
  for (const listings of perHub) {
    for (const listing of listings ?? []) {
      if (seen.has(listing.info.id)) continue;
      seen.add(listing.info.id);
      all.push(spaceSummary(listing));
    }
  }
  return [...all.filter((s) => s.pinned), ...all.filter((s) => !s.pinned)];
}

/** What a Space page's body runs. */
export type SpaceApp =
  | {
      kind: 'declarative';
      mode: 'chat' | 'completion';
      model: string;
      systemPrompt?: string;
      examplePrompts: string[];
      sampling: Partial<Omit<SamplingOptions, 'seed'>>;
      maxTokens?: number;
    }
  | { kind: 'static'; src: string }
  /** `sdk` is undefined when neither the card nor the hub names one. */
  | { kind: 'server'; sdk?: string; hubPage: string }
  | { kind: 'broken'; problem: string };

// The Hub's own default when a static Space names no app_file.
const DEFAULT_APP_FILE = 'index.html';

/** A repo-relative file path that stays inside the repo: no scheme, no leading slash, no '..' or '.' segment. */
function safeRepoPath(path: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(path) && !path.startsWith('/') && path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** `hubSite` is where the Space's hub shows Spaces, for those that need its servers. */
export function spaceApp(
  card: SpaceCardData,
  details: Pick<RepoDetails, 'info' | 'endpoint' | 'files' | 'resolveBase'>,
  hubSite = details.endpoint,
): SpaceApp {
  const sdk = card.sdk;
  if (sdk === 'chat' || sdk === 'completion') {
    const model = card.models[0];
    if (model === undefined) return { kind: 'broken', problem: `This ${sdk} Space names no model: its card needs a “models” list.` };
    const { sampling, examplePrompts, systemPrompt } = card.declarative ?? { sampling: {}, examplePrompts: [] };
    const { maxTokens, ...rest } = sampling;
    return {
      kind: 'declarative',
      mode: sdk,
      model,
      ...(sdk === 'chat' && systemPrompt ? { systemPrompt } : {}),
      examplePrompts,
      sampling: rest,
      ...(maxTokens !== undefined ? { maxTokens } : {}),
    };
  }
  if (sdk === 'static') {
    const appFile = card.appFile ?? DEFAULT_APP_FILE;
    if (!safeRepoPath(appFile)) return { kind: 'broken', problem: `Its app_file, “${appFile}”, is not a path inside the Space.` };
    if (!details.files.some((f) => f.path === appFile)) return { kind: 'broken', problem: `The Space has no file “${appFile}” to show.` };
    return { kind: 'static', src: new URL(repoPath(appFile), details.resolveBase).href };
  }
  const named = sdk ?? details.info.sdk;
  return { kind: 'server', ...(named ? { sdk: named } : {}), hubPage: spaceHubPage(hubSite, details.info.id) };
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}


/** The embed route of a Space: `<app>/embed/spaces/<owner>/<name>`, each segment encoded. */
export function spaceEmbedUrl(app: string, repo: string): string {
  return `${withSlash(app)}embed/spaces/${repoPath(repo)}`;
}

/**
 * The iframe that shows a Space on another site (`parent`, an origin, when its author gave it).
 * The Space runs on the visitor's GPU with the weights in the iframe's own storage;
 * `clipboard-write` lets its Copy buttons work.
 */
export function spaceIframeSnippet(app: string, repo: string, title: string, parent?: string): string {
  return embedIframe(withParent(spaceEmbedUrl(app, repo), parent), `${title} on Pocket Hub`, 640);
}

/** Whether the Space page offers an embed snippet: not when the author turned embedding off. */
export type SpaceEmbed = { allowed: true; snippet: (parent?: string) => string } | { allowed: false; reason: string };

export function spaceEmbed(card: SpaceCardData, repo: string, app: string): SpaceEmbed {
  if (card.disableEmbedding === true) {
    return { allowed: false, reason: 'The author of this Space turned embedding off, so it can only be used here.' };
  }
  return { allowed: true, snippet: (parent) => spaceIframeSnippet(app, repo, card.title ?? repo, parent) };
}
