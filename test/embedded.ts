// Where the app's embedded hub keeps stories260K, for tests that read the model from disk.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';

export const EMBEDDED_HUB = join(import.meta.dirname, '..', 'hub');
/** The Hugging Face-format repo: config.json, model.safetensors, tokenizer.json. */
export const STORIES_HF_DIR = join(EMBEDDED_HUB, 'models', 'pocket-hub', 'stories260K');
export const STORIES_GGUF = join(EMBEDDED_HUB, 'models', 'pocket-hub', 'stories260K-GGUF', 'stories260K.gguf');

/**
 * Writes one repo holding both formats of stories260K, the way many Hub repos carry
 * safetensors and a GGUF side by side: the hub tests choose between them.
 */
export async function copyStoriesRepo(dest: string): Promise<void> {
  await cp(STORIES_HF_DIR, dest, { recursive: true });
  await cp(STORIES_GGUF, join(dest, 'stories260K.gguf'));
}
