// A stand-in for HuggingFaceTB/SmolLM2-135M-Instruct, the model of the embedded chat Space
// pocket-hub/smol-chat, which lives on huggingface.co where the tests cannot go. The e2e hub
// serves it under the real id and smolChat.spec.ts routes the app's huggingface.co requests
// there, so the Space, the worker and the engine run exactly as they would against the Hub.
//
// What is real and what is not: the layout (a Llama in BF16 safetensors with tied embeddings,
// config.json, tokenizer.json, tokenizer_config.json with SmolLM2's ChatML template and its
// <|im_start|>/<|im_end|> markers) is SmolLM2-Instruct's. No trustworthy copy of SmolLM2's own
// tokenizer could be had (see test/fixtures/tokenizers/README.md), so the vocabulary is GPT-2's
// byte-level BPE, the same kind of tokenizer, with the two ChatML tokens added after it. The
// weights are random and tiny: the replies are noise, which is all an end-to-end run needs.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeSafetensors, type SafetensorsTensorInput } from '../src/engine/formats/safetensorsWriter.ts';
import { randomF32, rng } from '../test/gpu.ts';

export const SMOL_CHAT_MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct';

const GPT2_TOKENIZER = join(import.meta.dirname, '..', 'test', 'fixtures', 'tokenizers', 'gpt2', 'tokenizer.json.gz');
/** GPT-2's vocabulary ends at 50256, its <|endoftext|>; the ChatML markers follow it. */
const ENDOFTEXT = 50256;
export const IM_START = 50257;
export const IM_END = 50258;

// SmolLM2-135M is hidden 576, 30 layers, 9 heads of 64 with 3 KV heads; this keeps its shape
// (grouped-query attention, SwiGLU, tied embeddings) at a size SwiftShader runs in moments.
const HIDDEN = 64;
const LAYERS = 2;
const HEADS = 4;
const KV_HEADS = 2;
const HEAD_DIM = HIDDEN / HEADS;
const INTERMEDIATE = 128;
const VOCAB = IM_END + 1;

/** SmolLM2-Instruct's chat template: ChatML, with its own system turn when the messages bring none. */
const CHAT_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
  "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}" +
  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const README = `---
license: apache-2.0
library_name: transformers
pipeline_tag: text-generation
language:
  - en
tags:
  - e2e-stand-in
---

# SmolLM2-135M-Instruct (test stand-in)

Random weights in SmolLM2-Instruct's layout, served by Pocket Hub's end-to-end test hub.
`;

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

async function tokenizerJson(): Promise<Record<string, unknown>> {
  const gpt2 = JSON.parse(gunzipSync(await readFile(GPT2_TOKENIZER)).toString('utf8')) as Record<string, unknown>;
  // The re-saved GPT-2 file cuts inputs at 50 tokens; SmolLM2's has no truncation, and a
  // system prompt with a question is longer than that.
  return { ...gpt2, truncation: null, added_tokens: [addedToken(ENDOFTEXT, '<|endoftext|>'), addedToken(IM_START, '<|im_start|>'), addedToken(IM_END, '<|im_end|>')] };
}

function weights(): SafetensorsTensorInput[] {
  const random = rng(135);
  // Uniform in ±scale; 1/sqrt(fan-in) keeps activations near unit size through the layers.
  const matrix = (name: string, rows: number, cols: number, scale = 1 / Math.sqrt(cols)): SafetensorsTensorInput => ({
    name,
    dtype: 'BF16',
    shape: [rows, cols],
    data: randomF32(rows * cols, random, scale),
  });
  const norm = (name: string): SafetensorsTensorInput => ({ name, dtype: 'BF16', shape: [HIDDEN], data: new Float32Array(HIDDEN).fill(1) });
  // Large embeddings make the tied output's logits spread widely, so at the Space's low
  // temperature the reply is nearly greedy; the end-of-turn rows are zero, so their logit is 0
  // while the best token's is far above it, and a reply never ends by itself before Escape.
  const embedding = matrix('model.embed_tokens.weight', VOCAB, HIDDEN, 1);
  for (const id of [ENDOFTEXT, IM_END]) embedding.data.fill(0, id * HIDDEN, (id + 1) * HIDDEN);
  const tensors = [embedding];
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}`;
    tensors.push(
      norm(`${p}.input_layernorm.weight`),
      matrix(`${p}.self_attn.q_proj.weight`, HEADS * HEAD_DIM, HIDDEN),
      matrix(`${p}.self_attn.k_proj.weight`, KV_HEADS * HEAD_DIM, HIDDEN),
      matrix(`${p}.self_attn.v_proj.weight`, KV_HEADS * HEAD_DIM, HIDDEN),
      matrix(`${p}.self_attn.o_proj.weight`, HIDDEN, HEADS * HEAD_DIM),
      norm(`${p}.post_attention_layernorm.weight`),
      matrix(`${p}.mlp.gate_proj.weight`, INTERMEDIATE, HIDDEN),
      matrix(`${p}.mlp.up_proj.weight`, INTERMEDIATE, HIDDEN),
      matrix(`${p}.mlp.down_proj.weight`, HIDDEN, INTERMEDIATE),
    );
  }
  tensors.push(norm('model.norm.weight'));
  return tensors;
}

/** Writes the stand-in repo into `dir` (the hub's `<root>/HuggingFaceTB/SmolLM2-135M-Instruct`). */
export async function writeSmolChatStandIn(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const json = (name: string, value: unknown) => writeFile(join(dir, name), JSON.stringify(value, null, 2));
  await json('config.json', {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: HIDDEN,
    intermediate_size: INTERMEDIATE,
    num_hidden_layers: LAYERS,
    num_attention_heads: HEADS,
    num_key_value_heads: KV_HEADS,
    head_dim: HEAD_DIM,
    vocab_size: VOCAB,
    // SmolLM2's own values from here on.
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-5,
    rope_theta: 100000,
    hidden_act: 'silu',
    tie_word_embeddings: true,
    bos_token_id: IM_START,
    eos_token_id: IM_END,
    pad_token_id: IM_END,
    torch_dtype: 'bfloat16',
  });
  await json('generation_config.json', { bos_token_id: IM_START, eos_token_id: IM_END, pad_token_id: IM_END });
  await json('tokenizer.json', await tokenizerJson());
  await json('tokenizer_config.json', {
    add_prefix_space: false,
    bos_token: '<|im_start|>',
    eos_token: '<|im_end|>',
    pad_token: '<|im_end|>',
    unk_token: '<|endoftext|>',
    model_max_length: 8192,
    clean_up_tokenization_spaces: false,
    tokenizer_class: 'GPT2Tokenizer',
    chat_template: CHAT_TEMPLATE,
  });
  await writeFile(join(dir, 'model.safetensors'), writeSafetensors(weights(), { format: 'pt' }));
  await writeFile(join(dir, 'README.md'), README);
}
