import { describe, expect, it } from 'vitest';
import { storiesTokenizerMetadata } from '../../../scripts/randomGguf.ts';
import { RANDOM_MODELS, randomModel, type RandomPreset } from '../../../scripts/randomModel.ts';
import { CorruptFileError, MissingFileError, UnsupportedArchitectureError } from '../../protocol/errors.ts';
import type { Architecture, ModelConfig } from '../config.ts';
import { configFromGguf } from '../configGguf.ts';
import { configFromHf } from '../configHf.ts';
import { readGguf } from '../formats/gguf.ts';
import { readSafetensors } from '../formats/safetensors.ts';
import { writeGguf } from '../formats/ggufWriter.ts';
import { quantizeRowK } from '../formats/kquant.ts';
import { bytesSource, readTensorF32, type TensorInfo } from '../formats/source.ts';
import { gpuWeightBytes, weightStorage } from './gpuWeights.ts';
import { llamaTensors, type LlamaTensors } from './weights.ts';

/**
 * A small config of each architecture: hidden 8, 2 heads of 4 (gemma and qwen3: of 8, wider than
 * hidden/heads), 1 KV head, FFN 12, 2 layers. Only what llamaTensors reads matters.
 */
function config(architecture: Architecture, over: Partial<ModelConfig> = {}): ModelConfig {
  const gemma = architecture === 'gemma2' || architecture === 'gemma3';
  const gpt2 = architecture === 'gpt2';
  const headDim = gemma || architecture === 'qwen3' ? 8 : 4;
  return {
    architecture,
    hiddenSize: 8,
    intermediateSize: 12,
    layers: 2,
    heads: 2,
    kvHeads: 1,
    headDim,
    vocabSize: 16,
    contextLength: 32,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    ropeDim: gpt2 ? 0 : headDim,
    tieEmbeddings: false,
    eosTokenIds: [],
    norm: gpt2 ? 'layer' : 'rms',
    activation: gemma || gpt2 ? 'gelu_tanh' : 'silu',
    gatedFfn: !gpt2,
    positions: gpt2 ? 'learned' : 'rope',
    qkNorm: architecture === 'qwen3' || architecture === 'gemma3',
    postNorms: gemma,
    embeddingScale: 1,
    attentionScale: 1 / Math.sqrt(headDim),
    normWeightOffset: 0,
    ...over,
  };
}

/** F32 tensor headers laid end to end in one (empty-bytes) source: naming tests read no data. */
function headers(file: string, shapes: Record<string, number[]>): TensorInfo[] {
  const source = bytesSource(file, new Uint8Array(0));
  let offset = 0;
  return Object.entries(shapes).map(([name, shape]) => {
    const byteLength = shape.reduce((a, b) => a * b, 1) * 4;
    const t = { name, dtype: 'F32', shape, source, offset, byteLength };
    offset += byteLength;
    return t;
  });
}

/** The tensor names of each part, `[part]` marking a row view of a fused tensor. */
function names(t: LlamaTensors): Record<string, unknown> {
  const layer = (l: object) => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, (v as TensorInfo).name]));
  const { layers, ...top } = t;
  return { ...layer(top), layers: layers.map(layer) };
}

/** GGUF blocks with llama.cpp's names: `parts` of blk.i, plus token_embd, output_norm and `extra`. */
function ggufHeaders(layerShapes: Record<string, number[]>, extra: Record<string, number[]> = {}): TensorInfo[] {
  const shapes: Record<string, number[]> = { 'token_embd.weight': [16, 8], 'output_norm.weight': [8], ...extra };
  for (const i of [0, 1]) for (const [part, shape] of Object.entries(layerShapes)) shapes[`blk.${i}.${part}`] = shape;
  return headers('model.gguf', shapes);
}

const llamaLayer = {
  'attn_norm.weight': [8],
  'attn_q.weight': [8, 8],
  'attn_k.weight': [4, 8],
  'attn_v.weight': [4, 8],
  'attn_output.weight': [8, 8],
  'ffn_norm.weight': [8],
  'ffn_gate.weight': [12, 8],
  'ffn_up.weight': [12, 8],
  'ffn_down.weight': [8, 12],
};

