// Which files of a repository a model needs. Hub repos often hold several copies of the same
// weights (safetensors and GGUF, a dozen quantisations, an `original/` folder): downloading
// only the chosen set is what keeps a first load from costing gigabytes more than it must.
import { InvalidArgumentError, MissingFileError } from '../protocol/errors.ts';
import type { HubFile } from './client.ts';

export interface GgufChoice {
  file: HubFile;
  /** Quantisation named in the file name, upper case ('Q4_K_M', 'F16'); 'unknown' when absent. */
  quant: string;
  size: number;
}

export type FileChoice = { kind: 'safetensors'; files: HubFile[] } | { kind: 'gguf'; file: HubFile; choices: GgufChoice[] };

export interface ChooseOptions {
  /** A GGUF to use instead of safetensors: its path, or a quantisation such as 'Q8_0'. */
  gguf?: string;
  /**
   * The parsed `model.safetensors.index.json`. With it the shards are exactly the files its
   * weight map names; without it they are inferred from the `-0000i-of-0000n` file names.
   */
  index?: { weight_map: Record<string, string> };
}

const DEFAULT_QUANT = 'Q4_K_M';
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];
const SHARD_INDEX = 'model.safetensors.index.json';

// The quantisation names llama.cpp writes into file names, delimited by '-' or '.'
// (`model-Q4_K_M.gguf`, `model.Q8_0.gguf`, `qwen2.5-0.5b-instruct-q4_k_m.gguf`).
const QUANT_PATTERN =
  /(?:^|[-.])(IQ[1-4]_(?:XXS|XS|NL|S|M)|TQ[12]_0|Q[2-8]_K(?:_(?:XL|S|M|L))?|Q[4-8]_[01](?:_[48]_[48])?|MXFP4|BF16|F16|FP16|F32|FP32)(?=[-.]|$)/i;

export function ggufQuant(path: string): string {
  const name = (path.split('/').pop() ?? path).replace(/\.gguf$/i, '');
  return QUANT_PATTERN.exec(name)?.[1].toUpperCase() ?? 'unknown';
}

/**
 * The GGUF files a user can pick from, smallest first. Left out: split parts
 * (`-00001-of-00003.gguf`, which llama.cpp loads as a set and the engine reads as one file)
 * and `mmproj` vision projectors, which are not language models.
 */
export function listGgufChoices(files: HubFile[]): GgufChoice[] {
  return files
    .filter((f) => /\.gguf$/i.test(f.path))
    .filter((f) => !/-\d{5}-of-\d{5}\.gguf$/i.test(f.path) && !/(^|\/)mmproj/i.test(f.path))
    .map((file) => ({ file, quant: ggufQuant(file.path), size: file.size }))
    .sort((a, b) => a.size - b.size || (a.file.path < b.file.path ? -1 : 1));
}

function pickGguf(choices: GgufChoice[], wanted?: string): GgufChoice {
  if (wanted !== undefined) {
    const byPath = choices.find((c) => c.file.path === wanted);
    const byQuant = choices.find((c) => c.quant === wanted.toUpperCase());
    const pick = byPath ?? byQuant;
    if (!pick) {
      throw new MissingFileError(
        `No GGUF '${wanted}' in the repository; it has ${choices.map((c) => c.file.path).join(', ') || 'none'}.`,
        'Pick one of the GGUF files listed on the model page.',
      );
    }
    return pick;
  }
  // Q4_K_M is the size/quality point most GGUF repos recommend; the list is sorted by size,
  // so `find` takes the smallest when there are several.
  return choices.find((c) => c.quant === DEFAULT_QUANT) ?? choices[0];
}

function shardFiles(files: HubFile[], byPath: Map<string, HubFile>, index?: ChooseOptions['index']): HubFile[] {
  if (index) {
    const names = [...new Set(Object.values(index.weight_map))].sort();
    const missing = names.filter((n) => !byPath.has(n));
    if (missing.length > 0) throw new MissingFileError(`${SHARD_INDEX} names shards the repository lacks: ${missing.join(', ')}.`);
    return names.map((n) => byPath.get(n)!);
  }
  const sets = new Map<number, HubFile[]>();
  for (const f of files) {
    const m = /^model-(\d{5})-of-(\d{5})\.safetensors$/.exec(f.path);
    if (!m) continue;
    const total = Number(m[2]);
    sets.set(total, [...(sets.get(total) ?? []), f]);
  }
  const complete = [...sets].filter(([total, shards]) => shards.length === total);
  if (complete.length !== 1) {
    throw new InvalidArgumentError(
      complete.length === 0
        ? `The repository has ${SHARD_INDEX} but no complete set of model-0000i-of-0000n.safetensors shards.`
        : `The repository has ${complete.length} complete sets of shards; read ${SHARD_INDEX} and pass it to choose.`,
    );
  }
  return complete[0][1].sort((a, b) => (a.path < b.path ? -1 : 1));
}

function safetensorsWeights(files: HubFile[], byPath: Map<string, HubFile>, index?: ChooseOptions['index']): HubFile[] | undefined {
  // transformers loads model.safetensors before the sharded index when both exist.
  const single = byPath.get('model.safetensors');
  if (single) return [single];
  const indexFile = byPath.get(SHARD_INDEX);
  if (indexFile) return [indexFile, ...shardFiles(files, byPath, index)];
  const rootWeights = files.filter((f) => !f.path.includes('/') && f.path.endsWith('.safetensors'));
  return rootWeights.length === 1 ? rootWeights : undefined;
}

/**
 * The files to download for a repo: config, tokenizer files and safetensors weights (a single
 * file, or the shard index and its shards), or one GGUF when the repo has no safetensors or a
 * GGUF was asked for. Only files at the repo's root count as HF-format weights.
 */
export function chooseFiles(files: HubFile[], options: ChooseOptions = {}): FileChoice {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const choices = listGgufChoices(files);
  if (options.gguf === undefined) {
    const weights = safetensorsWeights(files, byPath, options.index);
    if (weights) {
      const config = byPath.get('config.json');
      if (!config) throw new MissingFileError('The repository has safetensors weights but no config.json.');
      const tokenizer = TOKENIZER_FILES.flatMap((name) => byPath.get(name) ?? []);
      return { kind: 'safetensors', files: [config, ...tokenizer, ...weights] };
    }
  }
  if (choices.length === 0) {
    throw new MissingFileError(
      options.gguf === undefined ? 'The repository has neither safetensors weights nor a GGUF file.' : `The repository has no GGUF files.`,
      'Pocket Hub loads safetensors (with config.json) or GGUF models.',
    );
  }
  return { kind: 'gguf', file: pickGguf(choices, options.gguf).file, choices };
}
