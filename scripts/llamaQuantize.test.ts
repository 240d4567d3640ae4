// llama.cpp's quantizer from Node (test/llamaQuantize.ts) on our random-weight GGUFs: the types it
// picks, that llama.cpp loads the result, and that our quantizers write the same bytes.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { quantizeRowK, type KType } from '../src/engine/formats/kquant.ts';
import { readGguf, type GgufFile } from '../src/engine/formats/gguf.ts';
import { quantizeRow, type PackedType } from '../src/engine/formats/quant.ts';
import { bytesSource, readTensorF32 } from '../src/engine/formats/source.ts';
import { referenceGreedy } from '../test/llamaCpp.ts';
import { quantizeWithLlamaCpp, type LlamaQuantType } from '../test/llamaQuantize.ts';
import { randomLlamaGguf, storiesTokenizerMetadata } from './randomGguf.ts';

let dir: string;
let f32Path: string;
let f32: GgufFile;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pocket-hub-quantize-'));
  f32Path = join(dir, 'random-f32.gguf');
  const bytes = randomLlamaGguf(await storiesTokenizerMetadata());
  await writeFile(f32Path, bytes);
  f32 = await readGguf(bytesSource('random-f32.gguf', bytes));
});

async function quantized(type: LlamaQuantType): Promise<{ path: string; bytes: Uint8Array; gguf: GgufFile }> {
  const path = join(dir, `random-${type}.gguf`);
  await quantizeWithLlamaCpp(f32Path, path, type);
  const bytes = new Uint8Array(await readFile(path));
  return { path, bytes, gguf: await readGguf(bytesSource(path, bytes)) };
}

const typesOf = (gguf: GgufFile) => Object.fromEntries(gguf.tensors.map((t) => [t.name, t.dtype]));

test('Q8_0: every matrix Q8_0, norms kept F32, and llama.cpp runs it', async () => {
  const { path, gguf } = await quantized('Q8_0');
  expect(gguf.metadata['general.file_type']).toBe(7);
  for (const t of gguf.tensors) expect(t.dtype, t.name).toBe(t.shape.length === 1 ? 'F32' : 'Q8_0');
  expect(await referenceGreedy(path, [1, 403, 407], 8)).toHaveLength(8);
});

test('Q4_K_M: mostly Q4_K, Q6_K for the output and the attn_v / ffn_down layers llama.cpp favours', async () => {
  const { path, gguf } = await quantized('Q4_K_M');
  expect(gguf.metadata['general.file_type']).toBe(15);
  const types = typesOf(gguf);
  // llama.cpp's use_more_bits(i, n) for n = 2 layers is true for layer 1 only (i ≥ 7n/8 = 1).
  const q6 = ['output.weight', 'blk.1.attn_v.weight', 'blk.1.ffn_down.weight'];
  for (const [name, dtype] of Object.entries(types)) {
    const shape = gguf.tensors.find((t) => t.name === name)!.shape;
    expect(dtype, name).toBe(shape.length === 1 ? 'F32' : q6.includes(name) ? 'Q6_K' : 'Q4_K');
  }
  expect(await referenceGreedy(path, [1, 403, 407], 8)).toHaveLength(8);
});

// Without an importance matrix llama-quantize uses the reference row quantizers, which ours follow
// rounding for rounding: any difference is a bug on one side, so the bytes must be identical.
describe.each(['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K_M', 'Q5_K_M', 'Q6_K'] as const)('%s', (type) => {
  test('our quantizers write llama.cpp’s bytes for every tensor', async () => {
    const { bytes, gguf } = await quantized(type);
    for (const t of gguf.tensors) {
      if (t.dtype === 'F32') continue;
      const values = await readTensorF32(f32.tensors.find((s) => s.name === t.name)!);
      const ours = t.dtype.endsWith('_K') ? quantizeRowK(t.dtype as KType, values) : quantizeRow(t.dtype as PackedType, values);
      const theirs = bytes.subarray(t.offset, t.offset + t.byteLength);
      const first = theirs.findIndex((b, i) => b !== ours[i]);
      expect(ours.length, t.name).toBe(theirs.length);
      expect(first, `${t.name} (${t.dtype}) first differs at byte ${first}`).toBe(-1);
    }
  });
});
