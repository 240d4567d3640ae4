// Writes the HF-format copy of the embedded stories260K model from its GGUF, so the app
// ships one model in both formats it loads: npx tsx scripts/convert-stories260k.ts
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readGguf, type GgufFile } from '../src/engine/formats/gguf.ts';
import { bytesSource, readTensorF32 } from '../src/engine/formats/source.ts';
import { writeSafetensors } from '../src/engine/formats/safetensorsWriter.ts';
import { configFromGguf } from '../src/engine/configGguf.ts';
import { tokenizerJsonFromGguf } from '../src/engine/tokenizer/fromGguf.ts';

const EMBEDDED_HUB = join(dirname(fileURLToPath(import.meta.url)), '..', 'hub', 'models', 'pocket-hub');
/** The HF-format repo this script writes. */
export const MODEL_DIR = join(EMBEDDED_HUB, 'stories260K');
/** The GGUF repo it reads: the file as Karpathy's tinyllamas published it. */
export const GGUF_DIR = join(EMBEDDED_HUB, 'stories260K-GGUF');

/**
 * llama.cpp's converter and llama2.c store each Q/K head with its rotary pairs adjacent
 * (2j, 2j+1); HF checkpoints store the pair members half a head apart (j, j + d/2) and
 * rotate halves. Row (h, j, t) of the GGUF layout becomes row (h, t, j) of the HF layout,
 * the inverse of the permutation transformers' Llama conversion script applies.
 */
export function adjacentToHalves(w: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < half; j++)
      for (let t = 0; t < 2; t++) {
        const from = (h * headDim + 2 * j + t) * cols;
        const to = (h * headDim + t * half + j) * cols;
        out.set(w.subarray(from, from + cols), to);
      }
  return out;
}

const LAYER_NAMES: Record<string, string> = {
  attn_norm: 'input_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  ffn_norm: 'post_attention_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};

function hfName(ggufName: string): string | undefined {
  if (ggufName === 'token_embd.weight') return 'model.embed_tokens.weight';
  if (ggufName === 'output_norm.weight') return 'model.norm.weight';
  // stories260K ties its classifier to the embedding; the GGUF stores a copy, HF marks it tied.
  if (ggufName === 'output.weight') return undefined;
  const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(ggufName);
  if (!m || !LAYER_NAMES[m[2]]) throw new Error(`unexpected tensor ${ggufName}`);
  return `model.layers.${m[1]}.${LAYER_NAMES[m[2]]}.weight`;
}

/** The HF files (name → bytes) equivalent to a stories260K GGUF. */
export async function convertStories260k(gguf: GgufFile): Promise<Map<string, Uint8Array>> {
  const c = configFromGguf(gguf);
  // The GGUF says 2048, but the model was trained with (and llama2.c's .bin declares) 512 positions.
  const trainedContext = 512;
  const tensors = [];
  for (const t of gguf.tensors) {
    const name = hfName(t.name);
    if (!name) continue;
    let data = await readTensorF32(t);
    if (name.endsWith('q_proj.weight')) data = adjacentToHalves(data, c.heads, c.headDim, c.hiddenSize);
    if (name.endsWith('k_proj.weight')) data = adjacentToHalves(data, c.kvHeads, c.headDim, c.hiddenSize);
    tensors.push({ name, dtype: 'F32' as const, shape: t.shape, data });
  }
  tensors.sort((a, b) => a.name.localeCompare(b.name));

  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: trainedContext,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    hidden_act: 'silu',
    tie_word_embeddings: true,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds[0],
    torch_dtype: 'float32',
  };
  const tokenizerConfig = {
    tokenizer_class: 'LlamaTokenizerFast',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    add_bos_token: true,
    add_eos_token: false,
    model_max_length: trainedContext,
    clean_up_tokenization_spaces: false,
  };
  const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);
  return new Map([
    ['config.json', json(config)],
    ['model.safetensors', writeSafetensors(tensors, { format: 'pt' })],
    ['tokenizer.json', json(tokenizerJsonFromGguf(gguf.metadata))],
    ['tokenizer_config.json', json(tokenizerConfig)],
  ]);
}

export async function readEmbeddedGguf(): Promise<GgufFile> {
  const bytes = new Uint8Array(await readFile(join(GGUF_DIR, 'stories260K.gguf')));
  return readGguf(bytesSource('stories260K.gguf', bytes));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await convertStories260k(await readEmbeddedGguf());
  for (const [name, bytes] of files) {
    await writeFile(join(MODEL_DIR, name), bytes);
    console.log(`wrote ${join(MODEL_DIR, name)} (${bytes.byteLength} bytes)`);
  }
}