describe('llamaTensors names each architecture as llama.cpp and transformers do', () => {
  it('GGUF llama: the Llama 3 rope_freqs, an untied output, and no optional tensor that is absent', () => {
    const t = llamaTensors('gguf', ggufHeaders(llamaLayer, { 'output.weight': [16, 8], 'rope_freqs.weight': [2] }), config('llama'));
    expect(names(t)).toEqual({
      embedding: 'token_embd.weight',
      output: 'output.weight',
      outputNorm: 'output_norm.weight',
      ropeFreqs: 'rope_freqs.weight',
      layers: [0, 1].map((i) => ({
        attnNorm: `blk.${i}.attn_norm.weight`,
        q: `blk.${i}.attn_q.weight`,
        k: `blk.${i}.attn_k.weight`,
        v: `blk.${i}.attn_v.weight`,
        o: `blk.${i}.attn_output.weight`,
        ffnNorm: `blk.${i}.ffn_norm.weight`,
        gate: `blk.${i}.ffn_gate.weight`,
        up: `blk.${i}.ffn_up.weight`,
        down: `blk.${i}.ffn_down.weight`,
      })),
    });
    // Only llama.cpp's llama loader reads rope_freqs.
    const qwen = llamaTensors('gguf', ggufHeaders(llamaLayer, { 'rope_freqs.weight': [2] }), config('qwen2', { tieEmbeddings: true }));
    expect(qwen.ropeFreqs).toBeUndefined();
    expect(qwen.output).toBeUndefined();
  });

  it('GGUF qwen2 and qwen3: q/k/v biases where present, head norms where required', () => {
    const biases = { 'attn_q.bias': [8], 'attn_k.bias': [4], 'attn_v.bias': [4] };
    const qwen2 = llamaTensors('gguf', ggufHeaders({ ...llamaLayer, ...biases }), config('qwen2'));
    expect(names(qwen2).layers).toContainEqual(expect.objectContaining({ qBias: 'blk.1.attn_q.bias', kBias: 'blk.1.attn_k.bias', vBias: 'blk.1.attn_v.bias' }));
    const norms = { 'attn_q_norm.weight': [8], 'attn_k_norm.weight': [8] };
    const qwen3 = llamaTensors('gguf', ggufHeaders({ ...llamaLayer, ...norms }), config('qwen3'));
    expect(names(qwen3).layers).toContainEqual(expect.objectContaining({ qNorm: 'blk.0.attn_q_norm.weight', kNorm: 'blk.0.attn_k_norm.weight' }));
    expect(qwen3.layers[0].qBias).toBeUndefined();
    expect(() => llamaTensors('gguf', ggufHeaders(llamaLayer), config('qwen3'))).toThrow(MissingFileError);
    expect(() => llamaTensors('gguf', ggufHeaders(llamaLayer), config('qwen3'))).toThrow('The checkpoint has no tensor "blk.0.attn_q_norm.weight".');
  });

  it('GGUF gemma2/3: the post-attention and post-FFN norms', () => {
    const post = { 'post_attention_norm.weight': [8], 'post_ffw_norm.weight': [8] };
    const t = llamaTensors('gguf', ggufHeaders({ ...llamaLayer, ...post, 'attn_q_norm.weight': [8], 'attn_k_norm.weight': [8] }), config('gemma3'));
    expect(names(t).layers).toContainEqual(
      expect.objectContaining({ postAttnNorm: 'blk.0.post_attention_norm.weight', ffnNorm: 'blk.0.ffn_norm.weight', postFfnNorm: 'blk.0.post_ffw_norm.weight' }),
    );
    expect(() => llamaTensors('gguf', ggufHeaders(llamaLayer), config('gemma2'))).toThrow('"blk.0.post_attention_norm.weight"');
  });

  it('GGUF gpt2: LayerNorm biases, learned positions, a fused qkv with its bias, no gate', () => {
    const layer = {
      'attn_norm.weight': [8],
      'attn_norm.bias': [8],
      'attn_qkv.weight': [24, 8],
      'attn_qkv.bias': [24],
      'attn_output.weight': [8, 8],
      'attn_output.bias': [8],
      'ffn_norm.weight': [8],
      'ffn_norm.bias': [8],
      'ffn_up.weight': [32, 8],
      'ffn_up.bias': [32],
      'ffn_down.weight': [8, 32],
      'ffn_down.bias': [8],
    };
    const c = config('gpt2', { kvHeads: 2, intermediateSize: 32, tieEmbeddings: true });
    const file = ggufHeaders(layer, { 'output_norm.bias': [8], 'position_embd.weight': [32, 8] });
    const t = llamaTensors('gguf', file, c);
    expect(names(t)).toMatchObject({ outputNormBias: 'output_norm.bias', positionEmbedding: 'position_embd.weight' });
    expect(names(t).layers).toContainEqual({
      attnNorm: 'blk.1.attn_norm.weight',
      attnNormBias: 'blk.1.attn_norm.bias',
      q: 'blk.1.attn_qkv.weight[q]',
      k: 'blk.1.attn_qkv.weight[k]',
      v: 'blk.1.attn_qkv.weight[v]',
      qBias: 'blk.1.attn_qkv.bias[q]',
      kBias: 'blk.1.attn_qkv.bias[k]',
      vBias: 'blk.1.attn_qkv.bias[v]',
      o: 'blk.1.attn_output.weight',
      oBias: 'blk.1.attn_output.bias',
      ffnNorm: 'blk.1.ffn_norm.weight',
      ffnNormBias: 'blk.1.ffn_norm.bias',
      up: 'blk.1.ffn_up.weight',
      upBias: 'blk.1.ffn_up.bias',
      down: 'blk.1.ffn_down.weight',
      downBias: 'blk.1.ffn_down.bias',
    });
    const qkvBias = t.layers[1].qBias!;
    const fused = file.find((x) => x.name === 'blk.1.attn_qkv.bias')!;
    // F32 biases: 4 bytes an element, so k's 8 values start 32 bytes in.
    expect([t.layers[1].kBias!.offset - fused.offset, t.layers[1].kBias!.byteLength, qkvBias.shape]).toEqual([32, 32, [8]]);
    expect(() => llamaTensors('gguf', file.filter((x) => x.name !== 'position_embd.weight'), c)).toThrow('"position_embd.weight"');
  });

  it('HF names: gemma norms the attention output with post_attention_layernorm, the others the FFN input', () => {
    const hf = (arch: Architecture, extra: Record<string, number[]>, over: Partial<ModelConfig> = {}) => {
      const shapes: Record<string, number[]> = { 'model.embed_tokens.weight': [16, 8], 'model.norm.weight': [8], 'lm_head.weight': [16, 8] };
      for (const i of [0, 1]) {
        for (const [part, shape] of Object.entries({
          'input_layernorm.weight': [8],
          'self_attn.q_proj.weight': [8, 8],
          'self_attn.k_proj.weight': [4, 8],
          'self_attn.v_proj.weight': [4, 8],
          'self_attn.o_proj.weight': [8, 8],
          'post_attention_layernorm.weight': [8],
          'mlp.gate_proj.weight': [12, 8],
          'mlp.up_proj.weight': [12, 8],
          'mlp.down_proj.weight': [8, 12],
          ...extra,
        }))
          shapes[`model.layers.${i}.${part}`] = shape;
      }
      return llamaTensors('safetensors', headers('model.safetensors', shapes), config(arch, over));
    };
    const llama = hf('llama', {});
    expect(names(llama)).toMatchObject({ embedding: 'model.embed_tokens.weight', output: 'lm_head.weight', outputNorm: 'model.norm.weight' });
    expect(names(llama).layers).toContainEqual(expect.objectContaining({ attnNorm: 'model.layers.0.input_layernorm.weight', ffnNorm: 'model.layers.0.post_attention_layernorm.weight' }));
    const gemma = hf('gemma2', { 'pre_feedforward_layernorm.weight': [8], 'post_feedforward_layernorm.weight': [8] }, { tieEmbeddings: true });
    expect(names(gemma).layers).toContainEqual(
      expect.objectContaining({
        postAttnNorm: 'model.layers.0.post_attention_layernorm.weight',
        ffnNorm: 'model.layers.0.pre_feedforward_layernorm.weight',
        postFfnNorm: 'model.layers.0.post_feedforward_layernorm.weight',
      }),
    );
    // A tied checkpoint's leftover lm_head copy is not uploaded a second time.
    expect(gemma.output).toBeUndefined();
    const qwen3 = hf('qwen3', { 'self_attn.q_norm.weight': [8], 'self_attn.k_norm.weight': [8], 'self_attn.q_proj.bias': [8] });
    expect(names(qwen3).layers).toContainEqual(
      expect.objectContaining({ qNorm: 'model.layers.1.self_attn.q_norm.weight', kNorm: 'model.layers.1.self_attn.k_norm.weight', qBias: 'model.layers.1.self_attn.q_proj.bias' }),
    );
  });

  it('HF gpt2: bare h.* names as openai-community/gpt2 has them, each Conv1D weight read transposed', async () => {
    // Conv1D c_fc of [in 2, out 3] holds 0..5 row-major; the engine's [out, in] is its transpose.
    const source = bytesSource('model.safetensors', new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer));
    const fc: TensorInfo = { name: 'h.0.mlp.c_fc.weight', dtype: 'F32', shape: [2, 3], source, offset: 0, byteLength: 24 };
    const shapes: Record<string, number[]> = { 'wte.weight': [16, 2], 'wpe.weight': [32, 2], 'ln_f.weight': [2], 'ln_f.bias': [2] };
    for (const part of ['ln_1.weight', 'ln_1.bias', 'ln_2.weight', 'ln_2.bias', 'attn.c_proj.bias', 'mlp.c_fc.bias', 'mlp.c_proj.bias']) shapes[`h.0.${part}`] = [2];
    Object.assign(shapes, { 'h.0.attn.c_attn.weight': [2, 6], 'h.0.attn.c_attn.bias': [6], 'h.0.attn.c_proj.weight': [2, 2], 'h.0.mlp.c_proj.weight': [3, 2] });
    const c = config('gpt2', { hiddenSize: 2, heads: 2, kvHeads: 2, headDim: 1, intermediateSize: 3, layers: 1, tieEmbeddings: true });
    const t = llamaTensors('safetensors', [...headers('model.safetensors', shapes), fc], c);
    expect(names(t)).toMatchObject({ embedding: 'wte.weight', positionEmbedding: 'wpe.weight', outputNorm: 'ln_f.weight', outputNormBias: 'ln_f.bias' });
    expect(names(t).layers).toEqual([
      expect.objectContaining({ q: 'h.0.attn.c_attn.weight[transposed][q]', o: 'h.0.attn.c_proj.weight[transposed]', up: 'h.0.mlp.c_fc.weight[transposed]', down: 'h.0.mlp.c_proj.weight[transposed]' }),
    ]);
    const up = t.layers[0].up;
    expect(up.shape).toEqual([3, 2]);
    expect([...(await readTensorF32(up))]).toEqual([0, 3, 1, 4, 2, 5]);
    // Read in pieces, as an upload does: the same bytes.
    const second = await up.source.read(8, 16);
    expect([...new Float32Array(second.slice().buffer)]).toEqual([1, 4, 2, 5]);
  });

  it('HF multimodal Gemma 3: the decoder under language_model.model. or model.language_model., the vision tower ignored', () => {
    const layer = {
      'input_layernorm.weight': [8],
      'self_attn.q_proj.weight': [16, 8],
      'self_attn.k_proj.weight': [8, 8],
      'self_attn.v_proj.weight': [8, 8],
      'self_attn.q_norm.weight': [8],
      'self_attn.k_norm.weight': [8],
      'self_attn.o_proj.weight': [8, 16],
      'post_attention_layernorm.weight': [8],
      'pre_feedforward_layernorm.weight': [8],
      'mlp.gate_proj.weight': [12, 8],
      'mlp.up_proj.weight': [12, 8],
      'mlp.down_proj.weight': [8, 12],
      'post_feedforward_layernorm.weight': [8],
    };
    for (const prefix of ['language_model.model.', 'model.language_model.']) {
      const shapes: Record<string, number[]> = { [`${prefix}embed_tokens.weight`]: [16, 8], [`${prefix}norm.weight`]: [8], 'vision_tower.vision_model.post_layernorm.weight': [4] };
      for (const i of [0, 1]) for (const [part, shape] of Object.entries(layer)) shapes[`${prefix}layers.${i}.${part}`] = shape;
      const t = llamaTensors('safetensors', headers('model.safetensors', shapes), config('gemma3', { tieEmbeddings: true }));
      expect(names(t)).toMatchObject({ embedding: `${prefix}embed_tokens.weight`, outputNorm: `${prefix}norm.weight` });
      expect(names(t).layers).toContainEqual(expect.objectContaining({ qNorm: `${prefix}layers.1.self_attn.q_norm.weight`, ffnNorm: `${prefix}layers.1.pre_feedforward_layernorm.weight` }));
    }
  });

  it('refuses the biases no forward pass applies, and a fused tensor whose rows do not add up', () => {
    expect(() => llamaTensors('gguf', ggufHeaders({ ...llamaLayer, 'ffn_gate.bias': [12] }), config('llama'))).toThrow(UnsupportedArchitectureError);
    expect(() => llamaTensors('gguf', ggufHeaders({ ...llamaLayer, 'ffn_gate.bias': [12] }), config('llama'))).toThrow(
      "model.gguf: tensor 'blk.0.ffn_gate.bias' (an FFN gate bias) is not supported.",
    );
    expect(() => llamaTensors('gguf', ggufHeaders(llamaLayer, { 'output.bias': [16] }), config('qwen2'))).toThrow(/output projection bias/);
    const { 'ffn_gate.weight': _, ...noGate } = llamaLayer;
    const wrongRows = { ...noGate, 'attn_qkv.weight': [20, 8] };
    expect(() => llamaTensors('gguf', ggufHeaders(wrongRows), config('phi3'))).toThrow(CorruptFileError);
    expect(() => llamaTensors('gguf', ggufHeaders(wrongRows), config('phi3'))).toThrow(
      "model.gguf: tensor 'blk.0.attn_qkv.weight' has 20 rows, but the config implies 8 (q) + 4 (k) + 4 (v)",
    );
  });
});

