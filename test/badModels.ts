// Broken and unsupported model files, written to a folder for the CLI and e2e tests.
// Each is derived from the real stories260K GGUF or written with our own writers.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorName } from '../src/protocol/errors.ts';
import { writeGguf } from '../src/engine/formats/ggufWriter.ts';
import { writeSafetensors } from '../src/engine/formats/safetensorsWriter.ts';
import { STORIES_GGUF, STORIES_HF_DIR } from './embedded.ts';


/** Where e2e/badModelServer.ts serves them, as a second origin. */
export const BAD_MODELS_PORT = 4174;

export interface BadModel {
  /** Path relative to the folder: a .gguf file or a model folder. */
  path: string;
  error: ErrorName;
  /** Words the error message must contain, so it says what is wrong. */
  mentions: RegExp;
}

export const BAD_MODELS: BadModel[] = [
  { path: 'bad-magic.gguf', error: 'CorruptFileError', mentions: /magic/i },
  { path: 'header-past-end.gguf', error: 'CorruptFileError', mentions: /truncated|end of the file/i },
  { path: 'truncated-data.gguf', error: 'CorruptFileError', mentions: /output|tensor|truncated|past the end|bounds/i },
  { path: 'unknown-dtype.gguf', error: 'UnsupportedDtypeError', mentions: /99/ },
  { path: 'offset-out-of-bounds.gguf', error: 'CorruptFileError', mentions: /output_norm/ },
  { path: 'unsupported-architecture.gguf', error: 'UnsupportedArchitectureError', mentions: /bert/ },
  { path: 'no-tokenizer', error: 'MissingTokenizerError', mentions: /tokenizer\.json/ },
];

/** Offset of the ggml type field of the tensor `name` in a GGUF header (after name, n_dims, dims). */
function tensorTypeOffset(bytes: Uint8Array, name: string, dims: number): number {
  const key = new TextEncoder().encode(name);
  for (let i = 0; i < bytes.length - key.length; i++) {
    if (key.every((b, j) => bytes[i + j] === b) && bytes[i - 8] === key.length) return i + key.length + 4 + 8 * dims;
  }
  throw new Error(`tensor ${name} not found`);
}

/** Writes every file of BAD_MODELS into `dir`. */
export async function writeBadModels(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const good = new Uint8Array(await readFile(STORIES_GGUF));
  const put = (name: string, bytes: Uint8Array) => writeFile(join(dir, name), bytes);

  const badMagic = good.slice();
  badMagic.set(new TextEncoder().encode('GGUX'), 0);
  await put('bad-magic.gguf', badMagic);

  // Cut inside the metadata: the header claims more than the file holds.
  await put('header-past-end.gguf', good.slice(0, 4096));

  // The header is whole but the last tensors' bytes are missing.
  await put('truncated-data.gguf', good.slice(0, good.length - 5000));

  const unknownType = good.slice();
  new DataView(unknownType.buffer).setUint32(tensorTypeOffset(unknownType, 'output_norm.weight', 1), 99, true);
  await put('unknown-dtype.gguf', unknownType);

  const farOffset = good.slice();
  new DataView(farOffset.buffer).setBigUint64(tensorTypeOffset(farOffset, 'output_norm.weight', 1) + 4, 1n << 40n, true);
  await put('offset-out-of-bounds.gguf', farOffset);

  await put(
    'unsupported-architecture.gguf',
    writeGguf({
      metadata: {
        'general.architecture': { type: 'string', value: 'bert' },
        'bert.block_count': { type: 'u32', value: 1 },
        'bert.embedding_length': { type: 'u32', value: 8 },
      },
      tensors: [{ name: 'token_embd.weight', dtype: 'F32', shape: [4, 8], data: new Float32Array(32) }],
    }),
  );

  // A real config and weights, but no tokenizer.json.
  const noTokenizer = join(dir, 'no-tokenizer');
  await mkdir(noTokenizer, { recursive: true });
  await writeFile(join(noTokenizer, 'config.json'), await readFile(join(STORIES_HF_DIR, 'config.json')));
  await writeFile(join(noTokenizer, 'model.safetensors'), writeSafetensors([{ name: 'x', dtype: 'F32', shape: [1], data: new Float32Array(1) }]));

}
