// wllama (llama.cpp compiled to WebAssembly, with llama.cpp's own WebGPU backend) on the same
// random-weight GGUF files as our end-to-end cases, in the same page: the point a user who picks
// llama.cpp in the browser would compare against. Browser only (it starts its own worker).
import { Wllama } from '@wllama/wllama';
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url';
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
  const logger = { debug: note, log: note, info: note, warn: note, error: note };
  // The page is served without cross-origin isolation, so wllama picks its single-thread build.
  const wllama = new Wllama({ default: wasmUrl }, { logger });
  try {
    const response = await fetch(run.url);
    if (!response.ok) throw new Error(`${run.url}: HTTP ${response.status}`);
    await wllama.loadModel([await response.blob()], {
      n_ctx: 2 * run.promptTokens + run.decodeTokens,
      n_gpu_layers: placement === 'webgpu' ? 999 : 0,
      // llama.cpp's default f16 cache would round every K and V; ours keeps f32.
      cache_type_k: 'f32',
      cache_type_v: 'f32',
    });
    if (placement === 'webgpu' && ![...placedOn].some((name) => name.startsWith('WebGPU')))
      return { backend: BACKEND[placement], skipped: `llama.cpp's WebGPU backend did not take the weights here (placed on: ${[...placedOn].join(', ') || 'unknown'})` };
    const result = await wllama.createCompletion({
      prompt: promptText(run.promptTokens),
      max_tokens: run.decodeTokens,
      temperature: 0,
      ignore_eos: true,
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
    return { backend: BACKEND[placement], skipped: `wllama failed: ${(err as Error).message}` };
  } finally {
    await wllama.exit().catch(() => {});
  }
}

/** wllama on llama.cpp's WebGPU backend, then on its CPU path. */
export async function runWllama(run: WllamaRun): Promise<LlamaCppPoint[]> {
  return [await runOnce(run, 'webgpu'), await runOnce(run, 'cpu')];
}
