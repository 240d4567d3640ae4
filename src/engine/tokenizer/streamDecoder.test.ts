import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, test } from 'vitest';
import { readGguf } from '../formats/gguf.ts';
import { bytesSource } from '../formats/source.ts';
import { StreamDecoder, type TextTokenizer, tokenizerFromGguf } from './index.ts';

const fixtures = new URL('../../../test/fixtures/', import.meta.url);

async function ggufTokenizer(path: string): Promise<TextTokenizer> {
  let bytes: Uint8Array = readFileSync(new URL(path, fixtures));
  if (path.endsWith('.gz')) bytes = gunzipSync(bytes);
  return tokenizerFromGguf((await readGguf(bytesSource(path, new Uint8Array(bytes)))).metadata);
}

let spm: TextTokenizer; // stories260K: 512 pieces, so most non-ASCII text is byte-fallback tokens
let byteLevel: TextTokenizer; // GPT-2: characters outside its merges span several byte-level tokens
beforeAll(async () => {
  [spm, byteLevel] = await Promise.all([
    ggufTokenizer('../../hub/models/pocket-hub/stories260K-GGUF/stories260K.gguf'),
    ggufTokenizer('ggml-vocab/ggml-vocab-gpt-2.gguf.gz'),
  ]);
});

const texts = [
  'Once upon a time, there was a girl.',
  'Emoji 🙂 then 👩\u200d👩\u200d👧 family',
  'Ünïcödé 日本語 text\nwith  lines',
  ' leading space and 12345 digits',
];

/** Streams ids after `context` one by one and returns every chunk, the final flush last. */
function stream(tok: TextTokenizer, ids: number[], contextLength: number): string[] {
  const decoder = new StreamDecoder(tok, { context: ids.slice(0, contextLength) });
  const chunks = ids.slice(contextLength).map((id) => decoder.push(id));
  chunks.push(decoder.flush());
  return chunks;
}

describe.each([
  ['SentencePiece with byte fallback', () => spm],
  ['byte-level BPE', () => byteLevel],
])('%s', (_name, getTok) => {
  test('chunks join to the decoded text, from any context split at a character boundary', () => {
    const tok = getTok();
    for (const text of texts) {
      const ids = tok.encode(text, { addSpecialTokens: false });
      const full = tok.decode(ids);
      expect(full).toBe(text);
      for (let k = 0; k < ids.length; k++) {
        const head = tok.decode(ids.slice(0, k));
        // A prompt is whole text: a context that ends inside a character is not a case to cover.
        if (!full.startsWith(head)) continue;
        const chunks = stream(tok, ids, k);
        expect(chunks.join(''), `${JSON.stringify(text)} after ${k} ids`).toBe(full.slice(head.length));
        for (const chunk of chunks) expect(chunk).not.toContain('\uFFFD');
        expect(chunks.at(-1), 'nothing is left for flush() when the text ends complete').toBe('');
      }
    }
  });
});

test('an emoji split over four byte tokens comes out whole, on the fourth push', () => {
  const ids = spm.encode('a 🙂', { addSpecialTokens: false });
  expect(ids.slice(-4)).toEqual([3 + 0xf0, 3 + 0x9f, 3 + 0x99, 3 + 0x82]);
  const decoder = new StreamDecoder(spm);
  expect(ids.map((id) => decoder.push(id))).toEqual(['a', ' ', '', '', '', '🙂']);
});

test('the context keeps the space before the first generated word', () => {
  const prompt = spm.encode('Once upon a time');
  const next = spm.encode('Once upon a time there').slice(prompt.length);
  expect(next.length).toBeGreaterThan(0);
  const withContext = new StreamDecoder(spm, { context: prompt });
  expect(next.map((id) => withContext.push(id)).join('')).toBe(' there');
  // Decoded alone, a SentencePiece decoder drops a leading space.
  const alone = new StreamDecoder(spm);
  expect(next.map((id) => alone.push(id)).join('')).toBe('there');
});

test('special tokens are left out unless asked for; flush() gives up on an unfinished character', () => {
  const skipping = new StreamDecoder(spm);
  expect([1, ...spm.encode('Hi', { addSpecialTokens: false }), 2].map((id) => skipping.push(id)).join('')).toBe('Hi');

  const keeping = new StreamDecoder(spm, { skipSpecialTokens: false, context: spm.encode('Hi') });
  expect(keeping.push(2)).toBe('</s>');

  const cut = new StreamDecoder(spm);
  expect([3 + 0xf0, 3 + 0x9f].map((id) => cut.push(id))).toEqual(['', '']);
  // TextDecoder turns a truncated sequence into one U+FFFD (WHATWG "maximal subpart" rule).
  expect(cut.flush()).toBe('\uFFFD');
  expect(cut.flush()).toBe('');
});
