// Writes a random-weight Llama GGUF (scripts/randomLlama.ts) with stories260K's vocabulary.
//   npx tsx scripts/randomGguf.ts out.gguf [--type F32|F16|Q8_0|Q4_0|Q4_1|Q5_0|Q5_1|Q4_K|Q5_K|Q6_K] [--seed N] [--tied]
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { GgufTypedValue } from '../src/engine/formats/ggufWriter.ts';
import { readEmbeddedGguf } from './convert-stories260k.ts';
import { FILE_TYPE, randomLlamaGguf, tokenizerMetadata, type RandomLlamaType } from './randomLlama.ts';

export { RANDOM_LLAMA_DEFAULTS, randomLlamaGguf, tokenizerMetadata, type RandomLlamaOptions, type RandomLlamaType } from './randomLlama.ts';

/** stories260K's 512-token SentencePiece vocabulary, which node-llama-cpp and our tokenizer both load. */
export async function storiesTokenizerMetadata(): Promise<Record<string, GgufTypedValue>> {
  return tokenizerMetadata((await readEmbeddedGguf()).metadata);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { type: { type: 'string', default: 'F32' }, seed: { type: 'string', default: '1' }, tied: { type: 'boolean', default: false } },
  });
  const [out] = positionals;
  const type = values.type as RandomLlamaType;
  if (!out || !(type in FILE_TYPE) || !Number.isInteger(Number(values.seed))) {
    console.error(`usage: npx tsx scripts/randomGguf.ts out.gguf [--type ${Object.keys(FILE_TYPE).join('|')}] [--seed N] [--tied]`);
    process.exit(1);
  }
  const bytes = randomLlamaGguf(await storiesTokenizerMetadata(), { type, seed: Number(values.seed), tied: values.tied });
  await writeFile(out, bytes);
  console.log(`wrote ${out} (${bytes.byteLength} bytes)`);
}
