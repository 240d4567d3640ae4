import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { everyOther, fiveOfSix, llamaFamily } from '../../test/configExpectations.ts';
import { CorruptFileError, UnsupportedArchitectureError } from '../protocol/errors.ts';
import { configFromGguf } from './configGguf.ts';
import { readGguf } from './formats/gguf.ts';
import { type GgufTypedValue, writeGguf } from './formats/ggufWriter.ts';
import { bytesSource } from './formats/source.ts';

// stories260K.gguf is the app's embedded model in public/; the other GGUFs are test fixtures.
const fixture = (name: string) =>
  new Uint8Array(
    readFileSync(new URL(name === 'stories260K.gguf' ? `../../hub/models/pocket-hub/stories260K-GGUF/${name}` : `../../test/fixtures/gguf/${name}`, import.meta.url)),
  );

/** A GGUF with llama-style metadata and a single embedding tensor, for the edge cases. */
async function syntheticGguf(metadata: Record<string, GgufTypedValue>, tensorNames = ['token_embd.weight']) {
  const tensors = tensorNames.map((name) => ({ name, dtype: 'F32' as const, shape: [16, 8], data: new Float32Array(128) }));
  return readGguf(bytesSource('synthetic.gguf', writeGguf({ metadata, tensors })));
}

const llamaMeta: Record<string, GgufTypedValue> = {
  'general.architecture': { type: 'string', value: 'llama' },
  'llama.embedding_length': { type: 'u32', value: 8 },
  'llama.feed_forward_length': { type: 'u32', value: 24 },
  'llama.block_count': { type: 'u32', value: 2 },
  'llama.attention.head_count': { type: 'u32', value: 2 },
  'llama.context_length': { type: 'u32', value: 128 },
  'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: 1e-6 },
};

