// The Llama model of scripts/randomModel.ts under the names its first users import: a random
// Llama GGUF laid out as llama.cpp's converter writes one. No Node APIs (GPU tests build models
// with it in the browser; scripts/randomGguf.ts writes one to disk).
import type { GgufValue } from '../src/engine/formats/gguf.ts';
import type { GgufTypedValue } from '../src/engine/formats/ggufWriter.ts';
import { FILE_TYPE, RANDOM_MODELS, randomModel, type RandomModelOptions, type RandomModelType } from './randomModel.ts';

export { FILE_TYPE };

/** The type of every matrix; 1-D norm weights stay F32 whatever is asked, as in llama.cpp. */
export type RandomLlamaType = RandomModelType;

export type RandomLlamaOptions = Omit<RandomModelOptions, 'architecture' | 'headDim' | 'ropeScaling' | 'slidingWindow' | 'attnSoftcap' | 'finalSoftcap' | 'ropeThetaLocal'>;

const { architecture: _, ...llama } = RANDOM_MODELS.llama;
export const RANDOM_LLAMA_DEFAULTS: RandomLlamaOptions = { seed: 1, type: 'F32', ...llama };

/** The `tokenizer.ggml.*` entries llama.cpp's converter writes for a SentencePiece Llama, typed for the writer. */
export function tokenizerMetadata(metadata: Record<string, GgufValue>): Record<string, GgufTypedValue> {
  const get = (key: string) => {
    const v = metadata[key];
    if (v === undefined) throw new Error(`the tokenizer source has no ${key}`);
    return v;
  };
  return {
    'tokenizer.ggml.model': { type: 'string', value: get('tokenizer.ggml.model') as string },
    'tokenizer.ggml.pre': { type: 'string', value: 'default' },
    'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: get('tokenizer.ggml.tokens') as string[] },
    'tokenizer.ggml.scores': { type: 'array', itemType: 'f32', value: get('tokenizer.ggml.scores') as number[] },
    'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', value: get('tokenizer.ggml.token_type') as number[] },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: get('tokenizer.ggml.bos_token_id') as number },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: get('tokenizer.ggml.eos_token_id') as number },
    'tokenizer.ggml.unknown_token_id': { type: 'u32', value: get('tokenizer.ggml.unknown_token_id') as number },
    'tokenizer.ggml.add_bos_token': { type: 'bool', value: true },
    'tokenizer.ggml.add_eos_token': { type: 'bool', value: false },
  };
}

/** A random Llama GGUF with the given vocabulary; options default to RANDOM_LLAMA_DEFAULTS. */
export function randomLlamaGguf(tokenizer: Record<string, GgufTypedValue>, options: Partial<RandomLlamaOptions> = {}): Uint8Array {
  return randomModel(tokenizer, { ...options, architecture: 'llama' }).gguf();
}
