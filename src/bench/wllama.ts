// wllama (llama.cpp compiled to WebAssembly, with llama.cpp's own WebGPU backend) on the same
// random-weight GGUF files as our end-to-end cases, in the same page: the point a user who picks
// llama.cpp in the browser would compare against. Browser only (it starts its own worker).
import { Wllama } from '@wllama/wllama';
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import { readGguf } from '../engine/formats/gguf.ts';
import { blobSource } from '../engine/formats/source.ts';
import type { LlamaCppPoint } from './types.ts';

export interface WllamaRun {
  /** The GGUF's URL, served beside the page. */
  url: string;
  /** How many tokens ours prefilled; wllama gets text of about that length (see promptText). */
  promptTokens: number;
  decodeTokens: number;
}

/**
 * wllama takes a prompt as text only (its message layer cannot carry token ids), so it gets
 * TinyStories prose that the models' 512-token vocabulary splits into about 3.1 characters per
 * token; the point reports the count llama.cpp actually prefilled.
 */
function promptText(tokens: number): string {
  const sentence = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. ';
  return sentence.repeat(Math.ceil((tokens * 3.1) / sentence.length)).slice(0, Math.round(tokens * 3.1));
}

/** llama.cpp's piece for a SentencePiece byte-fallback token, which decodes to that one raw byte. */
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * Finite because JSON.stringify writes -Infinity as null; these models' logits are nowhere near
 * 1e9, so for greedy sampling this is a ban.
 */
const BANNED = -1e9;

/**
 * A logit bias that keeps llama.cpp from generating bytes 0x80-0xFF on their own. wllama returns
 * a completion as JSON that llama.cpp serialises with nlohmann::json's strict dump(), which throws
 * on invalid UTF-8; the worker then reads a stale reply length and fails with "Invalid typed
 * array length". Random weights pick byte tokens freely, so every bench model's completion held a
 * lone 0x80-0xFF byte. Bytes below 0x80 are whole characters and stay allowed.
 * The bench's models all carry stories260K's SentencePiece vocabulary, whose only raw-byte
 * pieces are these; a literal "<0x85>" text token would be banned too, which costs nothing.
 */
export function nonUtf8Bias(tokens: readonly string[]): Record<string, number> {
  const bias: Record<string, number> = {};
  tokens.forEach((piece, id) => {
    const byte = BYTE_PIECE.exec(piece);
    if (byte && Number.parseInt(byte[1], 16) >= 0x80) bias[id] = BANNED;
  });
  return bias;
}

/** The GGUF's token pieces, read from its header only. */
export async function vocabulary(url: string, blob: Blob): Promise<string[]> {
  const tokens = (await readGguf(blobSource(url, blob))).metadata['tokenizer.ggml.tokens'];
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) throw new Error(`${url}: no tokenizer.ggml.tokens`);
  return tokens as string[];
}

/** How wllama places the model: all layers on llama.cpp's WebGPU backend, or none (its wasm CPU path). */
type Placement = 'webgpu' | 'cpu';

const BACKEND: Record<Placement, string> = {
  webgpu: 'wllama (llama.cpp WebGPU backend)',
  cpu: 'wllama (llama.cpp wasm, CPU)',
};

/**
 * One load and one greedy completion of `decodeTokens` tokens after the prompt, EOS ignored, timed
 * by llama.cpp itself (the server's `timings`, which exclude the worker's message passing).
 */
async function runOnce(run: WllamaRun, placement: Placement): Promise<LlamaCppPoint> {
  // llama.cpp logs where it placed the weights ("<backend> model buffer size = …"): the only
  // sign of whether its WebGPU backend took them or fell back to the CPU.
  const placedOn = new Set<string>();
  const note = (...args: unknown[]) => {
    const match = /(\S+) model buffer size/.exec(args.join(' '));
    if (match) placedOn.add(match[1]);
  };
  // wllama's thrown error can be a mere symptom (a stale reply length); llama.cpp logs the reason
  // as text first, while the worker's own reports arrive as Error objects.
  const errors: string[] = [];
  const error = (...args: unknown[]) => {
    if (typeof args[0] === 'string') errors.push(args.join(' '));
  };
  const logger = { debug: note, log: note, info: note, warn: note, error };
  // The page is served without cross-origin isolation, so wllama picks its single-thread build.
  const wllama = new Wllama({ default: wasmUrl }, { logger });
  try {
    const response = await fetch(run.url);
    if (!response.ok) throw new Error(`${run.url}: HTTP ${response.status}`);
    const blob = await response.blob();
    const logitBias = nonUtf8Bias(await vocabulary(run.url, blob));
    await wllama.loadModel([blob], {
      n_ctx: 2 * run.promptTokens + run.decodeTokens,
      // llama.cpp's default cache, f16, is what ours keeps too (LoadRequest.kvCache).
      n_gpu_layers: placement === 'webgpu' ? 999 : 0,
    });
    if (placement === 'webgpu' && ![...placedOn].some((name) => name.startsWith('WebGPU')))
      return { backend: BACKEND[placement], skipped: `llama.cpp's WebGPU backend did not take the weights here (placed on: ${[...placedOn].join(', ') || 'unknown'})` };
    const result = await wllama.createCompletion({
      prompt: promptText(run.promptTokens),
      max_tokens: run.decodeTokens,
      temperature: 0,
      ignore_eos: true,
      // wllama's typings intersect OpenAI's map with its own list form, which no value satisfies;
      // llama.cpp's server reads the map form (token id as key) as OpenAI does.
      logit_bias: logitBias as never,
      stream: false,
    });
    const t = result.timings;
    if (!t) return { backend: BACKEND[placement], skipped: 'wllama returned no timings' };
    return {
      backend: BACKEND[placement],
      threads: 1,
      promptTokens: t.prompt_n,
      // The first token comes after the prompt and one decode step.
      ttftMs: t.prompt_ms + t.predicted_per_token_ms,
      prefillTokensPerSecond: t.prompt_per_second,
      decodeTokensPerSecond: t.predicted_per_second,
    };
  } catch (err) {
    const logged = errors.length ? ` (llama.cpp logged: ${errors[0]})` : '';
    return { backend: BACKEND[placement], skipped: `wllama failed: ${(err as Error).message}${logged}` };
  } finally {
    await wllama.exit().catch(() => {});
  }
}

/** wllama on llama.cpp's WebGPU backend, then on its CPU path. */
export async function runWllama(run: WllamaRun): Promise<LlamaCppPoint[]> {
  return [await runOnce(run, 'webgpu'), await runOnce(run, 'cpu')];
}
