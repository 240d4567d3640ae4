// stories260K's 512-piece SentencePiece BPE (llama2.c, MIT) through the GGUF path, checked
// against llama.cpp itself (node-llama-cpp, CPU) as an independent tokenizer.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, test } from 'vitest';
import { loadReference } from '../../../test/llamaCpp.ts';
import { readGguf } from '../formats/gguf.ts';
import { bytesSource } from '../formats/source.ts';
import { tokenizerJsonFromGguf } from './fromGguf.ts';
import { type TextTokenizer, tokenizerFromGguf, tokenizerFromJson } from './index.ts';

const modelPath = fileURLToPath(new URL('../../../hub/models/pocket-hub/stories260K-GGUF/stories260K.gguf', import.meta.url));

let metadata: Record<string, unknown>;
let tok: TextTokenizer;
beforeAll(async () => {
  metadata = (await readGguf(bytesSource('stories260K.gguf', new Uint8Array(readFileSync(modelPath))))).metadata;
  tok = tokenizerFromGguf(metadata);
});

// Leading/trailing/double spaces, tabs and newlines (byte-fallback pieces), digits, accents,
// CJK and emoji (which this 512-piece vocab only has as bytes), punctuation runs, the empty string.
const texts = [
  'Once upon a time',
  ' leading space',
  '  two leading spaces',
  'trailing spaces  ',
  'Tab\there',
  'new\nline\n\nand blank line\n',
  'digits 1234567 and 3.14',
  'Café naïve façade',
  '日本語のテキスト',
  'emoji 🙂 and 👩\u200d👩\u200d👧',
  'MiXeD CaSe!!! ???',
  'Zoë said: "hi"—ok…',
  '',
  ' ',
  '\n',
  'x'.repeat(40),
];

test('BOS + "Once upon a time" is [1, 403, 407, 261, 378]', () => {
  expect(tok.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
  expect(tok.bosTokenId).toBe(1);
  expect(tok.addsBos).toBe(true);
  expect(tok.eosTokenIds).toEqual([2]);
  expect(tok.vocabSize).toBe(512);
});

test('ids and text agree with llama.cpp on varied strings', async () => {
  const reference = await loadReference(modelPath);
  for (const text of texts) {
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(ids, JSON.stringify(text)).toEqual([...reference.tokenize(text, false)]);
    expect(tok.encode(text), JSON.stringify(text)).toEqual([1, ...ids]);
    expect(tok.decode(ids), JSON.stringify(text)).toBe(text);
    expect(tok.decode(ids), JSON.stringify(text)).toBe(reference.detokenize(ids as never));
  }
});

test('byte-fallback pieces decode to the character they spell', () => {
  const ids = tok.encode('🙂', { addSpecialTokens: false });
  // "▁" then the four UTF-8 bytes F0 9F 99 82 as <0xXX> pieces (ids 3 + byte).
  expect(ids).toEqual([tok.encode(' ', { addSpecialTokens: false })[0], 3 + 0xf0, 3 + 0x9f, 3 + 0x99, 3 + 0x82]);
  expect(tok.decode(ids)).toBe('🙂');
  expect(tok.decode([1, ...ids, 2], { skipSpecialTokens: true })).toBe('🙂');
});

test('the tokenizer.json written from the GGUF tokenizes the same after a trip through JSON text', () => {
  const json: unknown = JSON.parse(JSON.stringify(tokenizerJsonFromGguf(metadata)));
  const fromJson = tokenizerFromJson(json, { bos_token: '<s>', eos_token: '</s>', add_bos_token: true });
  expect(fromJson.addsBos).toBe(true);
  for (const text of texts) {
    const ids = tok.encode(text);
    expect(fromJson.encode(text), JSON.stringify(text)).toEqual(ids);
    expect(fromJson.decode(ids, { skipSpecialTokens: true }), JSON.stringify(text)).toBe(text);
  }
});
