import { Tokenizer } from '@huggingface/tokenizers';
import { InvalidArgumentError, MissingTokenizerError } from '../../protocol/errors.ts';
import { type ChatMessage, ChatTemplate, pickChatTemplate } from './chatTemplate.ts';
import { ggufTokenizerFiles } from './fromGguf.ts';

export type { ChatMessage } from './chatTemplate.ts';

export interface TextTokenizer {
  /**
   * Text to ids. Special-token text in the input (e.g. "<|im_start|>" from a chat template) becomes
   * its special id. `addSpecialTokens` (default true) prepends BOS when the model adds one, unless
   * the text already starts with it (chat templates often print `bos_token` themselves). EOS is
   * never appended, whatever add_eos_token says: a prompt must leave the model free to continue.
   */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
  /** One past the largest id the tokenizer knows; the model's embedding table may be padded beyond it. */
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  /** Every id that ends generation: eos, and end-of-turn ids such as <|eot_id|>, <|im_end|> or <end_of_turn>. */
  readonly eosTokenIds: number[];
  readonly addsBos: boolean;
  readonly chatTemplate?: string;
  /** Renders messages with the model's chat template; throws InvalidArgumentError when it has none or it fails. */
  applyChatTemplate(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
}

/**
 * Builds a tokenizer from a parsed tokenizer.json and, optionally, tokenizer_config.json (special
 * tokens, add_bos_token, chat_template) and generation_config.json (its eos_token_id list).
 */
export function tokenizerFromJson(
  tokenizerJson: unknown,
  tokenizerConfig?: unknown,
  generationConfig?: unknown,
): TextTokenizer {
  return new HfTextTokenizer(tokenizerJson, tokenizerConfig, generationConfig);
}

/** Builds a tokenizer from a GGUF's metadata key/values (`tokenizer.ggml.*`, `tokenizer.chat_template`). */
export function tokenizerFromGguf(metadata: Record<string, unknown>): TextTokenizer {
  const files = ggufTokenizerFiles(metadata);
  return new HfTextTokenizer(files.tokenizerJson, files.tokenizerConfig, files.generationConfig);
}

// End-of-turn markers of common chat formats, among a model's added tokens. Configs name one
// eos_token, while a chat turn ends with one of these (llama.cpp keeps a similar list).
const endOfTurnTexts = new Set([
  '<|eot_id|>',
  '<|eom_id|>',
  '<|end_of_text|>',
  '<|im_end|>',
  '<|end|>',
  '<|endoftext|>',
  '<end_of_turn>',
  '<|EOT|>',
  '<EOT>',
  '<\uff5cend\u2581of\u2581sentence\uff5c>',
]);

interface TemplateProcessing {
  type: 'TemplateProcessing';
  single?: unknown[];
  special_tokens?: Record<string, { ids?: number[] }>;
}

class HfTextTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenIds: number[];
  readonly addsBos: boolean;
  readonly chatTemplate?: string;
  private readonly tokenizer: Tokenizer;
  private readonly template?: ChatTemplate;

  constructor(tokenizerJson: unknown, tokenizerConfig: unknown, generationConfig: unknown) {
    if (!isRecord(tokenizerJson) || !isRecord(tokenizerJson.model)) {
      throw new MissingTokenizerError('tokenizer.json has no "model" section.');
    }
    const config = isRecord(tokenizerConfig) ? tokenizerConfig : {};
    const json: Record<string, unknown> = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      added_tokens: [],
      ...tokenizerJson,
    };
    json.pre_tokenizer = withUnicodeDigits(json.pre_tokenizer);
    try {
      // Never "clean up" spaces before punctuation on decode: it changes the model's text ("a ." -> "a.")
      // and breaks the prefix property StreamDecoder relies on.
      this.tokenizer = new Tokenizer(json, { ...config, clean_up_tokenization_spaces: false });
    } catch (err) {
      throw new MissingTokenizerError(
        `The tokenizer cannot be built: ${err instanceof Error ? err.message : String(err)}`,
        'This tokenizer uses a feature Pocket Hub cannot run yet. Pick another model.',
      );
    }
    const tok = this.tokenizer;
    this.vocabSize = tok.model?.vocab.length ?? 0;

    const idOf = (text: string | undefined) => (text === undefined ? undefined : tok.token_to_id(text));

    const leading = leadingTemplateIds(json.post_processor);
    this.bosTokenId = idOf(tokenText(config.bos_token)) ?? leading[0];
    // add_bos_token wins where present: transformers' Llama/Gemma tokenizers rebuild their
    // post-processor from it. Otherwise BOS is added when the post-processor template starts with it.
    const addBos =
      typeof config.add_bos_token === 'boolean'
        ? config.add_bos_token
        : this.bosTokenId !== undefined && leading.includes(this.bosTokenId);
    this.addsBos = addBos && this.bosTokenId !== undefined;

    const eos = new Set<number>();
    const eosId = idOf(tokenText(config.eos_token));
    if (eosId !== undefined) eos.add(eosId);
    const generationEos = isRecord(generationConfig) ? generationConfig.eos_token_id : undefined;
    for (const id of [generationEos].flat()) if (typeof id === 'number' && id < this.vocabSize) eos.add(id);
    // By text, whether or not the token is marked special (DeepSeek-Coder's <|EOT|> is not), as llama.cpp does.
    for (const [id, added] of tok.get_added_tokens_decoder()) if (endOfTurnTexts.has(added.content)) eos.add(id);
    this.eosTokenIds = [...eos];