describe('configFromGguf', () => {
  it('normalises stories260K.gguf', async () => {
    const gguf = await readGguf(bytesSource('stories260K.gguf', fixture('stories260K.gguf')));
    expect(configFromGguf(gguf)).toEqual({
      ...llamaFamily,
      architecture: 'llama',
      hiddenSize: 64,
      intermediateSize: 172,
      layers: 5,
      heads: 8,
      kvHeads: 4,
      headDim: 8,
      vocabSize: 512,
      contextLength: 2048,
      rmsNormEps: Math.fround(1e-5),
      ropeTheta: 10000,
      ropeDim: 8,
      // PROVENANCE.md: this file stores output.weight explicitly, even though it equals the embedding.
      tieEmbeddings: false,
      bosTokenId: 1,
      eosTokenIds: [2],
      attentionScale: 1 / Math.sqrt(8),
    });
  });

  it('normalises llama-2-tiny-random.gguf', async () => {
    const gguf = await readGguf(bytesSource('llama-2-tiny-random.gguf', fixture('llama-2-tiny-random.gguf')));
    expect(configFromGguf(gguf)).toMatchObject({
      hiddenSize: 8,
      layers: 1,
      heads: 2,
      kvHeads: 2,
      headDim: 4,
      intermediateSize: 32,
      ropeDim: 4,
      contextLength: 4096,
      vocabSize: 32000,
      tieEmbeddings: false,
    });
  });

  it('applies defaults, takes the vocabulary from the embedding and ties a missing output.weight', async () => {
    const c = configFromGguf(await syntheticGguf(llamaMeta));
    expect(c).toEqual({
      ...llamaFamily,
      architecture: 'llama',
      hiddenSize: 8,
      intermediateSize: 24,
      layers: 2,
      heads: 2,
      kvHeads: 2,
      headDim: 4,
      vocabSize: 16,
      contextLength: 128,
      rmsNormEps: Math.fround(1e-6),
      ropeTheta: 10000,
      ropeDim: 4,
      tieEmbeddings: true,
      eosTokenIds: [],
      attentionScale: 1 / 2,
    });
  });

  it('reads "mistral" metadata, an explicit key_length and an end-of-turn token', async () => {
    const meta = Object.fromEntries(Object.entries(llamaMeta).map(([k, v]) => [k.replace(/^llama\./, 'mistral.'), v]));
    const c = configFromGguf(
      await syntheticGguf({
        ...meta,
        'general.architecture': { type: 'string', value: 'mistral' },
        'mistral.attention.key_length': { type: 'u32', value: 8 },
        'mistral.attention.head_count_kv': { type: 'u32', value: 1 },
        'mistral.rope.freq_base': { type: 'f32', value: 1e6 },
        'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
        'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
        'tokenizer.ggml.eot_token_id': { type: 'u32', value: 7 },
      }, ['token_embd.weight', 'output.weight']),
    );
    expect(c).toMatchObject({ headDim: 8, ropeDim: 8, kvHeads: 1, ropeTheta: 1e6, tieEmbeddings: false, bosTokenId: 1, eosTokenIds: [2, 7] });
  });

  it('names an unsupported architecture', async () => {
    for (const arch of ['bert', 'mamba', 'qwen2moe']) {
      const gguf = await syntheticGguf({ ...llamaMeta, 'general.architecture': { type: 'string', value: arch } });
      expect(() => configFromGguf(gguf)).toThrow(UnsupportedArchitectureError);
      expect(() => configFromGguf(gguf)).toThrow(`synthetic.gguf: architecture '${arch}' is not supported; Pocket Hub runs Llama, Mistral`);
    }
  });

  it('rejects missing or inconsistent metadata', async () => {
    const { 'llama.block_count': _, ...noBlocks } = llamaMeta;
    const { 'general.architecture': __, ...noArch } = llamaMeta;
    const cases: [Record<string, GgufTypedValue>, string[], RegExp][] = [
      [noArch, ['token_embd.weight'], /general\.architecture is missing/],
      [noBlocks, ['token_embd.weight'], /llama\.block_count must be a number, got nothing/],
      [{ ...llamaMeta, 'llama.block_count': { type: 'string', value: '2' } }, ['token_embd.weight'], /block_count must be a number/],
      [{ ...llamaMeta, 'llama.attention.head_count_kv': { type: 'u32', value: 0 } }, ['token_embd.weight'], /head_count_kv must be a positive integer/],
      [{ ...llamaMeta, 'llama.rope.dimension_count': { type: 'u32', value: 6 } }, ['token_embd.weight'], /RoPE dimension 6 does not fit head dimension 4/],
      [llamaMeta, ['output.weight'], /no token_embd\.weight tensor/],
      [
        { ...llamaMeta, 'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: Array.from({ length: 17 }, String) } },
        ['token_embd.weight'],
        /17 tokens but token_embd\.weight has only 16 rows/,
      ],
    ];
    for (const [meta, names, pattern] of cases) {
      const gguf = await syntheticGguf(meta, names);
      expect(() => configFromGguf(gguf), String(pattern)).toThrow(CorruptFileError);
      expect(() => configFromGguf(gguf), String(pattern)).toThrow(/^synthetic\.gguf: /);
      expect(() => configFromGguf(gguf), String(pattern)).toThrow(pattern);
    }
  });
});

const u32 = (value: number): GgufTypedValue => ({ type: 'u32', value });
const f32 = (value: number): GgufTypedValue => ({ type: 'f32', value });
const str = (value: string): GgufTypedValue => ({ type: 'string', value });

/** A GGUF of `arch` with the `{arch}.` keys given (without the prefix) and otherwise only token_embd.weight (+ more tensors). */
function archGguf(arch: string, keys: Record<string, GgufTypedValue>, tensorNames: string[] = []) {
  const metadata = Object.fromEntries([['general.architecture', str(arch)], ...Object.entries(keys).map(([k, v]) => [`${arch}.${k}`, v])]);
  return syntheticGguf(metadata, ['token_embd.weight', ...tensorNames]);
}

// The metadata llama.cpp's converter writes for each model (convert_hf_to_gguf.py), values as released.
const qwen25Keys = {
  context_length: u32(32768),
  embedding_length: u32(896),
  block_count: u32(24),
  feed_forward_length: u32(4864),
  'attention.head_count': u32(14),
  'attention.head_count_kv': u32(2),
  'rope.freq_base': f32(1e6),
  'attention.layer_norm_rms_epsilon': f32(1e-6),
};
const qwen3Keys = {
  context_length: u32(40960),
  embedding_length: u32(1024),
  block_count: u32(28),
  feed_forward_length: u32(3072),
  'attention.head_count': u32(16),
  'attention.head_count_kv': u32(8),
  'attention.key_length': u32(128),
  'attention.value_length': u32(128),
  'rope.freq_base': f32(1e6),
  'attention.layer_norm_rms_epsilon': f32(1e-6),
};
const phi3Keys = {
  context_length: u32(4096),
  'rope.scaling.original_context_length': u32(4096),
  embedding_length: u32(3072),
  feed_forward_length: u32(8192),
  block_count: u32(32),
  'attention.head_count': u32(32),
  'attention.head_count_kv': u32(32),
  'attention.layer_norm_rms_epsilon': f32(1e-5),
  'rope.dimension_count': u32(96),
  'rope.freq_base': f32(10000),
  'attention.sliding_window': u32(2047),
};
const gemma2Keys = {
  context_length: u32(8192),
  embedding_length: u32(2304),
  block_count: u32(26),
  feed_forward_length: u32(9216),
  'attention.head_count': u32(8),
  'attention.head_count_kv': u32(4),
  'attention.layer_norm_rms_epsilon': f32(1e-6),
  'attention.key_length': u32(256),
  'attention.value_length': u32(256),
  attn_logit_softcapping: f32(50),
  final_logit_softcapping: f32(30),
  'attention.sliding_window': u32(4096),
};
const gemma3Keys = {
  context_length: u32(32768),
  embedding_length: u32(1152),
  block_count: u32(26),
  feed_forward_length: u32(6912),
  'attention.head_count': u32(4),
  'attention.head_count_kv': u32(1),
  'attention.layer_norm_rms_epsilon': f32(1e-6),
  'attention.key_length': u32(256),
  'attention.value_length': u32(256),
  'rope.freq_base': f32(1e6),
  'attention.sliding_window': u32(512),
};
const gpt2Keys = {
  context_length: u32(1024),
  embedding_length: u32(768),
  feed_forward_length: u32(3072),
  block_count: u32(12),
  'attention.head_count': u32(12),
  'attention.layer_norm_epsilon': f32(1e-5),
};

describe('configFromGguf of the other architectures', () => {
  it('reads qwen2 and qwen3 (explicit key_length wider than hidden/heads, head norms)', async () => {
    expect(configFromGguf(await archGguf('qwen2', qwen25Keys, ['output.weight']))).toEqual({
      ...llamaFamily,
      architecture: 'qwen2',
      hiddenSize: 896,
      intermediateSize: 4864,
      layers: 24,
      heads: 14,
      kvHeads: 2,
      headDim: 64,
      vocabSize: 16,
      contextLength: 32768,
      rmsNormEps: Math.fround(1e-6),
      ropeTheta: 1e6,
      ropeDim: 64,
      tieEmbeddings: false,
      eosTokenIds: [],
      attentionScale: 1 / 8,
    });
    expect(configFromGguf(await archGguf('qwen3', qwen3Keys))).toMatchObject({
      architecture: 'qwen3',
      qkNorm: true,
      heads: 16,
      kvHeads: 8,
      headDim: 128,
      ropeDim: 128,
      attentionScale: 1 / Math.sqrt(128),
      tieEmbeddings: true,
    });
  });

  it("reads phi3 without its sliding window, which llama.cpp switches off, and with a partial rotary dimension", async () => {
    const c = configFromGguf(await archGguf('phi3', phi3Keys, ['output.weight']));
    expect(c).toMatchObject({ ...llamaFamily, architecture: 'phi3', headDim: 96, ropeDim: 96, contextLength: 4096, attentionScale: 1 / Math.sqrt(96) });
    expect(c.slidingWindow).toBeUndefined();
    expect(c.slidingLayers).toBeUndefined();
    expect(configFromGguf(await archGguf('phi3', { ...phi3Keys, 'rope.dimension_count': u32(72) })).ropeDim).toBe(72);
  });

  it('reads gemma2 as llama.cpp does: even layers slide, caps, √hidden, no norm offset (the file stores w + 1)', async () => {
    expect(configFromGguf(await archGguf('gemma2', gemma2Keys))).toEqual({
      architecture: 'gemma2',
      norm: 'rms',
      activation: 'gelu_tanh',
      gatedFfn: true,
      positions: 'rope',
      qkNorm: false,
      postNorms: true,
      normWeightOffset: 0,
      hiddenSize: 2304,
      intermediateSize: 9216,
      layers: 26,
      heads: 8,
      kvHeads: 4,
      headDim: 256,
      vocabSize: 16,
      contextLength: 8192,
      rmsNormEps: Math.fround(1e-6),
      ropeTheta: 10000,
      ropeDim: 256,
      tieEmbeddings: true,
      eosTokenIds: [],
      embeddingScale: 48,
      attentionScale: 1 / 16,
      attnSoftcap: 50,
      finalSoftcap: 30,
      slidingWindow: 4096,
      slidingLayers: everyOther(26),
    });
    // Without the keys, llama.cpp's defaults: caps 50 and 30, a 4096 window.
    const { attn_logit_softcapping: _, final_logit_softcapping: __, 'attention.sliding_window': ___, ...bare } = gemma2Keys;
    expect(configFromGguf(await archGguf('gemma2', bare))).toMatchObject({ attnSoftcap: 50, finalSoftcap: 30, slidingWindow: 4096 });
  });

  it("applies llama.cpp's 27B attention scale rule, since GGUF has no query_pre_attn_scalar", async () => {
    // gemma-2-27b: 46 layers, hidden 4608, 32 heads of 128: (4608/32)^−½ = 1/12, not 128^−½.
    const gemma2_27b = { ...gemma2Keys, block_count: u32(46), embedding_length: u32(4608), 'attention.head_count': u32(32), 'attention.head_count_kv': u32(16), 'attention.key_length': u32(128), 'attention.value_length': u32(128) };
    expect(configFromGguf(await archGguf('gemma2', gemma2_27b)).attentionScale).toBeCloseTo(1 / 12, 15);
    // gemma-3-27b: 62 layers, hidden 5376, 32 heads of 128: 168^−½.
    const gemma3_27b = { ...gemma3Keys, block_count: u32(62), embedding_length: u32(5376), 'attention.head_count': u32(32), 'attention.head_count_kv': u32(16), 'attention.key_length': u32(128), 'attention.value_length': u32(128) };
    expect(configFromGguf(await archGguf('gemma3', gemma3_27b)).attentionScale).toBeCloseTo(1 / Math.sqrt(168), 15);
    // Any other depth keeps headDim^−½.
    expect(configFromGguf(await archGguf('gemma2', { ...gemma2_27b, block_count: u32(42) })).attentionScale).toBe(1 / Math.sqrt(128));
  });

  it('reads gemma3: five sliding layers in six with a 10000 local base, linear scaling on the global ones', async () => {
    expect(configFromGguf(await archGguf('gemma3', gemma3Keys))).toEqual({
      architecture: 'gemma3',
      norm: 'rms',
      activation: 'gelu_tanh',
      gatedFfn: true,
      positions: 'rope',
      qkNorm: true,
      postNorms: true,
      normWeightOffset: 0,
      hiddenSize: 1152,
      intermediateSize: 6912,
      layers: 26,
      heads: 4,
      kvHeads: 1,
      headDim: 256,
      vocabSize: 16,
      contextLength: 32768,
      rmsNormEps: Math.fround(1e-6),
      ropeTheta: 1e6,
      ropeDim: 256,
      tieEmbeddings: true,
      eosTokenIds: [],
      embeddingScale: Math.sqrt(1152),
      attentionScale: 1 / 16,
      slidingWindow: 512,
      slidingLayers: fiveOfSix(26),
      ropeThetaLocal: 10000,
    });
    // gemma-3-4b: the converter writes linear scaling by 8.
    const scaled = configFromGguf(await archGguf('gemma3', { ...gemma3Keys, 'rope.scaling.type': str('linear'), 'rope.scaling.factor': f32(8) }));
    expect(scaled).toMatchObject({ ropeLinearFactor: 8, ropeThetaLocal: 10000 });
    // The pattern and local base keys, where a file has them; a final cap only when nonzero.
    const keyed = configFromGguf(
      await archGguf('gemma3', { ...gemma3Keys, 'attention.sliding_window_pattern': u32(2), 'rope.freq_base_swa': f32(5000), final_logit_softcapping: f32(0) }),
    );
    expect(keyed).toMatchObject({ slidingLayers: everyOther(26), ropeThetaLocal: 5000 });
    expect(keyed.finalSoftcap).toBeUndefined();
    const marks: boolean[] = [true, false, ...Array<boolean>(24).fill(true)];
    const perLayer: GgufTypedValue = { type: 'array', itemType: 'bool', value: marks };
    expect(configFromGguf(await archGguf('gemma3', { ...gemma3Keys, 'attention.sliding_window_pattern': perLayer })).slidingLayers).toEqual(marks);
    // Without a window llama.cpp runs every layer globally, at the global base.
    const { 'attention.sliding_window': _, ...global } = gemma3Keys;
    const c = configFromGguf(await archGguf('gemma3', global));
    expect([c.slidingWindow, c.slidingLayers, c.ropeThetaLocal]).toEqual([undefined, undefined, undefined]);
  });

  it('reads gpt2: LayerNorm epsilon, learned positions, no RoPE, ungated GELU', async () => {
    expect(configFromGguf(await archGguf('gpt2', gpt2Keys))).toEqual({
      architecture: 'gpt2',
      norm: 'layer',
      activation: 'gelu_tanh',
      gatedFfn: false,
      positions: 'learned',
      qkNorm: false,
      postNorms: false,
      normWeightOffset: 0,
      hiddenSize: 768,
      intermediateSize: 3072,
      layers: 12,
      heads: 12,
      kvHeads: 12,
      headDim: 64,
      vocabSize: 16,
      contextLength: 1024,
      rmsNormEps: Math.fround(1e-5),
      ropeTheta: 10000,
      ropeDim: 0,
      tieEmbeddings: true,
      eosTokenIds: [],
      embeddingScale: 1,
      attentionScale: 1 / 8,
    });
  });

  it('reads linear RoPE scaling and refuses the kinds it cannot run, naming the file', async () => {
    const linear = { ...llamaMeta, 'llama.rope.scaling.type': str('linear'), 'llama.rope.scaling.factor': f32(4) };
    expect(configFromGguf(await syntheticGguf(linear)).ropeLinearFactor).toBe(4);
    // The older key, and the default type (linear) when only a factor is given.
    expect(configFromGguf(await syntheticGguf({ ...llamaMeta, 'llama.rope.scale_linear': f32(2) })).ropeLinearFactor).toBe(2);
    expect(configFromGguf(await syntheticGguf({ ...llamaMeta, 'llama.rope.scaling.type': str('none') })).ropeLinearFactor).toBeUndefined();
    for (const [gguf, pattern] of [
      [await archGguf('qwen2', { ...qwen25Keys, 'rope.scaling.type': str('yarn'), 'rope.scaling.factor': f32(4) }), /synthetic\.gguf: qwen2 with 'yarn' RoPE scaling is not supported/],
      [await archGguf('phi3', phi3Keys, ['rope_factors_long.weight', 'rope_factors_short.weight']), /synthetic\.gguf: phi3 with 'longrope' RoPE scaling \(rope_factors_long\.weight\) is not supported/],
      [await archGguf('gemma2', { ...gemma2Keys, 'attention.value_length': u32(128) }), /gemma2 with value heads of 128 and key heads of 256 is not supported/],
    ] as const) {
      expect(() => configFromGguf(gguf)).toThrow(UnsupportedArchitectureError);
      expect(() => configFromGguf(gguf)).toThrow(pattern);
    }
  });
});
