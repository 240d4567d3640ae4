// The random models of every architecture (scripts/randomModel.ts): llama.cpp loads each GGUF
// (which proves the tensor names, shapes and metadata: its loaders refuse a missing, misshapen or
// extra tensor) and gives sharp, context-dependent distributions; the features each family adds
// move llama.cpp's output; and the HF twin holds the same weights as the GGUF, through the
// converter's rewrites done here a second, independent way.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { readGguf } from '../src/engine/formats/gguf.ts';
import type { GgufTypedValue } from '../src/engine/formats/ggufWriter.ts';
import { readSafetensors } from '../src/engine/formats/safetensors.ts';
import { bytesSource, readTensorF32 } from '../src/engine/formats/source.ts';
import { Rng } from '../src/engine/sampling.ts';
import { referenceProbabilities } from '../test/llamaCpp.ts';
import { storiesTokenizerMetadata } from './randomGguf.ts';
import { llama3RopeFactors, RANDOM_MODELS, randomModel, type RandomModelOptions, type RandomPreset } from './randomModel.ts';

const VOCAB = 512;
const POSITIONS = 64;
const PRESETS = Object.keys(RANDOM_MODELS) as RandomPreset[];

let tokenizer: Record<string, GgufTypedValue>;
let dir: string;
beforeAll(async () => {
  tokenizer = await storiesTokenizerMetadata();
  dir = await mkdtemp(join(tmpdir(), 'pocket-hub-random-model-'));
});

/** BOS, then ordinary tokens (past <unk>, <s>, </s>). */
function sequence(length: number): number[] {
  const rng = new Rng(11);
  return [1, ...Array.from({ length: length - 1 }, () => 3 + Math.floor(rng.next() * (VOCAB - 3)))];
}

async function llamaCpp(name: string, options: Partial<RandomModelOptions>): Promise<Float64Array[]> {
  const path = join(dir, `${name}.gguf`);
  await writeFile(path, randomModel(tokenizer, options).gguf());
  const rows = await referenceProbabilities(path, sequence(POSITIONS), VOCAB);
  return rows.map((row) => {
    const p = new Float64Array(VOCAB);
    for (const [id, q] of row) p[id] = q;
    return p;
  });
}

const argmax = (p: Float64Array) => p.indexOf(Math.max(...p));

describe.each(PRESETS)('%s', (preset) => {
  test('llama.cpp loads the GGUF and predicts sharply from the context', async () => {
    const rows = await llamaCpp(preset, RANDOM_MODELS[preset]);
    const ids = sequence(POSITIONS);
    for (const p of rows) {
      expect(p.every(Number.isFinite)).toBe(true);
      // The reference hands over all 512 probabilities; they sum to 1 up to f32 rounding.
      expect(p.reduce((s, q) => s + q, 0)).toBeCloseTo(1, 4);
    }
    const top = rows.map((p) => Math.max(...p));
    const choices = rows.map(argmax);
    // The scales of randomModel.ts make the top token hold about half the mass (measured: 0.53 to
    // 0.68 on average over the presets; near-uniform logits would give 1/512), vary the choice
    // with the context (36 to 85 different tokens in 100 positions) and rarely echo the input
    // (at most 2 in 100): a model failing these would let a broken engine agree by chance.
    expect(top.reduce((s, q) => s + q, 0) / top.length).toBeGreaterThan(0.4);
    expect(new Set(choices).size).toBeGreaterThanOrEqual(16);
    expect(choices.filter((c, i) => c === ids[i]).length).toBeLessThanOrEqual(4);
  });

  test('the HF twin holds the GGUF’s weights through the converter’s rewrites', async () => {
    const model = randomModel(tokenizer, RANDOM_MODELS[preset]);
    const { headDim, heads, kvHeads, architecture } = model.options;
    const gguf = await readGguf(bytesSource('m.gguf', model.gguf()));
    const hf = (await readSafetensors(bytesSource('m.safetensors', model.hf().safetensors))).tensors;
    const fromGguf = new Map(gguf.tensors.map((t) => [t.name, t]));
    const gemma = architecture === 'gemma2' || architecture === 'gemma3';
    // convert_hf_to_gguf.py's LlamaModel.permute: rows (n_head, 2, d/2) → (n_head, d/2, 2).
    const permute = (w: Float32Array, n: number, cols: number) => {
      const out = new Float32Array(w.length);
      for (let h = 0; h < n; h++)
        for (let half = 0; half < 2; half++)
          for (let j = 0; j < headDim / 2; j++)
            out.set(w.subarray((h * headDim + half * (headDim / 2) + j) * cols, (h * headDim + half * (headDim / 2) + j + 1) * cols), (h * headDim + 2 * j + half) * cols);
      return out;
    };
    const converted: string[] = [];
    for (const t of hf) {
      let values = await readTensorF32(t);
      let name = t.name;
      let shape = t.shape;
      if (architecture === 'gpt2') {
        name = name.replace('transformer.', '');
        if (/(c_attn|c_proj|c_fc)\.weight$/.test(name)) {
          const [rows, cols] = shape;
          const transposed = new Float32Array(values.length);
          for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) transposed[c * rows + r] = values[r * cols + c];
          values = transposed;
          shape = [cols, rows];
        }
      }
      if (architecture === 'llama' && name.endsWith('q_proj.weight')) values = permute(values, heads, shape[1]);
      if (architecture === 'llama' && name.endsWith('k_proj.weight')) values = permute(values, kvHeads, shape[1]);
      if (gemma && name.endsWith('norm.weight')) values = values.map((w) => w + 1);
      const ggufName = ggufNameOf(name, gemma);
      converted.push(ggufName);
      const target = fromGguf.get(ggufName);
      expect(target, `${t.name} → ${ggufName}`).toBeDefined();
      expect(target!.shape, t.name).toEqual(shape);
      // Bit-exact: the rewrites move values, and w + 1 undoes the writer's g − 1 exactly.
      expect(Buffer.compare(Buffer.from(values.buffer), Buffer.from((await readTensorF32(target!)).buffer)), t.name).toBe(0);
    }
    // Every GGUF tensor comes from the checkpoint but the one the converter computes from config.json.
    expect(gguf.tensors.map((t) => t.name).filter((n) => !converted.includes(n))).toEqual(model.options.ropeScaling ? ['rope_freqs.weight'] : []);
  });
});

