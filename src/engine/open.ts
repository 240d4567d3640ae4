import { CorruptFileError, MissingFileError, MissingTokenizerError } from '../protocol/errors.ts';
import type { ModelConfig } from './config.ts';
import { configFromGguf } from './configGguf.ts';
import { configFromHf } from './configHf.ts';
import type { ModelLocation } from './files.ts';
import { readGguf } from './formats/gguf.ts';
import { readSafetensors, readShardedSafetensors } from './formats/safetensors.ts';
import type { ByteSource, TensorInfo } from './formats/source.ts';
import type { RopeMode } from './model/llama.ts';
import { tokenizerFromGguf, tokenizerFromJson, type TextTokenizer } from './tokenizer/index.ts';

/** Everything read from a model's files before anything goes to the GPU. */
export interface OpenedModel {
  format: 'gguf' | 'safetensors';
  config: ModelConfig;
  tensors: TensorInfo[];
  tokenizer: TextTokenizer;
  ropeMode: RopeMode;
}

export async function openModel(location: ModelLocation): Promise<OpenedModel> {
  if (location.kind === 'gguf') {
    const gguf = await readGguf(await location.open());
    const config = configFromGguf(gguf);
    if (!('tokenizer.ggml.model' in gguf.metadata))
      throw new MissingTokenizerError(`${location.name} has no tokenizer metadata (tokenizer.ggml.*).`);
    return { format: 'gguf', config, tensors: gguf.tensors, tokenizer: tokenizerFromGguf(gguf.metadata), ropeMode: ggufRopeMode(config) };
  }
  return openSafetensors(location);
}

/**
 * llama.cpp's converter permutes the Q/K rows of llama models so that RoPE rotates adjacent
 * pairs (llama.cpp's "normal" RoPE); every other architecture keeps the checkpoint's order and
 * rotates the two halves of each head ("neox").
 */
export function ggufRopeMode(config: ModelConfig): RopeMode {
  return config.architecture === 'llama' ? 'adjacent' : 'halves';
}

async function openSafetensors(location: Extract<ModelLocation, { kind: 'folder' }>): Promise<OpenedModel> {
  const { files } = location;
  const config = configFromHf(await readJson(await files.open('config.json'), 'config.json', location.name), `${location.name}/config.json`);
  const tokenizerSource = await files.open('tokenizer.json');
  if (!tokenizerSource) throw new MissingTokenizerError(`${location.name} has no tokenizer.json.`);
  const optionalJson = async (file: string) => {
    const source = await files.open(file);
    return source ? readJson(source, file, location.name) : undefined;
  };
  const tokenizer = tokenizerFromJson(
    await readJson(tokenizerSource, 'tokenizer.json', location.name),
    await optionalJson('tokenizer_config.json'),
    // Chat models often list their end-of-turn ids only here.
    await optionalJson('generation_config.json'),
  );

  const index = await files.open('model.safetensors.index.json');
  let tensors: TensorInfo[];
  if (index) {
    tensors = await readShardedSafetensors(await readJson(index, 'model.safetensors.index.json', location.name), async (file) => {
      const shard = await files.open(file);
      if (!shard) throw new MissingFileError(`${location.name} lists shard ${file} in its index, but the file is missing.`);
      return shard;
    });
  } else {
    const single = await files.open('model.safetensors');
    if (!single) throw new MissingFileError(`${location.name} has neither model.safetensors nor model.safetensors.index.json.`);
    tensors = (await readSafetensors(single)).tensors;
  }
  // HF checkpoints keep Q/K in the order that rotates the two halves of each head.
  return { format: 'safetensors', config, tensors, tokenizer, ropeMode: 'halves' };
}

async function readJson(source: ByteSource | undefined, file: string, model: string): Promise<unknown> {
  if (!source) throw new MissingFileError(`${model} has no ${file}.`);
  const text = new TextDecoder().decode(await source.read(0, source.size));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CorruptFileError(`${model}/${file} is not valid JSON: ${(err as Error).message}`);
  }
}
