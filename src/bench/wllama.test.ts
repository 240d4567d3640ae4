import { describe, expect, test } from 'vitest';
import { randomLlamaGguf, storiesTokenizerMetadata } from '../../scripts/randomGguf.ts';
import { nonUtf8Bias, vocabulary } from './wllama.ts';

/** The bytes llama.cpp emits for a SentencePiece piece: a byte token's byte, else the text with ▁ as a space. */
function pieceBytes(piece: string): Uint8Array {
  const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
  return byte ? Uint8Array.of(Number.parseInt(byte[1], 16)) : new TextEncoder().encode(piece.replaceAll('\u2581', ' '));
}

describe('wllama logit bias', () => {
  test('bans exactly the byte tokens of 0x80-0xFF, in either hex case', () => {
    const tokens = ['<unk>', '<s>', '</s>', '<0x00>', '<0x7F>', '<0x80>', '<0xff>', '\u2581the', '<0x85>x', '0x85'];
    expect(Object.keys(nonUtf8Bias(tokens))).toEqual(['5', '6']);
    for (const bias of Object.values(nonUtf8Bias(tokens))) expect(bias).toBeLessThan(-1e6);
  });

  test('on a bench model, every token left allowed decodes to valid UTF-8 on its own', async () => {
    const gguf = randomLlamaGguf(await storiesTokenizerMetadata(), { type: 'Q8_0', hiddenSize: 64, intermediateSize: 128, layers: 1, heads: 1, kvHeads: 1 });
    // A copy: Blob's typings take only ArrayBuffer-backed views.
    const tokens = await vocabulary('random.gguf', new Blob([new Uint8Array(gguf)]));
    const bias = nonUtf8Bias(tokens);
    // stories260K falls back to bytes for all 256 values; the upper half is never UTF-8 alone.
    expect(Object.keys(bias)).toHaveLength(128);
    // Valid pieces concatenate to valid text, so no completion of allowed tokens can break wllama's JSON.
    const strict = new TextDecoder('utf-8', { fatal: true });
    tokens.forEach((piece, id) => {
      if (!(id in bias)) expect(() => strict.decode(pieceBytes(piece)), `${id} ${piece}`).not.toThrow();
    });
  });
});
