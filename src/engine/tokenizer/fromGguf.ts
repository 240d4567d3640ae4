import { CorruptFileError, MissingTokenizerError, UnsupportedArchitectureError } from '../../protocol/errors.ts';

// A GGUF carries its tokenizer as `tokenizer.ggml.*` metadata. Rather than writing a second
// tokenizer, this file restates that metadata as the three Hugging Face files it was converted
// from (tokenizer.json, tokenizer_config.json, generation_config.json), so GGUF and safetensors
// models run through one tokenizer implementation.

/** The HF files a GGUF's tokenizer metadata stands for, in their JSON shapes. */
export interface HfTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  generationConfig: { eos_token_id: number[] };
}

/** The tokenizer.json a GGUF's tokenizer metadata converts to. */
export function tokenizerJsonFromGguf(metadata: Record<string, unknown>): Record<string, unknown> {
  return ggufTokenizerFiles(metadata).tokenizerJson;
}

/**
 * `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type). The others, 5 (unused) and
 * 6 (byte, the <0xXX> pieces), need no handling beyond being vocab entries.
 */
const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4 } as const;

const SPACE_MARK = '\u2581'; // SentencePiece's "▁", which stands for a space inside pieces

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: false;
  lstrip: false;
  rstrip: boolean;
  normalized: false;
  special: boolean;
}

export function ggufTokenizerFiles(metadata: Record<string, unknown>): HfTokenizerFiles {
  const model = metadata['tokenizer.ggml.model'];
  const tokens = metadata['tokenizer.ggml.tokens'];
  if (typeof model !== 'string' || !Array.isArray(tokens)) {
    throw new MissingTokenizerError('The GGUF file has no tokenizer metadata (tokenizer.ggml.model and tokens).');
  }
  if (!tokens.every((t): t is string => typeof t === 'string')) {
    throw new CorruptFileError('GGUF tokenizer.ggml.tokens is not a list of strings.');
  }
  const types = numberList(metadata, 'tokenizer.ggml.token_type', tokens.length) ?? tokens.map(() => TokenType.normal);
  const tokenId = (key: string): number | undefined => {
    const id = metadata[`tokenizer.ggml.${key}`];
    // Absent ids are stored as -1, which u32 fields read back as 4294967295.
    return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < tokens.length ? id : undefined;
  };
  const unkId = tokenId('unknown_token_id') ?? indexOrUndefined(types.indexOf(TokenType.unknown));
  // Phi-3 and 3.5 (SentencePiece); Phi-4-mini shares the architecture name but not the tokenizer.
  const addedTokens = addedTokensOf(tokens, types, unkId, model === 'llama' && isPhi3(metadata));

  let tokenizerJson: Record<string, unknown>;
  let addBosDefault: boolean;
  if (model === 'llama') {
    const scores = numberList(metadata, 'tokenizer.ggml.scores', tokens.length);
    if (!scores) throw new CorruptFileError('GGUF SentencePiece tokenizer has no tokenizer.ggml.scores.');
    const addSpacePrefix = metadata['tokenizer.ggml.add_space_prefix'] !== false;
    tokenizerJson = sentencePieceJson(tokens, types, scores, unkId, addSpacePrefix, addedTokens);
    addBosDefault = true;
  } else if (model === 'gpt2') {
    const pre = metadata['tokenizer.ggml.pre'];
    const preName = typeof pre === 'string' ? pre : 'default';
    const preTokenization = byteLevelPreTokenizers.get(preName);
    if (!preTokenization) {
      throw new UnsupportedArchitectureError(
        `The GGUF tokenizer uses the '${preName}' pre-tokenizer, which Pocket Hub does not know.`,
        'Pick a GGUF of a Llama, Qwen, GPT-2 or StarCoder-style model.',
      );
    }
    tokenizerJson = byteLevelJson(metadata, tokens, addedTokens, preTokenization);
    addBosDefault = preTokenization.addsBos ?? false;
  } else {
    throw new UnsupportedArchitectureError(
      `The GGUF tokenizer type '${model}' is not supported (only 'llama' SentencePiece and 'gpt2' byte-level BPE are).`,
    );
  }

  const textOf = (id: number | undefined) => (id === undefined ? undefined : tokens[id]);
  const bosId = tokenId('bos_token_id');
  const eosId = tokenId('eos_token_id');
  const addBos = metadata['tokenizer.ggml.add_bos_token'];
  const chatTemplate = metadata['tokenizer.chat_template'];
  const tokenizerConfig: Record<string, unknown> = {
    bos_token: textOf(bosId),
    eos_token: textOf(eosId),
    unk_token: textOf(unkId),
    pad_token: textOf(tokenId('padding_token_id')),
    add_bos_token: typeof addBos === 'boolean' ? addBos : addBosDefault,
    chat_template: typeof chatTemplate === 'string' ? chatTemplate : undefined,
  };
  const endIds = [eosId, tokenId('eot_token_id'), tokenId('eom_token_id')].filter((id) => id !== undefined);
  return { tokenizerJson, tokenizerConfig, generationConfig: { eos_token_id: endIds } };
}