describe('fused tensors become row views of the same bytes', () => {
  // Rows of 256 so that Q4_K stores each row as one 144-byte super-block.
  const K = 256;
  const c = config('phi3', { hiddenSize: K, heads: 2, kvHeads: 1, headDim: 128, intermediateSize: 3, layers: 1 });
  const qDim = 256;
  const kvDim = 128;
  const F = 3;
  /** Index of the first element where a and b differ, -1 if none (toEqual on 64K floats is slow). */
  const firstDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => (a.length !== b.length ? 0 : Array.prototype.findIndex.call(a, (x: number, i: number) => x !== b[i]));
  /** Values that tell rows apart: row r holds r + j/K. */
  const rows = (n: number, first = 0) => Float32Array.from({ length: n * K }, (_, i) => first + Math.floor(i / K) + (i % K) / K);

  async function phi3File(type: 'F32' | 'Q4_K'): Promise<LlamaTensors> {
    const f32 = (name: string, shape: number[]) => ({ name, dtype: 'F32' as const, shape, data: new Float32Array(shape[0] * (shape[1] ?? 1)) });
    const matrix = (name: string, n: number, first = 0) => {
      const data = rows(n, first);
      return type === 'F32' ? { name, dtype: 'F32' as const, shape: [n, K], data } : { name, dtype: 'Q4_K' as const, shape: [n, K], bytes: quantizeRowK('Q4_K', data) };
    };
    // Only the fused matrices take the type under test.
    const bytes = writeGguf({
      metadata: {},
      tensors: [
        f32('token_embd.weight', [16, K]),
        f32('output_norm.weight', [K]),
        f32('blk.0.attn_norm.weight', [K]),
        matrix('blk.0.attn_qkv.weight', qDim + 2 * kvDim),
        f32('blk.0.attn_output.weight', [K, K]),
        f32('blk.0.ffn_norm.weight', [K]),
        matrix('blk.0.ffn_up.weight', 2 * F, 1000),
        f32('blk.0.ffn_down.weight', [K, F]),
      ],
    });
    return llamaTensors('gguf', (await readGguf(bytesSource('phi3.gguf', bytes))).tensors, c);
  }

  it('F32: each view reads exactly its rows of the fused matrix', async () => {
    const t = await phi3File('F32');
    const l = t.layers[0];
    expect([l.q.shape, l.k.shape, l.v.shape, l.gate!.shape, l.up.shape]).toEqual([[qDim, K], [kvDim, K], [kvDim, K], [F, K], [F, K]]);
    expect(firstDiff(await readTensorF32(l.q), rows(qDim, 0))).toBe(-1);
    expect(firstDiff(await readTensorF32(l.k), rows(kvDim, qDim))).toBe(-1);
    expect(firstDiff(await readTensorF32(l.v), rows(kvDim, qDim + kvDim))).toBe(-1);
    // phi3's ffn_up is [gate; up]: the gate's rows first.
    expect(firstDiff(await readTensorF32(l.gate!), rows(F, 1000))).toBe(-1);
    expect(firstDiff(await readTensorF32(l.up), rows(F, 1000 + F))).toBe(-1);
  });

  it('Q4_K: a view starts whole 144-byte rows in and holds the bytes the quantizer gives its rows alone', async () => {
    const t = await phi3File('Q4_K');
    const l = t.layers[0];
    expect(l.k.offset - l.q.offset).toBe(qDim * 144);
    expect(l.v.offset - l.k.offset).toBe(kvDim * 144);
    expect([l.q.byteLength, l.k.byteLength, l.v.byteLength, l.gate!.byteLength, l.up.byteLength]).toEqual([qDim * 144, kvDim * 144, kvDim * 144, F * 144, F * 144]);
    expect(l.up.offset - l.gate!.offset).toBe(F * 144);
    const bytes = (v: TensorInfo) => v.source.read(v.offset, v.byteLength);
    expect(firstDiff(await bytes(l.v), quantizeRowK('Q4_K', rows(kvDim, qDim + kvDim)))).toBe(-1);
    expect(firstDiff(await bytes(l.up), quantizeRowK('Q4_K', rows(F, 1000 + F)))).toBe(-1);
    expect(weightStorage(l.v)).toEqual({ kind: 'kquant', type: 'Q4_K' });
    expect(gpuWeightBytes(l.up)).toBe(F * 144);
  });
});

