import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CorruptFileError, UnsupportedArchitectureError } from '../protocol/errors.ts';
import { configFromGguf, configFromHf } from './config.ts';
import { readGguf } from './formats/gguf.ts';
import { type GgufTypedValue, writeGguf } from './formats/ggufWriter.ts';
import { bytesSource } from './formats/source.ts';

// stories260K.gguf is the app's embedded model in public/; the other GGUFs are test fixtures.
const fixture = (name: string) =>
  new Uint8Array(
    readFileSync(new URL(name === 'stories260K.gguf' ? `../../hub/models/pocket-hub/stories260K-GGUF/${name}` : `../../test/fixtures/gguf/${name}`, import.meta.url)),
  );

// The fields of published config.json files that configFromHf reads (values as released).
const smollm2 = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 0,
  eos_token_id: 0,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 576,
  intermediate_size: 1536,
  max_position_embeddings: 8192,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  vocab_size: 49152,
};
const mistral7b = {
  architectures: ['MistralForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mistral',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  vocab_size: 32000,
};
const llama32 = {
  architectures: ['LlamaForCausalLM'],
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 64,
  hidden_size: 2048,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  vocab_size: 128256,
};

const qwen25 = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
const qwen3 = {
  architectures: ['Qwen3ForCausalLM'],
  attention_bias: false,
  bos_token_id: 151643,
  eos_token_id: 151645,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 1024,
  intermediate_size: 3072,
  max_position_embeddings: 40960,
  max_window_layers: 28,
  model_type: 'qwen3',
  num_attention_heads: 16,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: null,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
// Phi-3-mini-4k-instruct.
const phi3 = {
  architectures: ['Phi3ForCausalLM'],
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 32000,
  hidden_act: 'silu',
  hidden_size: 3072,
  intermediate_size: 8192,
  max_position_embeddings: 4096,
  model_type: 'phi3',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  original_max_position_embeddings: 4096,
  pad_token_id: 32000,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  sliding_window: 2047,
  tie_word_embeddings: false,
  vocab_size: 32064,
};
// Phi-3-mini-128k-instruct, factor lists shortened.
const phi3Long = {
  ...phi3,
  max_position_embeddings: 131072,
  sliding_window: 262144,
  rope_scaling: { long_factor: [1.07, 1.1], short_factor: [1.05, 1.05], type: 'longrope' },
};
const gemma2 = {
  architectures: ['Gemma2ForCausalLM'],
  attention_bias: false,
  attn_logit_softcapping: 50.0,
  bos_token_id: 2,
  cache_implementation: 'hybrid',
  eos_token_id: [1, 107],
  final_logit_softcapping: 30.0,
  head_dim: 256,
  hidden_act: 'gelu_pytorch_tanh',
  hidden_activation: 'gelu_pytorch_tanh',
  hidden_size: 2304,
  intermediate_size: 9216,
  max_position_embeddings: 8192,
  model_type: 'gemma2',
  num_attention_heads: 8,
  num_hidden_layers: 26,
  num_key_value_heads: 4,
  pad_token_id: 0,
  query_pre_attn_scalar: 256,
  rms_norm_eps: 1e-6,
  rope_theta: 10000.0,
  sliding_window: 4096,
  vocab_size: 256000,
};
// gemma-3-1b-it.
const gemma3 = {
  architectures: ['Gemma3ForCausalLM'],
  attention_bias: false,
  attn_logit_softcapping: null,
  bos_token_id: 2,
  cache_implementation: 'hybrid',
  eos_token_id: [1, 106],
  final_logit_softcapping: null,
  head_dim: 256,
  hidden_activation: 'gelu_pytorch_tanh',
  hidden_size: 1152,
  intermediate_size: 6912,
  max_position_embeddings: 32768,
  model_type: 'gemma3_text',
  num_attention_heads: 4,
  num_hidden_layers: 26,
  num_key_value_heads: 1,
  pad_token_id: 0,
  query_pre_attn_scalar: 256,
  rms_norm_eps: 1e-6,
  rope_local_base_freq: 10000,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: 512,
  sliding_window_pattern: 6,
  vocab_size: 262144,
};

/** gemma2's sliding layers: the even ones. */
const everyOther = (layers: number) => Array.from({ length: layers }, (_, i) => i % 2 === 0);
/** gemma3's: all but every 6th. */
const fiveOfSix = (layers: number) => Array.from({ length: layers }, (_, i) => i % 6 !== 5);

/** The fields every Llama-family config has beside its shape. */
const llamaFamily = {
  norm: 'rms',
  activation: 'silu',
  gatedFfn: true,
  positions: 'rope',
  qkNorm: false,
  postNorms: false,
  embeddingScale: 1,
  normWeightOffset: 0,
} as const;

function hfError(json: unknown): Error {
  try {
    configFromHf(json);
  } catch (err) {
    return err as Error;
  }
  throw new Error('configFromHf accepted a bad config');
}

describe('configFromHf', () => {
  it('normalises SmolLM2 (tied embeddings, explicit head_dim)', () => {
    expect(configFromHf(smollm2)).toEqual({
      ...llamaFamily,
      architecture: 'llama',
      hiddenSize: 576,
      intermediateSize: 1536,
      layers: 30,
      heads: 9,
      kvHeads: 3,
      headDim: 64,
      vocabSize: 49152,
      contextLength: 8192,
      rmsNormEps: 1e-5,
      ropeTheta: 100000,
      ropeDim: 64,
      tieEmbeddings: true,
      bosTokenId: 0,
      eosTokenIds: [0],
      attentionScale: 1 / 8,
    });
  });

  it('normalises Mistral 7B (head_dim derived, separate lm_head, a window on every layer)', () => {
    const c = configFromHf(mistral7b);
    expect(c).toMatchObject({ architecture: 'llama', headDim: 128, ropeDim: 128, kvHeads: 8, tieEmbeddings: false, eosTokenIds: [2] });
    expect(c.slidingWindow).toBe(4096);
    expect(c.slidingLayers).toEqual(Array(32).fill(true));
    // Mistral v0.2+ switch the window off with an explicit null; MistralConfig's default is 4096.
    expect(configFromHf({ ...mistral7b, sliding_window: null }).slidingWindow).toBeUndefined();
    const { sliding_window: _, ...noWindow } = mistral7b;
    expect(configFromHf(noWindow).slidingWindow).toBe(4096);
    // Llama has no windowed attention, whatever the config carries.
    expect(configFromHf({ ...smollm2, sliding_window: 64 }).slidingWindow).toBeUndefined();
  });

  it('normalises Llama 3.2 (an EOS list and llama3 RoPE scaling)', () => {
    const c = configFromHf(llama32);
    expect(c.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(c.bosTokenId).toBe(128000);
    expect(c.ropeScaling).toEqual({ factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 });
  });

  it('fills in the LlamaConfig defaults for fields left out', () => {
    const minimal = { architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 172, num_hidden_layers: 5, num_attention_heads: 8, vocab_size: 512 };
    expect(configFromHf(minimal)).toEqual({
      ...llamaFamily,
      architecture: 'llama',
      hiddenSize: 64,
      intermediateSize: 172,
      layers: 5,
      heads: 8,
      kvHeads: 8,
      headDim: 8,
      vocabSize: 512,
      contextLength: 2048,
      rmsNormEps: 1e-6,
      ropeTheta: 10000,
      ropeDim: 8,
      tieEmbeddings: false,
      eosTokenIds: [],
      attentionScale: 1 / Math.sqrt(8),
    });
  });

  it('names the unsupported architecture', () => {
    for (const [json, pattern] of [
      [{ model_type: 'bert' }, /model_type 'bert' is not supported; Pocket Hub runs Llama, Mistral, Qwen2, Qwen3, Phi-3, Gemma 2, Gemma 3 and GPT-2 models/],
      [{ architectures: ['FalconForCausalLM'] }, /FalconForCausalLM is not supported/],
      [{}, /an unnamed architecture is not supported/],
    ] as const) {
      const err = hfError(json);
      expect(err).toBeInstanceOf(UnsupportedArchitectureError);
      expect(err.message).toMatch(pattern);
    }
  });

  it('refuses features the runtime lacks instead of computing something else', () => {
    for (const [json, pattern] of [
      [{ ...smollm2, mlp_bias: true }, /llama with mlp_bias is not supported/],
      [{ ...smollm2, hidden_act: 'gelu' }, /llama with hidden_act 'gelu' is not supported; it runs silu/],
      [{ ...llama32, rope_scaling: { type: 'dynamic', factor: 2 } }, /llama with rope_scaling type 'dynamic' is not supported/],
      [{ ...qwen25, rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } }, /qwen2 with rope_scaling type 'yarn'/],
      [{ ...qwen25, use_sliding_window: true }, /qwen2 with use_sliding_window is not supported/],
      [phi3Long, /phi3 with rope_scaling type 'longrope' is not supported; Pocket Hub runs default, linear and llama3 RoPE/],
      [{ ...gemma2, hidden_activation: 'gelu' }, /gemma2 with hidden_activation 'gelu' is not supported; it runs gelu_pytorch_tanh/],
      [{ ...gemma3, rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 1e6 }, sliding_attention: { rope_type: 'linear', factor: 2, rope_theta: 1e4 } } }, /scaled RoPE on its sliding layers/],
    ] as const) {
      const err = hfError(json);
      expect(err).toBeInstanceOf(UnsupportedArchitectureError);
      expect(err.message).toMatch(/^config\.json: /);
      expect(err.message).toMatch(pattern);
    }
  });

  it('names the model in its messages when told where config.json came from', () => {
    expect(() => configFromHf(phi3Long, 'microsoft/Phi-3-mini-128k-instruct/config.json')).toThrow(/^microsoft\/Phi-3-mini-128k-instruct\/config\.json: phi3 with rope_scaling type 'longrope'/);
  });

  it('rejects missing or inconsistent fields as a corrupt config.json', () => {
    const { hidden_size: _, ...noHidden } = smollm2;
    for (const [json, pattern] of [
      ['not an object', /not a JSON object/],
      [noHidden, /hidden_size must be a positive integer, got undefined/],
      [{ ...smollm2, num_hidden_layers: 0 }, /num_hidden_layers must be a positive integer/],
      [{ ...smollm2, num_key_value_heads: 2 }, /9 attention heads are not a multiple of 2 key\/value heads/],
      [{ ...mistral7b, num_attention_heads: 30 }, /hidden_size 4096 is not a multiple of num_attention_heads 30/],
      [{ ...smollm2, eos_token_id: [1, 'x'] }, /eos_token_id has an invalid value/],
      [{ ...smollm2, rope_theta: '1e4' }, /rope_theta has an invalid value/],
      [{ ...llama32, rope_scaling: { ...llama32.rope_scaling, factor: undefined } }, /rope_scaling\.factor must be a positive number/],
    ] as const) {
      const err = hfError(json);
      expect(err, JSON.stringify(json)).toBeInstanceOf(CorruptFileError);
      expect(err.message).toMatch(/^config\.json: /);
      expect(err.message).toMatch(pattern);
    }
  });
});