/**
 * Control and user-defined pieces are matched whole in the input text, as both llama.cpp and HF do;
 * control ones are "special" (skippable when decoding), user-defined ones are ordinary text.
 */
function addedTokensOf(
  tokens: string[],
  types: number[],
  unkId: number | undefined,
  phi3: boolean,
): AddedTokenJson[] {
  const added: AddedTokenJson[] = [];
  tokens.forEach((content, id) => {
    const type = types[id];
    if (type !== TokenType.control && type !== TokenType.userDefined && id !== unkId) return;
    const special = type !== TokenType.userDefined;
    const rstrip = phi3 && !phi3KeepsWhitespace.has(content);
    added.push({ id, content, single_word: false, lstrip: false, rstrip, normalized: false, special });
  });
  return added;
}

/**
 * Phi-3's tokenizer.json marks its chat markers rstrip, so the newline its template prints after
 * "<|user|>" is swallowed ("<|user|>\nHi" -> <|user|> ▁Hi). The GGUF drops those flags; llama.cpp
 * restores them by model name for every special token but these three, and so do we.
 */
const phi3KeepsWhitespace = new Set(['<unk>', '<s>', '<|endoftext|>']);

function isPhi3(metadata: Record<string, unknown>): boolean {
  const name = metadata['general.name'];
  return metadata['general.architecture'] === 'phi3' || (typeof name === 'string' && /phi-?3/i.test(name));
}

/**
 * SentencePiece BPE as HF's LlamaConverter writes it (the "legacy" form): a normaliser that
 * prepends "▁" and turns spaces into "▁", no pre-tokenizer, and BPE merges ranked by the score
 * of the piece they produce. The prepend runs on every stretch of text between special tokens,
 * which is also what llama.cpp does (it re-adds the space prefix after each special token).
 */
function sentencePieceJson(
  tokens: string[],
  types: number[],
  scores: number[],
  unkId: number | undefined,
  addSpacePrefix: boolean,
  addedTokens: AddedTokenJson[],
): Record<string, unknown> {
  const vocab = vocabOf(tokens);
  const spaceToMark = { type: 'Replace', pattern: { String: ' ' }, content: SPACE_MARK };
  const decoders: unknown[] = [
    { type: 'Replace', pattern: { String: SPACE_MARK }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
  ];
  // Undo the prepended "▁" once, at the start of the decoded text.
  if (addSpacePrefix) decoders.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: addSpacePrefix
      ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SPACE_MARK }, spaceToMark] }
      : spaceToMark,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Sequence', decoders },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unkId === undefined ? null : tokens[unkId],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: mergesFromScores(tokens, types, scores, vocab),
    },
  };
}

/**
 * SentencePiece BPE has no merge list: it repeatedly joins the adjacent pair whose concatenation
 * is the highest-scoring piece. Listing every (left, right) split of every normal piece, ordered
 * by that piece's score, gives a BPE merge table that makes the same choices. Equal scores fall
 * back to piece id, then left and right ids, the order HF's SentencePieceExtractor uses; where
 * two different pieces tie, SentencePiece would take the leftmost pair instead, which a rank
 * table cannot say. Such ties are rare (15 of Llama 2's 31,741 normal pieces share a score) and
 * matter only when both pairs are candidates at once; the Llama 2 goldens all agree.
 */
function mergesFromScores(
  tokens: string[],
  types: number[],
  scores: number[],
  vocab: Record<string, number>,
): [string, string][] {
  const isNormal = (piece: string) => {
    const id = vocab[piece];
    return id !== undefined && types[id] === TokenType.normal;
  };
  const merges: { left: string; right: string; score: number; id: number; leftId: number; rightId: number }[] = [];
  tokens.forEach((piece, id) => {
    if (types[id] !== TokenType.normal || vocab[piece] !== id) return;
    // Split on code-point boundaries: half a surrogate pair is never a piece.
    let cut = 0;
    for (const ch of piece) {
      cut += ch.length;
      if (cut >= piece.length) break;
      const left = piece.slice(0, cut);
      const right = piece.slice(cut);
      if (isNormal(left) && isNormal(right)) {
        merges.push({ left, right, score: scores[id], id, leftId: vocab[left], rightId: vocab[right] });
      }
    }
  });
  merges.sort((a, b) => b.score - a.score || a.id - b.id || a.leftId - b.leftId || a.rightId - b.rightId);
  return merges.map((m) => [m.left, m.right]);
}

interface ByteLevelPreTokenization {
  preTokenizer: unknown;
  normalizer?: unknown;
  /** Whole words already in the vocab skip the merges (Llama 3's tokenizer.json sets this). */
  ignoreMerges?: boolean;
  /** llama.cpp's default for `add_bos_token` when the GGUF leaves it out. */
  addsBos?: boolean;
}

