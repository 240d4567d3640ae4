// The engine on a random model with SmolLM2-135M's real layer shape (hidden 576, 9 heads and 3 KV
// heads of 64, FFN 1536), one layer of it, in Q4_K: its 576-wide rows are not whole super-blocks,
// so those matrices (and the tied embedding, which is also the LM head) are stored in Q5_0,
// llama.cpp's fallback (randomModel.ts, storedType), and only ffn_down is Q4_K, as in the bench's
// Q4_K models. Q6_K's fallback, Q8_0, goes through the same packed path as Q5_0; another file would
// double the time (most of it the engine's pipelines compiling on a software GPU).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { diskLocation, fileSource } from '../src/cli/nodeFiles.ts';
import { Engine } from '../src/engine/engine.ts';
import { readGguf } from '../src/engine/formats/gguf.ts';
import { agreement, dense, expectWithin, sequence, type Bounds } from '../test/agreement.ts';
import { referenceProbabilities } from '../test/llamaCpp.ts';
import { storiesTokenizerMetadata } from './randomGguf.ts';
import { randomModel } from './randomModel.ts';

const VOCAB = 512;
// One prefill chunk: enough positions for the bounds below, few enough to keep the file's time small.
const POSITIONS = 48;

/*
 * llama.cpp runs the F32 file of the values our file's matrices decode to (decodedGguf), so it
 * rounds no activations and both engines compute the same f32 model, differing only in the order
 * of their sums: ~1e-6 relative per matmul, on logits of ~6 (up to ~20 at the top), so ε ≲ 1e-4
 * and TV ≤ 2ε (reference.dawn.test.ts's F32 bound). A top-1 flip needs two logits closer than
 * ε, odds of ~1e-4 per position: every position must agree. Reading a fallback tensor in the
 * wrong type or block size scrambles its rows, and one wrong matrix moves whole distributions.
 */
const DECODED: Bounds = { minTop1: 1, maxTv: 2e-4 };

const engine = new Engine();
let path: string;
let decodedPath: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pocket-hub-fallback-'));
  const model = randomModel(await storiesTokenizerMetadata(), { hiddenSize: 576, intermediateSize: 1536, heads: 9, kvHeads: 3, layers: 1, tied: true, type: 'Q4_K', seed: 3 });
  const bytes = model.gguf();
  path = join(dir, 'smol-Q4_K.gguf');
  decodedPath = join(dir, 'smol-Q4_K-decoded.gguf');
  await writeFile(path, bytes);
  await writeFile(decodedPath, model.decodedGguf());
  // An f32 KV cache, as llama.cpp's is here (test/llamaCpp.ts).
  await engine.loadFrom(await diskLocation(path), { kvCache: 'f32' });
});
afterAll(() => engine.unload());

test('the file mixes Q5_0 and Q4_K', async () => {
  const gguf = await readGguf(await fileSource(path));
  const types = Object.fromEntries(gguf.tensors.filter((t) => t.shape.length === 2).map((t) => [t.name, t.dtype]));
  expect(types).toEqual({
    'token_embd.weight': 'Q5_0',
    'blk.0.attn_q.weight': 'Q5_0',
    'blk.0.attn_k.weight': 'Q5_0',
    'blk.0.attn_v.weight': 'Q5_0',
    'blk.0.attn_output.weight': 'Q5_0',
    'blk.0.ffn_gate.weight': 'Q5_0',
    'blk.0.ffn_up.weight': 'Q5_0',
    'blk.0.ffn_down.weight': 'Q4_K',
  });
});

test(`${POSITIONS} teacher-forced positions agree with llama.cpp on the decoded weights`, async () => {
  const ids = sequence(5, POSITIONS, VOCAB);
  const ours = dense((await engine.score(ids, { topK: VOCAB })).positions.map((p) => p.top), VOCAB);
  const reference = dense(await referenceProbabilities(decodedPath, ids, VOCAB), VOCAB);
  const vs = agreement(ours, reference);
  console.log(`Q4_K with Q5_0: against llama.cpp on the decoded weights ${vs.summary}`);
  expectWithin(vs, DECODED, 'llama.cpp (decoded weights)');
});