describe('configFromHf of the other architectures', () => {
  it('normalises Qwen2.5-0.5B: a window the flag leaves off, tied embeddings', () => {
    expect(configFromHf(qwen25)).toEqual({
      ...llamaFamily,
      architecture: 'qwen2',
      hiddenSize: 896,
      intermediateSize: 4864,
      layers: 24,
      heads: 14,
      kvHeads: 2,
      headDim: 64,
      vocabSize: 151936,
      contextLength: 32768,
      rmsNormEps: 1e-6,
      ropeTheta: 1e6,
      ropeDim: 64,
      tieEmbeddings: true,
      bosTokenId: 151643,
      eosTokenIds: [151643],
      attentionScale: 1 / 8,
    });
    // transformers 4.53+ list each layer's type; an all-full list changes nothing.
    expect(configFromHf({ ...qwen25, layer_types: Array(24).fill('full_attention') }).slidingLayers).toBeUndefined();
  });

  it('normalises Qwen3-0.6B: head_dim wider than hidden/heads, q/k head norms', () => {
    expect(configFromHf(qwen3)).toEqual({
      ...llamaFamily,
      architecture: 'qwen3',
      qkNorm: true,
      hiddenSize: 1024,
      intermediateSize: 3072,
      layers: 28,
      heads: 16,
      kvHeads: 8,
      headDim: 128,
      vocabSize: 151936,
      contextLength: 40960,
      rmsNormEps: 1e-6,
      ropeTheta: 1e6,
      ropeDim: 128,
      tieEmbeddings: true,
      bosTokenId: 151643,
      eosTokenIds: [151645],
      attentionScale: 1 / Math.sqrt(128),
    });
    // Qwen3Config's head_dim default is 128, not hidden/heads.
    const { head_dim: _, ...noHeadDim } = qwen3;
    expect(configFromHf(noHeadDim).headDim).toBe(128);
  });

  it('normalises Phi-3-mini-4k: its 2047 window on every layer, partial rotary when asked', () => {
    expect(configFromHf(phi3)).toEqual({
      ...llamaFamily,
      architecture: 'phi3',
      hiddenSize: 3072,
      intermediateSize: 8192,
      layers: 32,
      heads: 32,
      kvHeads: 32,
      headDim: 96,
      vocabSize: 32064,
      contextLength: 4096,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      ropeDim: 96,
      tieEmbeddings: false,
      bosTokenId: 1,
      eosTokenIds: [32000],
      attentionScale: 1 / Math.sqrt(96),
      slidingWindow: 2047,
      slidingLayers: Array(32).fill(true),
    });
    // Phi-4-mini rotates three quarters of each head.
    expect(configFromHf({ ...phi3, partial_rotary_factor: 0.75 }).ropeDim).toBe(72);
  });

  it('normalises gemma-2-2b: norm offset, GELU, soft-caps, even layers sliding, √hidden embedding scale', () => {
    expect(configFromHf(gemma2)).toEqual({
      architecture: 'gemma2',
      norm: 'rms',
      activation: 'gelu_tanh',
      gatedFfn: true,
      positions: 'rope',
      qkNorm: false,
      postNorms: true,
      normWeightOffset: 1,
      hiddenSize: 2304,
      intermediateSize: 9216,
      layers: 26,
      heads: 8,
      kvHeads: 4,
      headDim: 256,
      vocabSize: 256000,
      contextLength: 8192,
      rmsNormEps: 1e-6,
      ropeTheta: 10000,
      ropeDim: 256,
      tieEmbeddings: true,
      bosTokenId: 2,
      eosTokenIds: [1, 107],
      embeddingScale: 48,
      attentionScale: 1 / 16,
      attnSoftcap: 50,
      finalSoftcap: 30,
      slidingWindow: 4096,
      slidingLayers: everyOther(26),
    });
    // gemma-2-27b scales queries by (hidden/heads)^−½ = 144^−½, which its config says.
    expect(configFromHf({ ...gemma2, query_pre_attn_scalar: 144 }).attentionScale).toBeCloseTo(1 / 12, 15);
    // Gemma2Config's defaults are 50 and 30; an explicit null turns a cap off.
    const { attn_logit_softcapping: _, final_logit_softcapping: __, ...noCaps } = gemma2;
    expect(configFromHf(noCaps)).toMatchObject({ attnSoftcap: 50, finalSoftcap: 30 });
    const nullCaps = configFromHf({ ...gemma2, attn_logit_softcapping: null, final_logit_softcapping: null });
    expect([nullCaps.attnSoftcap, nullCaps.finalSoftcap]).toEqual([undefined, undefined]);
  });

  it('normalises gemma-3-1b: q/k norms, five sliding layers in six with a local RoPE base, no caps', () => {
    expect(configFromHf(gemma3)).toEqual({
      architecture: 'gemma3',
      norm: 'rms',
      activation: 'gelu_tanh',
      gatedFfn: true,
      positions: 'rope',
      qkNorm: true,
      postNorms: true,
      normWeightOffset: 1,
      hiddenSize: 1152,
      intermediateSize: 6912,
      layers: 26,
      heads: 4,
      kvHeads: 1,
      headDim: 256,
      vocabSize: 262144,
      contextLength: 32768,
      rmsNormEps: 1e-6,
      ropeTheta: 1e6,
      ropeDim: 256,
      tieEmbeddings: true,
      bosTokenId: 2,
      eosTokenIds: [1, 106],
      embeddingScale: Math.sqrt(1152),
      attentionScale: 1 / 16,
      slidingWindow: 512,
      slidingLayers: fiveOfSix(26),
      ropeThetaLocal: 10000,
    });
  });

  it('reads gemma-3-4b-style linear RoPE scaling of the global layers, in both config layouts', () => {
    const linear = configFromHf({ ...gemma3, rope_scaling: { factor: 8.0, rope_type: 'linear' } });
    expect(linear).toMatchObject({ ropeTheta: 1e6, ropeLinearFactor: 8, ropeThetaLocal: 10000 });
    // transformers 5 writes rope_parameters per layer type instead of rope_theta / rope_scaling.
    const { rope_theta: _, rope_scaling: __, rope_local_base_freq: ___, ...bare } = gemma3;
    const v5 = configFromHf({
      ...bare,
      rope_parameters: { full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1e6 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } },
    });
    expect(v5).toMatchObject({ ropeTheta: 1e6, ropeLinearFactor: 8, ropeThetaLocal: 10000 });
    // Linear scaling on a Llama applies to every layer.
    expect(configFromHf({ ...smollm2, rope_scaling: { type: 'linear', factor: 2 } }).ropeLinearFactor).toBe(2);
  });

  it("normalises openai-community/gpt2: its own key names, learned positions, LayerNorm, an FFN of 4 × hidden", () => {
    const gpt2 = {
      activation_function: 'gelu_new',
      architectures: ['GPT2LMHeadModel'],
      bos_token_id: 50256,
      eos_token_id: 50256,
      layer_norm_epsilon: 1e-5,
      model_type: 'gpt2',
      n_ctx: 1024,
      n_embd: 768,
      n_head: 12,
      n_layer: 12,
      n_positions: 1024,
      vocab_size: 50257,
    };
    expect(configFromHf(gpt2)).toEqual({
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
      vocabSize: 50257,
      contextLength: 1024,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      ropeDim: 0,
      tieEmbeddings: true,
      bosTokenId: 50256,
      eosTokenIds: [50256],
      embeddingScale: 1,
      attentionScale: 1 / 8,
    });
    expect(configFromHf({ ...gpt2, n_inner: 1024 }).intermediateSize).toBe(1024);
    expect(() => configFromHf({ ...gpt2, activation_function: 'relu' })).toThrow(/gpt2 with activation_function 'relu' is not supported; it runs gelu_new/);
    expect(() => configFromHf({ ...gpt2, scale_attn_by_inverse_layer_idx: true })).toThrow(UnsupportedArchitectureError);
    expect(() => configFromHf({ ...gpt2, n_head: 7 })).toThrow(/n_embd 768 is not a multiple of n_head 7/);
  });

  it("reads gemma-3-4b-it's language model from its multimodal config: text_config over Gemma3TextConfig's defaults", () => {
    const gemma3_4b = {
      architectures: ['Gemma3ForConditionalGeneration'],
      boi_token_index: 255999,
      eoi_token_index: 256000,
      eos_token_id: [1, 106],
      image_token_index: 262144,
      mm_tokens_per_image: 256,
      model_type: 'gemma3',
      text_config: {
        hidden_size: 2560,
        intermediate_size: 10240,
        model_type: 'gemma3_text',
        num_hidden_layers: 34,
        rope_scaling: { factor: 8.0, rope_type: 'linear' },
        sliding_window: 1024,
      },
      vision_config: { hidden_size: 1152, model_type: 'siglip_vision_model', num_hidden_layers: 27 },
    };
    expect(configFromHf(gemma3_4b)).toEqual({
      ...configFromHf(gemma3),
      hiddenSize: 2560,
      intermediateSize: 10240,
      layers: 34,
      heads: 8,
      kvHeads: 4,
      vocabSize: 262208,
      contextLength: 131072,
      embeddingScale: Math.sqrt(2560),
      ropeLinearFactor: 8,
      slidingWindow: 1024,
      slidingLayers: fiveOfSix(34),
    });
    expect(() => configFromHf({ ...gemma3_4b, text_config: undefined })).toThrow(/has no text_config object/);
  });

  it('follows layer_types over the class rule, and the pattern key when there is no list', () => {
    const types = ['sliding_attention', 'full_attention', 'full_attention'];
    expect(configFromHf({ ...gemma3, num_hidden_layers: 3, layer_types: types }).slidingLayers).toEqual([true, false, false]);
    expect(configFromHf({ ...gemma3, sliding_window_pattern: 2 }).slidingLayers).toEqual(everyOther(26));
    expect(() => configFromHf({ ...gemma3, layer_types: types })).toThrow(/layer_types must list .* each of the 26 layers/);
  });
});

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