/** The HF → GGUF tensor names of gguf-py's tensor_mapping.py, for the names these checkpoints use. */
function ggufNameOf(hf: string, gemma: boolean): string {
  const global: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'wte.weight': 'token_embd.weight',
    'wpe.weight': 'position_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'ln_f.weight': 'output_norm.weight',
    'ln_f.bias': 'output_norm.bias',
    'lm_head.weight': 'output.weight',
  };
  if (global[hf]) return global[hf];
  const m = /^(?:model\.layers|h)\.(\d+)\.(.+)$/.exec(hf);
  if (!m) throw new Error(`unmapped ${hf}`);
  const layer: Record<string, string> = {
    input_layernorm: 'attn_norm',
    ln_1: 'attn_norm',
    'self_attn.q_proj': 'attn_q',
    'self_attn.k_proj': 'attn_k',
    'self_attn.v_proj': 'attn_v',
    'self_attn.qkv_proj': 'attn_qkv',
    'attn.c_attn': 'attn_qkv',
    'self_attn.o_proj': 'attn_output',
    'attn.c_proj': 'attn_output',
    'self_attn.q_norm': 'attn_q_norm',
    'self_attn.k_norm': 'attn_k_norm',
    ln_2: 'ffn_norm',
    pre_feedforward_layernorm: 'ffn_norm',
    post_feedforward_layernorm: 'post_ffw_norm',
    'mlp.gate_proj': 'ffn_gate',
    'mlp.up_proj': 'ffn_up',
    'mlp.gate_up_proj': 'ffn_up',
    'mlp.c_fc': 'ffn_up',
    'mlp.down_proj': 'ffn_down',
    'mlp.c_proj': 'ffn_down',
  };
  const [, i, rest] = m;
  const dot = rest.lastIndexOf('.');
  const [module, param] = [rest.slice(0, dot), rest.slice(dot + 1)];
  // post_attention_layernorm is the FFN's input norm in Llama-style blocks, and the attention's
  // output norm in Gemma's (whose FFN input norm is pre_feedforward_layernorm).
  const gguf = module === 'post_attention_layernorm' ? (gemma ? 'post_attention_norm' : 'ffn_norm') : layer[module];
  if (!gguf) throw new Error(`unmapped ${hf}`);
  return `blk.${i}.${gguf}.${param}`;
}

