// llama.cpp's tokenizer goldens (models/ggml-vocab-*.gguf.inp/.out), which its
// convert_hf_to_gguf_update.py wrote with HF AutoTokenizer.encode(text, add_special_tokens=False).
// Both ways in are checked: GGUF metadata -> tokenizerFromGguf, and HF tokenizer.json -> tokenizerFromJson.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, test } from 'vitest';
import { readGguf } from '../formats/gguf.ts';
import { bytesSource } from '../formats/source.ts';
import { ggufTokenizerFiles } from './fromGguf.ts';
import { type TextTokenizer, tokenizerFromGguf, tokenizerFromJson } from './index.ts';

const fixtures = new URL('../../../test/fixtures/', import.meta.url);
const vocabDir = new URL('ggml-vocab/', fixtures);
const tokenizerDir = new URL('tokenizers/', fixtures);

function goldenCases(name: string): { text: string; ids: number[] }[] {
  const texts = readFileSync(new URL(`ggml-vocab-${name}.gguf.inp`, vocabDir), 'utf8').split('\n__ggml_vocab_test__\n');
  // The .inp file ends with the separator, which leaves one empty entry behind it.
  texts.pop();
  const lines = readFileSync(new URL(`ggml-vocab-${name}.gguf.out`, vocabDir), 'utf8').split('\n');
  return texts.map((text, i) => ({ text, ids: lines[i].split(' ').filter(Boolean).map(Number) }));
}

async function ggufTokenizer(name: string): Promise<TextTokenizer> {
  const bytes = gunzipSync(readFileSync(new URL(`ggml-vocab-${name}.gguf.gz`, vocabDir)));
  const gguf = await readGguf(bytesSource(`ggml-vocab-${name}.gguf`, new Uint8Array(bytes)));
  return tokenizerFromGguf(gguf.metadata);
}