/** Every tensor of a LlamaTensors under a path naming its part ('layers.0.q'). */
function parts(t: LlamaTensors): Map<string, TensorInfo> {
  const { layers, ...top } = t;
  const entries = Object.entries(top) as [string, TensorInfo][];
  layers.forEach((l, i) => entries.push(...(Object.entries(l) as [string, TensorInfo][]).map(([k, v]): [string, TensorInfo] => [`layers.${i}.${k}`, v])));
  return new Map(entries);
}

/** llama.cpp's converter interleaves the two halves of each llama Q/K head (rows 2j, 2j+1 ← j, j + half); this undoes it. */
function unpermute(rows: Float32Array, heads: number, cols: number): Float32Array {
  const headRows = rows.length / cols / heads;
  const half = headRows / 2;
  const out = new Float32Array(rows.length);
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < half; j++)
      for (let t = 0; t < 2; t++) {
        const from = (h * headRows + 2 * j + t) * cols;
        out.set(rows.subarray(from, from + cols), (h * headRows + t * half + j) * cols);
      }
  return out;
}

describe('the GGUF and HF twins of scripts/randomModel.ts', () => {
  // Each preset in F32 both ways, so every value can be compared (the writer's rewrites aside).
  for (const preset of Object.keys(RANDOM_MODELS) as RandomPreset[]) {
    it(`${preset}: both files name the same weights, fused, transposed and all`, async () => {
      const model = randomModel(await storiesTokenizerMetadata(), { ...RANDOM_MODELS[preset], type: 'F32' });
      const gguf = await readGguf(bytesSource(`${preset}.gguf`, model.gguf()));
      const ggufConfig = configFromGguf(gguf);
      const fromGguf = parts(llamaTensors('gguf', gguf.tensors, ggufConfig));
      const hf = model.hf('F32');
      const hfConfig = configFromHf(hf.config);
      const fromHf = parts(llamaTensors('safetensors', (await readSafetensors(bytesSource('model.safetensors', hf.safetensors))).tensors, hfConfig));
      // rope_freqs is the converter's own (HF has rope_scaling instead).
      expect([...fromHf.keys()].sort()).toEqual([...fromGguf.keys()].filter((k) => k !== 'ropeFreqs').sort());
      const c = ggufConfig;
      for (const [part, hfTensor] of fromHf) {
        const ggufTensor = fromGguf.get(part)!;
        expect(hfTensor.shape, part).toEqual(ggufTensor.shape);
        let expected = await readTensorF32(ggufTensor);
        const last = part.split('.').pop()!;
        if (c.architecture === 'llama' && (last === 'q' || last === 'k')) expected = unpermute(expected, last === 'q' ? c.heads : c.kvHeads, c.hiddenSize);
        const actual = await readTensorF32(hfTensor);
        if (hfConfig.normWeightOffset === 1 && /Norm$/.test(last)) {
          // The GGUF stores gain g, HF stores g − 1; the writer's f32 rounding of g − 1 is within an ulp of 1.
          const worst = actual.reduce((m, v, i) => Math.max(m, Math.abs(v + 1 - expected[i])), 0);
          expect(worst, part).toBeLessThan(2 ** -22);
        } else {
          expect(actual.findIndex((v, i) => v !== expected[i]), part).toBe(-1);
        }
      }
    });
  }
});
