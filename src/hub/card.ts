// Reads a Hub README.md: YAML front matter (the card data the Hub shows as chips and uses to
// configure Spaces) and the markdown body. The text is written by anyone, so nothing here
// throws: a field of the wrong type is dropped with a warning, and YAML that does not parse
// leaves the body intact with no data.
import { parseDocument, type YAMLError } from 'yaml';
import type { SamplingOptions } from '../protocol/index.ts';

export interface ParsedCard<Data> {
  data: Data;
  /** The markdown after the front matter (the whole file when there is none). */
  body: string;
  /** Human-readable problems with the front matter, for the card's author. */
  warnings: string[];
}

export const BASE_MODEL_RELATIONS = ['adapter', 'merge', 'quantized', 'finetune'] as const;
export type BaseModelRelation = (typeof BASE_MODEL_RELATIONS)[number];

export interface ModelCardData {
  /** A Hub license id such as 'apache-2.0', or 'other' with `licenseName`/`licenseLink`. */
  license?: string;
  licenseName?: string;
  /** A URL, or a path in the repository such as 'LICENSE'. */
  licenseLink?: string;
  pipelineTag?: string;
  libraryName?: string;
  tags: string[];
  /** `language` is a code or a list of codes on the Hub; always a list here. */
  languages: string[];
  /** Hub dataset ids. */
  datasets: string[];
  /** Hub model ids; several when the model is a merge. */
  baseModels: string[];
  /**
   * Only as the card states it. The Hub infers a missing relation from the repository's files
   * (a GGUF-only repo reads as quantized) by a rule it does not publish, so none is guessed here.
   */
  baseModelRelation?: BaseModelRelation;
  modelName?: string;
}

/** The Hub's gradient colours for a Space's thumbnail; any other value is rejected by the Hub. */
export const SPACE_COLORS = ['red', 'yellow', 'green', 'blue', 'indigo', 'purple', 'pink', 'gray'] as const;
export type SpaceColor = (typeof SPACE_COLORS)[number];

/** The Hub's SDKs (streamlit is retired but older Spaces still name it) and Pocket Hub's two. */
export const SPACE_SDKS = ['gradio', 'streamlit', 'docker', 'static', 'chat', 'completion'] as const;
export type SpaceSdk = (typeof SPACE_SDKS)[number];

/** What a `chat` or `completion` Space declares instead of shipping code. */
export interface DeclarativeSpace {
  /** For `sdk: chat`; a completion Space has no system turn and ignores it. */
  systemPrompt?: string;
  examplePrompts: string[];
  /** Only the parameters the card sets; the rest keep the user's settings. */
  sampling: Partial<Omit<SamplingOptions, 'seed'>> & { maxTokens?: number };
}

export interface SpaceCardData {
  title?: string;
  emoji?: string;
  colorFrom?: SpaceColor;
  colorTo?: SpaceColor;
  sdk?: SpaceSdk;
  appFile?: string;
  shortDescription?: string;
  thumbnail?: string;
  /** Hub model ids the Space uses. */
  models: string[];
  datasets: string[];
  tags: string[];
  pinned?: boolean;
  license?: string;
  disableEmbedding?: boolean;
  fullWidth?: boolean;
  /** Present exactly when `sdk` is 'chat' or 'completion'. */
  declarative?: DeclarativeSpace;
}

// `---` alone on the first line (after an optional byte-order mark), then the YAML, then `---`
// alone on a line. Lazy, so the first closing fence ends the block as on the Hub; `\r?` keeps
// files saved with Windows line ends working.
const FRONT_MATTER = /^\uFEFF?---[ \t]*\r?\n(?:([\s\S]*?)\r?\n)?---[ \t]*(?:\r?\n|$)/;
const OPENING_FENCE = /^\uFEFF?---[ \t]*\r?\n/;

/** Splits the YAML block from the markdown; `yaml` is undefined when the file has none. */
export function splitFrontMatter(readme: string): { yaml?: string; body: string; warnings: string[] } {
  const match = FRONT_MATTER.exec(readme);
  if (match) return { yaml: match[1] ?? '', body: readme.slice(match[0].length), warnings: [] };
  const warnings = OPENING_FENCE.test(readme) ? ['The front matter has no closing `---` line; it is shown as markdown.'] : [];
  return { body: readme.replace(/^\uFEFF/, ''), warnings };
}

// A Hub repo id: an optional owner, then a name; letters, digits, '-', '_' and '.', never starting
// with '.' or '-'. Ids become link paths, so this also keeps '..' segments and URLs out of them.
const REPO_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

/** Reads typed fields out of the parsed mapping, collecting a warning for each rejected one. */
class FieldReader {
  readonly warnings: string[] = [];

  constructor(private readonly fields: Record<string, unknown>) {}

  private value(key: string): unknown {
    return Object.hasOwn(this.fields, key) ? this.fields[key] : undefined;
  }

  private reject(key: string, expected: string): undefined {
    this.warnings.push(`\`${key}\` must be ${expected}; it is ignored.`);
    return undefined;
  }

  string(key: string): string | undefined {
    const value = this.value(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.trim() === '') return this.reject(key, 'a non-empty string');
    return value.trim();
  }

  boolean(key: string): boolean | undefined {
    const value = this.value(key);
    if (value === undefined || value === null) return undefined;
    return typeof value === 'boolean' ? value : this.reject(key, 'true or false');
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    return (allowed as readonly string[]).includes(value) ? (value as T) : this.reject(key, `one of ${allowed.join(', ')}`);
  }