function readJson(path: string): unknown {
  const bytes = readFileSync(new URL(path, tokenizerDir));
  return JSON.parse((path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
}

/** Every golden string whose ids differ, as one readable list (empty when all 46 agree). */
function goldenMismatches(tok: TextTokenizer, name: string): string[] {
  const cases = goldenCases(name);
  expect(cases.length).toBe(46);
  return cases.flatMap(({ text, ids }) => {
    const got = tok.encode(text, { addSpecialTokens: false });
    return JSON.stringify(got) === JSON.stringify(ids) ? [] : [`${JSON.stringify(text)}: got [${got}], want [${ids}]`];
  });
}

function roundTripMismatches(tok: TextTokenizer, name: string): string[] {
  return goldenCases(name).flatMap(({ text, ids }) => {
    const back = tok.decode(ids);
    return back === text ? [] : [`${JSON.stringify(text)} decodes to ${JSON.stringify(back)}`];
  });
}

describe('GGUF SentencePiece (llama)', () => {
  let llamaSpm: TextTokenizer;
  let phi3: TextTokenizer;
  beforeAll(async () => {
    [llamaSpm, phi3] = await Promise.all([ggufTokenizer('llama-spm'), ggufTokenizer('phi-3')]);
  });

  test('llama-spm (Llama 2) goldens', () => {
    expect(goldenMismatches(llamaSpm, 'llama-spm')).toEqual([]);
    expect(roundTripMismatches(llamaSpm, 'llama-spm')).toEqual([]);
  });

  test('llama-spm goldens through tokenizer.json: the GGUF vocabulary saved as HF files and read back', async () => {
    // No Llama 2 tokenizer.json is in the fixtures, so this writes the one the GGUF converts to,
    // as JSON text like a repository would hold, and loads it on the tokenizer.json path.
    const bytes = gunzipSync(readFileSync(new URL('ggml-vocab-llama-spm.gguf.gz', vocabDir)));
    const files = ggufTokenizerFiles((await readGguf(bytesSource('llama-spm', new Uint8Array(bytes)))).metadata);
    const asText = (v: unknown) => JSON.parse(JSON.stringify(v));
    const tok = tokenizerFromJson(asText(files.tokenizerJson), asText(files.tokenizerConfig), asText(files.generationConfig));
    expect(goldenMismatches(tok, 'llama-spm')).toEqual([]);
    expect(roundTripMismatches(tok, 'llama-spm')).toEqual([]);
  });

  test('phi-3 goldens', () => {
    expect(goldenMismatches(phi3, 'phi-3')).toEqual([]);
    expect(roundTripMismatches(phi3, 'phi-3')).toEqual([]);
  });

  test('Llama 2 special tokens: BOS added once, </s> ends generation', () => {
    expect(llamaSpm.bosTokenId).toBe(1);
    expect(llamaSpm.addsBos).toBe(true);
    expect(llamaSpm.eosTokenIds).toEqual([2]);
    expect(llamaSpm.vocabSize).toBe(32000);
    const plain = llamaSpm.encode('Hello world', { addSpecialTokens: false });
    expect(llamaSpm.encode('Hello world')).toEqual([1, ...plain]);
    // Text that already opens with "<s>" (a chat template printing bos_token) gets no second BOS.
    expect(llamaSpm.encode('<s>Hello world')).toEqual(llamaSpm.encode('<s>Hello world', { addSpecialTokens: false }));
    expect(llamaSpm.encode('<s>Hello world').filter((id) => id === 1)).toHaveLength(1);
    expect(llamaSpm.decode([1, ...plain], { skipSpecialTokens: true })).toBe('Hello world');
    expect(llamaSpm.decode([1, ...plain])).toBe('<s> Hello world');
    expect(llamaSpm.chatTemplate).toBeUndefined();
    expect(() => llamaSpm.applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(/no chat template/);
  });

  test('Phi-3: <|end|> ends generation and the GGUF chat template encodes to its control tokens', () => {
    expect(phi3.eosTokenIds).toEqual([32000, 32007]);
    const prompt = phi3.applyChatTemplate([{ role: 'user', content: 'Hi' }]);
    expect(prompt).toBe('<s><|user|>\nHi<|end|>\n<|assistant|>\n');
    // What llama.cpp (node-llama-cpp 3.x, this vocab) gives: BOS once, the markers' trailing
    // newlines swallowed, and "Hi" as ▁Hi (6324) because text after a special token gets the space prefix.
    expect(phi3.encode(prompt)).toEqual([1, 32010, 6324, 32007, 32001]);
    expect(phi3.decode([1, 32010, 6324, 32007, 32001], { skipSpecialTokens: true })).toBe('Hi');
    // Llama 2 has no such flags: the newline stays.
    expect(llamaSpm.encode('</s>\nHi', { addSpecialTokens: false })).toEqual([2, 29871, 13, 18567]);
  });

  test('decode rejects ids outside the vocabulary', () => {
    expect(() => llamaSpm.decode([32000])).toThrow(/not in the tokenizer's vocabulary/);
    expect(() => llamaSpm.decode([-1])).toThrow(/not in the tokenizer's vocabulary/);
    expect(() => llamaSpm.decode([1.5])).toThrow(/not in the tokenizer's vocabulary/);
    expect(llamaSpm.decode([])).toBe('');
  });
});

describe('GGUF byte-level BPE (gpt2)', () => {
  test('gpt-2 goldens', async () => {
    const tok = await ggufTokenizer('gpt-2');
    expect(goldenMismatches(tok, 'gpt-2')).toEqual([]);
    expect(roundTripMismatches(tok, 'gpt-2')).toEqual([]);
    expect(tok.bosTokenId).toBe(50256);
    expect(tok.addsBos).toBe(false);
    expect(tok.eosTokenIds).toEqual([50256]);
    expect(tok.encode('Hello')).toEqual(tok.encode('Hello', { addSpecialTokens: false }));
  });

  test('deepseek-coder goldens (a chain of Split regexes and Unicode digits)', async () => {
    const tok = await ggufTokenizer('deepseek-coder');
    expect(goldenMismatches(tok, 'deepseek-coder')).toEqual([]);
    expect(roundTripMismatches(tok, 'deepseek-coder')).toEqual([]);
    expect(tok.addsBos).toBe(true);
    expect(tok.bosTokenId).toBe(32013);
    // <|EOT|> (32021), DeepSeek-Coder-Instruct's end of turn, is a user-defined piece, found by its text.
    expect(tok.eosTokenIds).toEqual([32014, 32021]);
  });
});

describe('HF tokenizer.json', () => {
  test('gpt-2 goldens (a re-saved tokenizer.json whose "truncation" says 50 tokens)', () => {
    const tok = tokenizerFromJson(readJson('gpt2/tokenizer.json.gz'), readJson('gpt2/tokenizer_config.json'));
    // The longest golden string is well over 50 tokens: exact ids show that nothing truncates.
    expect(Math.max(...goldenCases('gpt-2').map((c) => c.ids.length))).toBeGreaterThan(50);
    expect(goldenMismatches(tok, 'gpt-2')).toEqual([]);
    expect(roundTripMismatches(tok, 'gpt-2')).toEqual([]);
    expect(tok.eosTokenIds).toEqual([50256]);
    expect(tok.addsBos).toBe(false);
  });

  test('llama-bpe (Llama 3) goldens', () => {
    const tok = tokenizerFromJson(readJson('llama3/tokenizer.json.gz'), readJson('llama3/tokenizer_config.json'));
    expect(goldenMismatches(tok, 'llama-bpe')).toEqual([]);
    expect(roundTripMismatches(tok, 'llama-bpe')).toEqual([]);
    // This early revision's post-processor adds no <|begin_of_text|>; its chat template prints it.
    expect(tok.bosTokenId).toBe(128000);
    expect(tok.addsBos).toBe(false);
    // eos_token is <|end_of_text|>, but a chat turn ends with <|eot_id|>.
    expect(tok.eosTokenIds).toEqual([128001, 128009]);
    const prompt = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }]);
    expect(prompt).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    const ids = tok.encode(prompt);
    expect(ids.slice(0, 2)).toEqual([128000, 128006]);
    expect(ids).toContain(128009);
  });

  test('qwen2 goldens (Qwen3 tokenizer.json; Qwen1.5 to 3 share the BPE)', () => {
    const tok = tokenizerFromJson(readJson('qwen3/tokenizer.json.gz'), readJson('qwen3/tokenizer_config.json'));
    expect(goldenMismatches(tok, 'qwen2')).toEqual([]);
    expect(roundTripMismatches(tok, 'qwen2')).toEqual([]);
    expect(tok.bosTokenId).toBeUndefined();
    expect(tok.addsBos).toBe(false);
    expect(tok.eosTokenIds).toEqual([151645, 151643]); // <|im_end|>, <|endoftext|>
    expect(tok.vocabSize).toBe(151669);
    // generation_config.json's list is honoured too.
    const withGeneration = tokenizerFromJson(
      readJson('qwen3/tokenizer.json.gz'),
      readJson('qwen3/tokenizer_config.json'),
      { eos_token_id: [151645, 151667] },
    );
    expect(withGeneration.eosTokenIds).toEqual([151645, 151667, 151643]);
  });

  test('BOS comes from the post-processor template when the config does not say', () => {
    const json = readJson('gpt2/tokenizer.json.gz') as Record<string, unknown>;
    const template = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [50256], tokens: ['<|endoftext|>'] } },
    };
    const tok = tokenizerFromJson({ ...json, post_processor: { type: 'Sequence', processors: [template] } });
    expect(tok.bosTokenId).toBe(50256);
    expect(tok.addsBos).toBe(true);
    expect(tok.encode('Hi')).toEqual([50256, 17250]);
    expect(tok.encode('Hi', { addSpecialTokens: false })).toEqual([17250]);
    // add_bos_token in tokenizer_config.json overrides the template, as transformers' Llama tokenizers do.
    const off = tokenizerFromJson({ ...json, post_processor: template }, { add_bos_token: false });
    expect(off.addsBos).toBe(false);
    expect(off.encode('Hi')).toEqual([17250]);
  });

  test('a tokenizer.json without a model, or with an unknown component, is refused with a typed error', () => {
    expect(() => tokenizerFromJson({ version: '1.0' })).toThrow(expect.objectContaining({ name: 'MissingTokenizerError' }));
    const gpt2 = readJson('gpt2/tokenizer.json.gz') as Record<string, unknown>;
    expect(() => tokenizerFromJson({ ...gpt2, pre_tokenizer: { type: 'NoSuchPreTokenizer' } })).toThrow(
      expect.objectContaining({ name: 'MissingTokenizerError' }),
    );
  });
});
