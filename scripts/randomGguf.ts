// Writes a random-weight model (scripts/randomModel.ts) with stories260K's vocabulary: the GGUF
// llama.cpp's converter would write and, with --hf, the Hugging Face checkpoint it would read.
// With --stories, the model is stories260K itself, rewritten at width 256 so that every type
// applies to every matrix (scripts/widenedStories.ts; --arch llama, qwen2 or phi3): a trained
// model to score in each type.
//   npx tsx scripts/randomGguf.ts out.gguf [--arch llama|llama3|qwen2|qwen3|phi3|gemma2|gemma3|gpt2]
//     [--type F32|F16|Q8_0|Q4_0|Q4_1|Q5_0|Q5_1|Q4_K|Q5_K|Q6_K] [--seed N] [--tied | --untied] [--stories] [--hf DIR]
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DType } from '../src/engine/formats/dtype.ts';
import type { GgufTypedValue } from '../src/engine/formats/ggufWriter.ts';
import { MODEL_DIR, readEmbeddedGguf } from './convert-stories260k.ts';
import { tokenizerMetadata } from './randomLlama.ts';
import { FILE_TYPE, RANDOM_MODELS, randomModel, type RandomModel, type RandomModelType, type RandomPreset } from './randomModel.ts';
import { WIDENED_ARCHITECTURES, widenedStories, type StoriesWeights, type WidenedArchitecture } from './widenedStories.ts';
import { readTensorF32 } from '../src/engine/formats/source.ts';

export { RANDOM_LLAMA_DEFAULTS, randomLlamaGguf, tokenizerMetadata, type RandomLlamaOptions, type RandomLlamaType } from './randomLlama.ts';

/** stories260K's 512-token SentencePiece vocabulary, which node-llama-cpp and our tokenizer both load. */
export async function storiesTokenizerMetadata(): Promise<Record<string, GgufTypedValue>> {
  return tokenizerMetadata((await readEmbeddedGguf()).metadata);
}

/** stories260K's F32 tensors and hyperparameters, for scripts/widenedStories.ts. */
export async function storiesWeights(): Promise<StoriesWeights> {
  const gguf = await readEmbeddedGguf();
  const meta = (key: string) => {
    const v = gguf.metadata[`llama.${key}`];
    if (typeof v !== 'number') throw new Error(`stories260K.gguf has no llama.${key}`);
    return v;
  };
  const tensors = new Map<string, Float32Array>();
  for (const t of gguf.tensors) tensors.set(t.name, await readTensorF32(t));
  return {
    tensors,
    hiddenSize: meta('embedding_length'),
    intermediateSize: meta('feed_forward_length'),
    layers: meta('block_count'),
    heads: meta('attention.head_count'),
    kvHeads: meta('attention.head_count_kv'),
    rmsNormEps: meta('attention.layer_norm_rms_epsilon'),
    vocabSize: tensors.get('token_embd.weight')!.length / meta('embedding_length'),
  };
}

/** The HF twin of a model as a folder: config.json, model.safetensors, and stories260K's tokenizer.json and tokenizer_config.json. */
export async function writeHfModel(dir: string, model: RandomModel, dtype: DType = 'F32'): Promise<void> {
  const { config, safetensors } = model.hf(dtype);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(dir, 'model.safetensors'), safetensors);
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(MODEL_DIR, file), join(dir, file));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      arch: { type: 'string', default: 'llama' },
      type: { type: 'string', default: 'F32' },
      seed: { type: 'string', default: '1' },
      tied: { type: 'boolean' },
      untied: { type: 'boolean' },
      hf: { type: 'string' },
      stories: { type: 'boolean' },
    },
  });
  const [out] = positionals;
  const type = values.type as RandomModelType;
  const arch = values.arch as RandomPreset;
  const storiesArch = (WIDENED_ARCHITECTURES as readonly string[]).includes(arch);
  const tiedAsked = values.tied || values.untied;
  if (
    !out ||
    !(type in FILE_TYPE) ||
    !(arch in RANDOM_MODELS) ||
    !Number.isInteger(Number(values.seed)) ||
    (values.tied && values.untied) ||
    (values.stories && (!storiesArch || tiedAsked))
  ) {
    console.error(
      `usage: npx tsx scripts/randomGguf.ts out.gguf [--arch ${Object.keys(RANDOM_MODELS).join('|')}] [--type ${Object.keys(FILE_TYPE).join('|')}] [--seed N] [--tied | --untied] [--hf DIR]\n` +
        `       npx tsx scripts/randomGguf.ts out.gguf --stories [--arch ${WIDENED_ARCHITECTURES.join('|')}] [--type …] [--seed N] [--hf DIR]`,
    );
    process.exit(1);
  }
  const tied = values.tied ? true : values.untied ? false : undefined;
  const tokenizer = await storiesTokenizerMetadata();
  const seed = Number(values.seed);
  const model = values.stories
    ? widenedStories(await storiesWeights(), tokenizer, { architecture: arch as WidenedArchitecture, type, seed })
    : randomModel(tokenizer, { ...RANDOM_MODELS[arch], type, seed, ...(tied === undefined ? {} : { tied }) });
  const bytes = model.gguf();
  await writeFile(out, bytes);
  console.log(`wrote ${out} (${bytes.byteLength} bytes)`);
  if (values.hf) {
    await writeHfModel(values.hf, model);
    console.log(`wrote ${values.hf}/ (config.json, model.safetensors, tokenizer.json, tokenizer_config.json)`);
  }
}
