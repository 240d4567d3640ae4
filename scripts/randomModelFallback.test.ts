// Random models with real hidden sizes that are not whole 256-weight super-blocks (SmolLM2-135M's
// 576): the per-tensor fallback types of llama.cpp's quantizer, held to that quantizer itself.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { storedType } from '../src/bench/quantFallback.ts';
import { readGguf, type GgufFile } from '../src/engine/formats/gguf.ts';
import { quantizeRowK, type KType } from '../src/engine/formats/kquant.ts';
import { quantizeRow, type PackedType } from '../src/engine/formats/quant.ts';
import { bytesSource, readTensorF32 } from '../src/engine/formats/source.ts';
import { quantizeWithLlamaCpp, type LlamaQuantType } from '../test/llamaQuantize.ts';
import { storiesTokenizerMetadata } from './randomGguf.ts';
import { randomModel, type RandomModelOptions } from './randomModel.ts';

describe('storedType: llama.cpp’s tensor_type_fallback', () => {
  test('K-quants keep rows of whole super-blocks and fall back to a 32-weight type otherwise', () => {
    // The row lengths of the bench's models: hidden sizes 576, 896, 2048 and FFN widths 1536, 4864, 8192.
    const rows = [576, 896, 2048, 1536, 4864, 8192];
    expect(rows.map((k) => storedType('Q4_K', k))).toEqual(['Q5_0', 'Q5_0', 'Q4_K', 'Q4_K', 'Q4_K', 'Q4_K']);
    expect(rows.map((k) => storedType('Q5_K', k))).toEqual(['Q5_1', 'Q5_1', 'Q5_K', 'Q5_K', 'Q5_K', 'Q5_K']);
    expect(rows.map((k) => storedType('Q6_K', k))).toEqual(['Q8_0', 'Q8_0', 'Q6_K', 'Q6_K', 'Q6_K', 'Q6_K']);
  });

  test('32-weight types and floats keep any row they divide; F16 where no block fits', () => {
    for (const type of ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1'] as const) expect(storedType(type, 576), type).toBe(type);
    expect(storedType('F32', 700)).toBe('F32');
    // 720 = 22.5 blocks of 32: the fallback does not fit either.
    expect(storedType('Q4_K', 720)).toBe('F16');
    expect(storedType('Q8_0', 720)).toBe('F16');
  });
});

/** SmolLM2-135M's layer (hidden 576, 9 heads and 3 KV heads of 64, FFN 1536), one of them, tied. */
const SMOL_LAYER: Partial<RandomModelOptions> = { hiddenSize: 576, intermediateSize: 1536, heads: 9, kvHeads: 3, layers: 1, tied: true, seed: 7 };

// Every matrix but ffn_down has rows of 576 (attn_output's too: 9 heads of 64), and so does the embedding.
const HIDDEN_ROWS = ['token_embd.weight', 'blk.0.attn_q.weight', 'blk.0.attn_k.weight', 'blk.0.attn_v.weight', 'blk.0.attn_output.weight', 'blk.0.ffn_gate.weight', 'blk.0.ffn_up.weight'];

const typesOf = (gguf: GgufFile) => Object.fromEntries(gguf.tensors.filter((t) => t.shape.length === 2).map((t) => [t.name, t.dtype]));

function encode(dtype: string, values: Float32Array): Uint8Array {
  return dtype.endsWith('_K') ? quantizeRowK(dtype as KType, values) : quantizeRow(dtype as PackedType, values);
}

let dir: string;
let f32: GgufFile;
let f32Path: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pocket-hub-fallback-'));
  f32Path = join(dir, 'smol-f32.gguf');
  const bytes = randomModel(await storiesTokenizerMetadata(), SMOL_LAYER).gguf();
  await writeFile(f32Path, bytes);
  f32 = await readGguf(bytesSource(f32Path, bytes));
});

// Quantizing in JS is most of this file's time: each of our files, and each tensor's expected
// bytes, is made once.
const files = new Map<KType, Promise<{ bytes: Uint8Array; gguf: GgufFile }>>();
const expectedBytes = new Map<string, Uint8Array>();