    this.chatTemplate = pickChatTemplate(config.chat_template);
    if (this.chatTemplate !== undefined) {
      this.template = new ChatTemplate(this.chatTemplate, {
        bos_token: tokenText(config.bos_token),
        eos_token: tokenText(config.eos_token),
        unk_token: tokenText(config.unk_token),
        pad_token: tokenText(config.pad_token),
      });
    }
  }

  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    if (typeof text !== 'string') throw new InvalidArgumentError('encode() needs a string.');
    // The library maps a piece outside the vocab to the unk id, or to undefined when the model has
    // no unk token; such pieces are dropped, as HF's BPE does without an unk token.
    const ids = this.tokenizer
      .encode(text, { add_special_tokens: false })
      .ids.filter((id): id is number => id !== undefined);
    const bos = this.bosTokenId;
    if ((options.addSpecialTokens ?? true) && this.addsBos && bos !== undefined && ids[0] !== bos) ids.unshift(bos);
    return ids;
  }

  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.tokenizer.id_to_token(id) === undefined) {
        throw new InvalidArgumentError(`Token id ${id} is not in the tokenizer's vocabulary of ${this.vocabSize}.`);
      }
    }
    return this.tokenizer.decode(ids, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  applyChatTemplate(messages: ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.template) {
      throw new InvalidArgumentError(
        'This model has no chat template.',
        'Use plain text completion with this model, or pick an instruction-tuned model.',
      );
    }
    return this.template.render(messages, options.addGenerationPrompt ?? true);
  }
}

/**
 * Incremental detokenizer for streaming: `push(id)` returns only the text that id completes.
 * Decoding ids one at a time is wrong twice over: a character split over byte tokens (<0xF0>
 * <0x9F> …) would come out as U+FFFD pieces, and SentencePiece decoders drop the leading space
 * of whatever they decode first. So each push decodes a short window that starts at the previous
 * emitted chunk and returns what grew past that chunk's text, holding back while the window ends
 * in an incomplete character (as transformers' TextStreamer and TGI do).
 */
export class StreamDecoder {
  private readonly ids: number[];
  private prefixOffset = 0;
  private readOffset: number;
  private readonly skipSpecialTokens: boolean;

  /**
   * `context`: ids that precede the generated ones (the prompt's last few), so that the first
   * generated word keeps its leading space. `skipSpecialTokens` (default true) leaves markers
   * such as <|im_end|> out of the text.
   */
  constructor(
    private readonly tok: TextTokenizer,
    options: { context?: number[]; skipSpecialTokens?: boolean } = {},
  ) {
    this.ids = [...(options.context ?? [])];
    this.readOffset = this.ids.length;
    this.skipSpecialTokens = options.skipSpecialTokens ?? true;
  }

  push(id: number): string {
    this.ids.push(id);
    return this.emit(false);
  }

  /** Returns whatever is still held back (an unfinished character comes out as U+FFFD). */
  flush(): string {
    return this.emit(true);
  }

  private emit(final: boolean): string {
    const options = { skipSpecialTokens: this.skipSpecialTokens };
    const before = this.tok.decode(this.ids.slice(this.prefixOffset, this.readOffset), options);
    const after = this.tok.decode(this.ids.slice(this.prefixOffset), options);
    if (after.length <= before.length || (!final && after.endsWith('\uFFFD'))) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return after.slice(before.length);
  }
}

/**
 * The library's Digits pre-tokenizer splits on JavaScript's ASCII-only \d, while the Rust one
 * splits on every Unicode number (char::is_numeric: "½", "²", "٣"). The same split as an
 * isolating \p{N} regex makes StarCoder-style tokenizers agree with HF on such text.
 */
function withUnicodeDigits(preTokenizer: unknown): unknown {
  if (!isRecord(preTokenizer)) return preTokenizer;
  if (preTokenizer.type === 'Sequence' && Array.isArray(preTokenizer.pretokenizers)) {
    return { ...preTokenizer, pretokenizers: preTokenizer.pretokenizers.map(withUnicodeDigits) };
  }
  if (preTokenizer.type !== 'Digits') return preTokenizer;
  const regex = preTokenizer.individual_digits === true ? '\\p{N}' : '\\p{N}+';
  return { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false };
}

/** tokenizer_config.json names special tokens as a string or as an AddedToken object `{content}`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

/** Ids a TemplateProcessing post-processor puts before the text ("<s> $A"), also inside a Sequence. */
function leadingTemplateIds(postProcessor: unknown): number[] {
  if (!isRecord(postProcessor)) return [];
  if (postProcessor.type === 'Sequence' && Array.isArray(postProcessor.processors)) {
    return postProcessor.processors.flatMap(leadingTemplateIds);
  }
  if (postProcessor.type !== 'TemplateProcessing') return [];
  const template = postProcessor as unknown as TemplateProcessing;
  const ids: number[] = [];
  for (const item of template.single ?? []) {
    if (!isRecord(item) || !isRecord(item.SpecialToken)) break;
    const name = item.SpecialToken.id;
    ids.push(...(typeof name === 'string' ? (template.special_tokens?.[name]?.ids ?? []) : []));
  }
  return ids;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