  number(key: string, min: number, max: number, integer = false): number | undefined {
    const value = this.value(key);
    if (value === undefined || value === null) return undefined;
    const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
    return ok ? value : this.reject(key, `${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }

  /**
   * A string or a list of strings, always returned as a list. Items of another type are dropped
   * one by one, so a single bad tag does not cost the others.
   */
  strings(key: string, check?: { pattern: RegExp; expected: string }): string[] {
    const value = this.value(key);
    if (value === undefined || value === null) return [];
    const items = Array.isArray(value) ? value : [value];
    const kept: string[] = [];
    for (const item of items) {
      if (typeof item !== 'string' || item.trim() === '') {
        this.reject(key, 'a string or a list of strings');
      } else if (check && !check.pattern.test(item.trim())) {
        this.warnings.push(`\`${key}\`: '${item}' is not ${check.expected}; it is ignored.`);
      } else {
        kept.push(item.trim());
      }
    }
    return [...new Set(kept)];
  }

  repoIds(key: string): string[] {
    return this.strings(key, { pattern: REPO_ID, expected: 'a Hub repo id (owner/name)' });
  }

  /** A single character as people see it (one grapheme), so a title cannot hide in the emoji slot. */
  emoji(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    const graphemes = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(value)];
    return graphemes.length === 1 ? value : this.reject(key, 'a single emoji');
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0].replace(/:$/, '');
}

/** The parser's message with the line counted in the README, which is what the author has open. */
function yamlProblem(error: YAMLError): string {
  const what = firstLine(error.message).replace(/ at line \d+, column \d+$/, '');
  const at = error.linePos?.[0];
  // The YAML starts on the README's second line, after the opening fence.
  return at ? `${what} (line ${at.line + 1}, column ${at.col})` : what;
}

/** The front matter as a plain mapping, or undefined with warnings when it is not one. */
function readFrontMatter(readme: string): { fields?: Record<string, unknown>; body: string; warnings: string[] } {
  const { yaml, body, warnings } = splitFrontMatter(readme);
  if (yaml === undefined) return { body, warnings };
  // YAML 1.2 (the library's default): `language: no` stays the Norwegian code instead of
  // becoming `false` as YAML 1.1 would make it. Duplicate keys stay errors (the library's
  // default): which of the two values the author meant cannot be known.
  const doc = parseDocument(yaml);
  if (doc.errors.length > 0) {
    return { body, warnings: [...warnings, ...doc.errors.map((e) => `The front matter is not valid YAML: ${yamlProblem(e)}.`)] };
  }
  let value: unknown;
  try {
    // toJS throws when aliases expand past its limit (a "billion laughs" card).
    value = doc.toJS();
  } catch (e) {
    return { body, warnings: [...warnings, `The front matter could not be read: ${firstLine(String((e as Error).message))}.`] };
  }
  if (value === null || value === undefined) return { fields: {}, body, warnings };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { body, warnings: [...warnings, 'The front matter must be a mapping of `key: value` lines.'] };
  }
  return { fields: value as Record<string, unknown>, body, warnings };
}

export function parseModelCard(readme: string): ParsedCard<ModelCardData> {
  const { fields, body, warnings } = readFrontMatter(readme);
  const read = new FieldReader(fields ?? {});
  // `widget`, `model-index`, `inference` and other keys the model page does not show are ignored.
  const data: ModelCardData = {
    license: read.string('license'),
    licenseName: read.string('license_name'),
    licenseLink: read.string('license_link'),
    pipelineTag: read.string('pipeline_tag'),
    libraryName: read.string('library_name'),
    tags: read.strings('tags'),
    languages: read.strings('language'),
    datasets: read.repoIds('datasets'),
    baseModels: read.repoIds('base_model'),
    baseModelRelation: read.oneOf('base_model_relation', BASE_MODEL_RELATIONS),
    modelName: read.string('model_name'),
  };
  return { data: withoutUndefined(data), body, warnings: [...warnings, ...read.warnings] };
}

export function parseSpaceCard(readme: string): ParsedCard<SpaceCardData> {
  const { fields, body, warnings } = readFrontMatter(readme);
  const read = new FieldReader(fields ?? {});
  const sdk = read.oneOf('sdk', SPACE_SDKS);
  const data: SpaceCardData = {
    title: read.string('title'),
    emoji: read.emoji('emoji'),
    colorFrom: read.oneOf('colorFrom', SPACE_COLORS),
    colorTo: read.oneOf('colorTo', SPACE_COLORS),
    sdk,
    appFile: read.string('app_file'),
    shortDescription: read.string('short_description'),
    thumbnail: read.string('thumbnail'),
    models: read.repoIds('models'),
    datasets: read.repoIds('datasets'),
    tags: read.strings('tags'),
    pinned: read.boolean('pinned'),
    license: read.string('license'),
    disableEmbedding: read.boolean('disable_embedding'),
    fullWidth: read.boolean('fullWidth'),
  };
  if (sdk === 'chat' || sdk === 'completion') {
    // The same ranges as the sampling form (store/sampling.ts), so a card's values always pass
    // it; max_tokens is capped by the model's context later, once the model is known.
    const sampling = withoutUndefined({
      temperature: read.number('temperature', 0, 2),
      topK: read.number('top_k', 0, 1_000_000, true),
      topP: read.number('top_p', 0.01, 1),
      repetitionPenalty: read.number('repetition_penalty', 1, 2),
      maxTokens: read.number('max_tokens', 1, Number.MAX_SAFE_INTEGER, true),
    });
    data.declarative = withoutUndefined({
      systemPrompt: read.string('system_prompt'),
      examplePrompts: read.strings('example_prompts'),
      sampling,
    });
  }
  return { data: withoutUndefined(data), body, warnings: [...warnings, ...read.warnings] };
}

/** Drops absent optional fields so that results compare and serialise cleanly. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