function ours(type: KType): Promise<{ bytes: Uint8Array; gguf: GgufFile }> {
  let file = files.get(type);
  if (!file) {
    file = storiesTokenizerMetadata().then(async (tokenizer) => {
      const bytes = randomModel(tokenizer, { ...SMOL_LAYER, type }).gguf();
      return { bytes, gguf: await readGguf(bytesSource(`smol-${type}.gguf`, bytes)) };
    });
    files.set(type, file);
  }
  return file;
}

async function llamaCpp(type: LlamaQuantType): Promise<{ bytes: Uint8Array; gguf: GgufFile }> {
  const path = join(dir, `smol-${type}.gguf`);
  await quantizeWithLlamaCpp(f32Path, path, type);
  const bytes = new Uint8Array(await readFile(path));
  return { bytes, gguf: await readGguf(bytesSource(path, bytes)) };
}

/** The tensor's bytes in `file`, which must be the F32 model's values through our quantizer of its type. */
async function expectOurBytes(file: { bytes: Uint8Array; gguf: GgufFile }, name: string): Promise<void> {
  const t = file.gguf.tensors.find((x) => x.name === name)!;
  const key = `${name} ${t.dtype}`;
  let expected = expectedBytes.get(key);
  if (!expected) {
    expected = encode(t.dtype, await readTensorF32(f32.tensors.find((x) => x.name === name)!));
    expectedBytes.set(key, expected);
  }
  expect(Buffer.compare(file.bytes.subarray(t.offset, t.offset + t.byteLength), expected), `${name} (${t.dtype})`).toBe(0);
}

describe('a K-quant random model with hidden 576', () => {
  test.each([
    ['Q4_K', 'Q5_0'],
    ['Q5_K', 'Q5_1'],
    ['Q6_K', 'Q8_0'],
  ] as const)('%s: the 576-wide rows in %s, ffn_down in the K-quant, each the F32 values quantized', async (type, fallback) => {
    const file = await ours(type);
    const types = typesOf(file.gguf);
    expect(Object.keys(types).sort()).toEqual([...HIDDEN_ROWS, 'blk.0.ffn_down.weight'].sort());
    for (const name of HIDDEN_ROWS) expect(types[name], name).toBe(fallback);
    expect(types['blk.0.ffn_down.weight']).toBe(type);
    for (const name of Object.keys(types)) await expectOurBytes(file, name);
  });

  test('llama.cpp’s Q6_K of the same F32 file is ours tensor for tensor, byte for byte', async () => {
    // The Q6_K mix changes nothing but the tied embedding, which it stores in Q8_0 when its rows
    // are not whole super-blocks: the fallback's type as well.
    const theirs = await llamaCpp('Q6_K');
    const mine = await ours('Q6_K');
    expect(typesOf(theirs.gguf)).toEqual(typesOf(mine.gguf));
    for (const name of Object.keys(typesOf(theirs.gguf))) await expectOurBytes(theirs, name);
  });

  test.each([
    ['Q4_K_M', 'Q4_K', 'Q5_0'],
    ['Q5_K_M', 'Q5_K', 'Q5_1'],
  ] as const)('llama.cpp’s %s stores the %s matrices of 576-wide rows in %s, as ours', async (mix, type, fallback) => {
    const theirs = await llamaCpp(mix);
    const types = typesOf(theirs.gguf);
    // The mix asks for more bits where it favours them (the one layer counts as the first
    // eighth): attn_v and ffn_down in Q6_K, attn_v then falling back to Q8_0; the tied embedding
    // is Q8_0 by the mix's own rule for rows that are not whole super-blocks.
    expect(types).toEqual({
      'token_embd.weight': 'Q8_0',
      'blk.0.attn_q.weight': fallback,
      'blk.0.attn_k.weight': fallback,
      'blk.0.attn_v.weight': 'Q8_0',
      'blk.0.attn_output.weight': fallback,
      'blk.0.ffn_gate.weight': fallback,
      'blk.0.ffn_up.weight': fallback,
      'blk.0.ffn_down.weight': 'Q6_K',
    });
    const mine = typesOf((await ours(type)).gguf);
    for (const [name, dtype] of Object.entries(types)) if (dtype === fallback) expect(mine[name], name).toBe(fallback);
    for (const name of Object.keys(types)) await expectOurBytes(theirs, name);
  });
});