// HF's GPT-2 byte-level pre-tokenizer with its built-in regex.
const gpt2ByteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
// The byte-to-unicode mapping alone, after a Split has cut the words.
const byteLevelOnly = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

function splitThenBytes(...regexes: string[]): unknown {
  return {
    type: 'Sequence',
    pretokenizers: [
      ...regexes.map((regex) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false })),
      byteLevelOnly,
    ],
  };
}

// The word-splitting regexes of the tokenizer.json files these GGUFs were converted from.
const llama3Regex =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// Qwen2 differs from Llama 3 only in splitting numbers into single digits.
const qwen2Regex = llama3Regex.replace('\\p{N}{1,3}', '\\p{N}');

const llama3: ByteLevelPreTokenization = { preTokenizer: splitThenBytes(llama3Regex), ignoreMerges: true, addsBos: true };
const qwen2: ByteLevelPreTokenization = { preTokenizer: splitThenBytes(qwen2Regex), normalizer: { type: 'NFC' } };
const gpt2: ByteLevelPreTokenization = { preTokenizer: gpt2ByteLevel };
const digitsThenGpt2: ByteLevelPreTokenization = {
  preTokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, gpt2ByteLevel] },
};

/** `tokenizer.ggml.pre` names (llama.cpp's convert_hf_to_gguf_update.py) to HF pre-tokenizers. */
const byteLevelPreTokenizers = new Map<string, ByteLevelPreTokenization>([
  ['default', gpt2],
  ['gpt-2', gpt2],
  ['gpt2', gpt2],
  ['mpt', gpt2],
  ['olmo', gpt2],
  ['llama-bpe', llama3],
  ['llama3', llama3],
  ['smaug-bpe', llama3],
  ['dbrx', llama3],
  ['qwen2', qwen2],
  ['deepseek-r1-qwen', qwen2],
  ['stablelm2', qwen2],
  ['starcoder', digitsThenGpt2],
  ['refact', digitsThenGpt2],
  ['command-r', digitsThenGpt2],
  ['smollm', digitsThenGpt2],
  [
    'falcon',
    {
      // HF's Punctuation pre-tokenizer counts ASCII symbols such as $+<=>^`|~ as punctuation too.
      preTokenizer: {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: '[\\p{P}!-/:-@\\[-`{-~]+' }, behavior: 'Isolated', invert: false },
          gpt2ByteLevel,
          { type: 'Digits', individual_digits: false },
          { type: 'Split', pattern: { Regex: '[0-9][0-9][0-9]' }, behavior: 'Isolated', invert: false },
        ],
      },
    },
  ],
  [
    'deepseek-coder',
    {
      preTokenizer: {
        type: 'Sequence',
        pretokenizers: [
          ...['[\\r\\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', '[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+'].map((regex) => ({
            type: 'Split',
            pattern: { Regex: regex },
            behavior: 'Isolated',
            invert: false,
          })),
          { type: 'Digits', individual_digits: true },
          byteLevelOnly,
        ],
      },
      addsBos: true,
    },
  ],
]);

function byteLevelJson(
  metadata: Record<string, unknown>,
  tokens: string[],
  addedTokens: AddedTokenJson[],
  pre: ByteLevelPreTokenization,
): Record<string, unknown> {
  const merges = metadata['tokenizer.ggml.merges'];
  if (!Array.isArray(merges) || !merges.every((m) => typeof m === 'string')) {
    throw new CorruptFileError('GGUF byte-level BPE tokenizer has no tokenizer.ggml.merges list.');
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: pre.normalizer ?? null,
    pre_tokenizer: pre.preTokenizer,
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: pre.ignoreMerges ?? false,
      vocab: vocabOf(tokens),
      merges: merges.map(splitMerge),
    },
  };
}

/** "Ġ t" -> ["Ġ", "t"]. Byte-level pieces never hold a real space, so the first space past index 0 separates them. */
function splitMerge(merge: string): [string, string] {
  const at = merge.indexOf(' ', 1);
  if (at < 0) throw new CorruptFileError(`GGUF merge "${merge}" has no space between its two pieces.`);
  return [merge.slice(0, at), merge.slice(at + 1)];
}

/** Piece -> id; a repeated piece keeps its first id, as HF's vocab (a map) would. */
function vocabOf(tokens: string[]): Record<string, number> {
  const vocab: Record<string, number> = Object.create(null);
  tokens.forEach((piece, id) => {
    if (!(piece in vocab)) vocab[piece] = id;
  });
  return vocab;
}

function numberList(metadata: Record<string, unknown>, key: string, length: number): number[] | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length !== length || !value.every((v) => typeof v === 'number')) {
    throw new CorruptFileError(`GGUF ${key} is not a list of ${length} numbers.`);
  }
  return value;
}

function indexOrUndefined(index: number): number | undefined {
  return index < 0 ? undefined : index;
}
