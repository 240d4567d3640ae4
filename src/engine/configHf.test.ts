import { describe, expect, it } from 'vitest';
import { everyOther, fiveOfSix, llamaFamily } from '../../test/configExpectations.ts';
import { CorruptFileError, UnsupportedArchitectureError } from '../protocol/errors.ts';
import { configFromHf } from './configHf.ts';

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
