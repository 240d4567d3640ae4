import type { ComponentType, ReactNode } from 'react';
import type { BaseModelRelation, ModelCardData } from '../hub/card.ts';
import './markdown.css';

// Licenses with a page on choosealicense.com, by the lower-case SPDX id the Hub also uses.
// The Hub's own licenses (llama3, gemma, openrail…) have no page there: they link only through
// the card's `license_link`.
const CHOOSEALICENSE_IDS = new Set([
  '0bsd', 'afl-3.0', 'agpl-3.0', 'apache-2.0', 'artistic-2.0', 'blueoak-1.0.0', 'bsd-2-clause', 'bsd-2-clause-patent',
  'bsd-3-clause', 'bsd-3-clause-clear', 'bsd-4-clause', 'bsl-1.0', 'cc-by-4.0', 'cc-by-sa-4.0', 'cc0-1.0', 'cecill-2.1',
  'cern-ohl-p-2.0', 'cern-ohl-s-2.0', 'cern-ohl-w-2.0', 'ecl-2.0', 'epl-1.0', 'epl-2.0', 'eupl-1.1', 'eupl-1.2',
  'gfdl-1.3', 'gpl-2.0', 'gpl-3.0', 'isc', 'lgpl-2.1', 'lgpl-3.0', 'lppl-1.3c', 'mit', 'mit-0', 'mpl-2.0', 'ms-pl',
  'ms-rl', 'mulanpsl-2.0', 'ncsa', 'odbl-1.0', 'ofl-1.1', 'osl-3.0', 'postgresql', 'unlicense', 'upl-1.0', 'vim',
  'wtfpl', 'zlib',
]);

const RELATION_LABELS: Record<BaseModelRelation, string> = {
  adapter: 'Adapter for',
  finetune: 'Fine-tuned from',
  merge: 'Merged from',
  quantized: 'Quantized from',
};

/** Where the license chip points: the card's own link first, then choosealicense.com. */
export function licenseUrl(card: Pick<ModelCardData, 'license' | 'licenseLink'>, baseUrl?: string): string | undefined {
  if (card.licenseLink !== undefined) {
    try {
      // A relative link ('LICENSE') names a file in the repository.
      const url = new URL(card.licenseLink, baseUrl === undefined ? undefined : baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
      if (url.protocol === 'https:' || url.protocol === 'http:') return url.href;
    } catch {
      // Relative without a base, or not a URL at all: fall through.
    }
  }
  const id = card.license?.toLowerCase();
  return id !== undefined && CHOOSEALICENSE_IDS.has(id) ? `https://choosealicense.com/licenses/${id}/` : undefined;
}

const languageNames = new Intl.DisplayNames(['en'], { type: 'language' });

/** 'fr' → 'French'; codes Intl does not know ('multilingual', 'code') are shown as written. */
function languageName(code: string): string {
  try {
    return languageNames.of(code) ?? code;
  } catch {
    return code;
  }
}

function External({ href, children }: { href: string; children: ReactNode }) {
  return (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  );
}

/** A link to one of the app's model pages; a router's link can replace the plain anchor. */
export type ModelLinkComponent = ComponentType<{ to: string; children: ReactNode }>;

function PlainModelLink({ to, children }: { to: string; children: ReactNode }) {
  return <a href={to}>{children}</a>;
}

export interface CardChipsProps {
  card: ModelCardData;
  /** The repository folder a relative `license_link` resolves against (as for Markdown's `baseUrl`). */
  baseUrl?: string;
  /** Where dataset links point. */
  hubUrl?: string;
  ModelLink?: ModelLinkComponent;
}

function Chip({ label, children }: { label: string; children: ReactNode }) {
  return (
    <li className="card-chip">
      <span className="card-chip-label">{label}</span> <span className="card-chip-value">{children}</span>
    </li>
  );
}

/** The front matter of a model card as a list of labelled chips, as the Hub shows above a card. */
export function CardChips({ card, baseUrl, hubUrl = 'https://huggingface.co', ModelLink = PlainModelLink }: CardChipsProps) {
  const licenseHref = licenseUrl(card, baseUrl);
  const licenseText = card.license === 'other' && card.licenseName ? card.licenseName : card.license;
  // The Hub repeats the license, task and library among the tags; each is shown once here.
  const shown = new Set([card.license, card.pipelineTag, card.libraryName, `license:${card.license}`]);
  const tags = card.tags.filter((tag) => !shown.has(tag));
  const relation = card.baseModelRelation ? RELATION_LABELS[card.baseModelRelation] : 'Base model';

  const chips = [
    licenseText !== undefined && (
      <Chip key="license" label="License">
        {licenseHref ? <External href={licenseHref}>{licenseText}</External> : licenseText}
      </Chip>
    ),
    card.pipelineTag !== undefined && (
      <Chip key="task" label="Task">
        {card.pipelineTag}
      </Chip>
    ),
    card.libraryName !== undefined && (
      <Chip key="library" label="Library">
        {card.libraryName}
      </Chip>
    ),
    ...card.baseModels.map((id) => (
      <Chip key={`base:${id}`} label={relation}>
        {/* Legacy ids without an owner ('gpt2') have no `/<owner>/<name>` page in the app. */}
        {id.includes('/') ? <ModelLink to={`/${id}`}>{id}</ModelLink> : id}
      </Chip>
    )),
    ...card.datasets.map((id) => (
      <Chip key={`dataset:${id}`} label="Dataset">
        <External href={`${hubUrl.replace(/\/+$/, '')}/datasets/${id}`}>{id}</External>
      </Chip>
    )),
    ...card.languages.map((code) => (
      <Chip key={`language:${code}`} label="Language">
        {languageName(code)}
      </Chip>
    )),
    ...tags.map((tag) => (
      <Chip key={`tag:${tag}`} label="Tag">
        {tag}
      </Chip>
    )),
  ].filter(Boolean);
  if (chips.length === 0) return null;

  return (
    <ul className="card-chips" aria-label="Model facts from the card">
      {chips}
    </ul>
  );
}
