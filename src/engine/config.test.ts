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
    });
  });

  it('normalises Mistral 7B (head_dim derived, separate lm_head)', () => {
    const c = configFromHf(mistral7b);
    expect(c).toMatchObject({ architecture: 'llama', headDim: 128, ropeDim: 128, kvHeads: 8, tieEmbeddings: false, eosTokenIds: [2] });
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
    });
  });

  it('names the unsupported architecture', () => {
    const gpt2 = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 768 };
    for (const [json, pattern] of [
      [gpt2, /model_type 'gpt2', GPT2LMHeadModel is not supported/],
      [{ model_type: 'bert' }, /model_type 'bert' is not supported/],
      [{ architectures: ['Qwen2ForCausalLM'] }, /Qwen2ForCausalLM is not supported/],
      [{}, /an unnamed architecture is not supported/],
    ] as const) {
      const err = hfError(json);
      expect(err).toBeInstanceOf(UnsupportedArchitectureError);
      expect(err.message).toMatch(pattern);
    }
  });

  it('refuses features the runtime lacks instead of computing something else', () => {
    for (const [json, pattern] of [
      [{ ...smollm2, attention_bias: true }, /attention_bias is set/],
      [{ ...smollm2, mlp_bias: true }, /mlp_bias is set/],
      [{ ...smollm2, hidden_act: 'gelu' }, /hidden_act 'gelu'/],
      [{ ...llama32, rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling type 'linear'/],
    ] as const) {
      const err = hfError(json);
      expect(err).toBeInstanceOf(UnsupportedArchitectureError);
      expect(err.message).toMatch(pattern);
    }
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
    for (const arch of ['gpt2', 'bert', 'qwen2']) {
      const gguf = await syntheticGguf({ ...llamaMeta, 'general.architecture': { type: 'string', value: arch } });
      expect(() => configFromGguf(gguf)).toThrow(UnsupportedArchitectureError);
      expect(() => configFromGguf(gguf)).toThrow(`synthetic.gguf: architecture '${arch}' is not supported`);
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