describe('the features each family adds move llama.cpp’s predictions', () => {
  // Each case: the preset, and the same weights (same seed) with one feature turned off or set to
  // the value of the real checkpoint. A mean total variation of 0.1 or more means an engine that
  // ignored the feature could not pass the architecture tests (whose bounds are below 0.05 on
  // average); measured over 100 positions: 0.81, 0.56, 0.23, 0.55, 0.82 and 0.53.
  test.each<[string, RandomPreset, Partial<RandomModelOptions>]>([
    ['llama3 without rope_freqs', 'llama3', { ropeScaling: undefined }],
    ['gemma2 without its sliding window', 'gemma2', { slidingWindow: 4096 }],
    ['gemma2 with Gemma 2’s attention cap of 50', 'gemma2', { attnSoftcap: 50 }],
    ['gemma3 without its sliding window', 'gemma3', { slidingWindow: 4096 }],
    ['gemma3 with one RoPE base for all layers', 'gemma3', { ropeThetaLocal: 1000000 }],
    ['gemma3 with its global layer sliding too', 'gemma3', { slidingWindowPattern: 3 }],
  ])('%s', async (name, preset, change) => {
    const [base, changed] = await Promise.all([
      llamaCpp(`${preset}-base`, RANDOM_MODELS[preset]),
      llamaCpp(name.replace(/\W+/g, '-'), { ...RANDOM_MODELS[preset], ...change }),
    ]);
    let tv = 0;
    base.forEach((p, i) => {
      for (let id = 0; id < VOCAB; id++) tv += Math.abs(p[id] - changed[i][id]) / 2;
    });
    expect(tv / base.length).toBeGreaterThan(0.1);
  });
});

test('llama.cpp loads gemma3 as released GGUFs have it: no sliding_window_pattern key, six layers, one global', async () => {
  const rows = await llamaCpp('gemma3-6', { ...RANDOM_MODELS.gemma3, layers: 6, slidingWindowPattern: undefined });
  const top = rows.map((p) => Math.max(...p));
  // As the presets above (measured: 0.66 on average).
  expect(top.reduce((s, q) => s + q, 0) / top.length).toBeGreaterThan(0.4);
});

test('llama3 rope_freqs are the converter’s factors for Llama 3.1’s own settings', () => {
  // Llama 3.1 8B: θ 500000, head 128, factor 8, low 1, high 4, original context 8192. Pair i
  // turns with wavelength 2π·500000^(i/64): under 2048 (factor 1) up to pair 28, over 8192
  // (factor 8) from pair 35 on, and the converter's smooth ramp between.
  const f = llama3RopeFactors({ factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 }, 500000, 128);
  expect(f).toHaveLength(64);
  expect([...f.subarray(0, 29)].every((x) => x === 1)).toBe(true);
  expect([...f.subarray(35)].every((x) => x === 8)).toBe(true);
  for (let i = 29; i < 36; i++) expect(f[i]).toBeGreaterThan(f[i - 1]);
});

test('the config.json of each twin names its family as transformers does', () => {
  const expected: Record<RandomPreset, [string, string]> = {
    llama: ['llama', 'LlamaForCausalLM'],
    llama3: ['llama', 'LlamaForCausalLM'],
    qwen2: ['qwen2', 'Qwen2ForCausalLM'],
    qwen3: ['qwen3', 'Qwen3ForCausalLM'],
    phi3: ['phi3', 'Phi3ForCausalLM'],
    gemma2: ['gemma2', 'Gemma2ForCausalLM'],
    gemma3: ['gemma3_text', 'Gemma3ForCausalLM'],
    gpt2: ['gpt2', 'GPT2LMHeadModel'],
  };
  for (const preset of PRESETS) {
    const { config } = randomModel(tokenizer, RANDOM_MODELS[preset]).hf();
    expect([config.model_type, (config.architectures as string[])[0]], preset).toEqual(expected[preset]);
    expect(config.vocab_size).toBe(VOCAB);
  }
  expect(randomModel(tokenizer, RANDOM_MODELS.llama3).hf().config.rope_scaling).toEqual({
    factor: 8,
    high_freq_factor: 4,
    low_freq_factor: 1,
    original_max_position_embeddings: 64,
    rope_type: 'llama3',
  });
});

test.each(['Q8_0', 'Q4_K'] as const)('%s: every matrix in that type; norms, biases, rope_freqs and position_embd F32', async (type) => {
  for (const preset of ['llama3', 'gpt2', 'gemma3'] as const) {
    const gguf = await readGguf(bytesSource('m.gguf', randomModel(tokenizer, { ...RANDOM_MODELS[preset], type }).gguf()));
    for (const t of gguf.tensors) expect(t.dtype, `${preset} ${t.name}`).toBe(t.shape.length === 1 || t.name === 'position_embd.weight' ? 'F32' : type);
  }
});
