// llama.cpp (through node-llama-cpp, on the CPU) as the independent reference for whole-model tests.
import { getLlama, type Llama, type LlamaModel } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;
const models = new Map<string, Promise<LlamaModel>>();

export function loadReference(modelPath: string): Promise<LlamaModel> {
  // build: 'never' uses the prebuilt binaries from npm; the machine has no internet to fetch sources.
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  let model = models.get(modelPath);
  if (!model) {
    model = llama.then((l) => l.loadModel({ modelPath }));
    models.set(modelPath, model);
  }
  return model;
}

/** llama.cpp's greedy continuation of `promptIds` (which already hold BOS when wanted). */
export async function referenceGreedy(modelPath: string, promptIds: number[], maxTokens: number): Promise<number[]> {
  const model = await loadReference(modelPath);
  // One thread: with the default (every core), llama.cpp's workers spin against Dawn and
  // the other test process on a 2-core machine, and 80 tokens of a 260K model took 45 s instead of 0.05 s.
  const context = await model.createContext({ contextSize: 512, sequences: 1, threads: 1 });
  try {
    const sequence = context.getSequence();
    const out: number[] = [];
    for await (const token of sequence.evaluate(promptIds as never, { temperature: 0 })) {
      if (model.isEogToken(token)) break;
      out.push(token as number);
      if (out.length >= maxTokens) break;
    }
    return out;
  } finally {
    await context.dispose();
  }
}

/** llama.cpp's own tokenization, without BOS. */
export async function referenceTokenize(modelPath: string, text: string): Promise<number[]> {
  return [...(await loadReference(modelPath)).tokenize(text, false)] as number[];
}

/**
 * llama.cpp's next-token distribution after each prefix ids[0..i], teacher-forced in one
 * evaluation: for each position, the `topK` most likely tokens as [id, probability], most likely
 * first. The probabilities are the softmax of the raw logits (the greedy sampler of the default
 * options does not reshape them), in llama.cpp's f32.
 */
export async function referenceProbabilities(modelPath: string, ids: number[], topK: number): Promise<[number, number][][]> {
  const model = await loadReference(modelPath);
  const context = await model.createContext({
    contextSize: Math.max(256, ids.length),
    sequences: 1,
    // See referenceGreedy.
    threads: 1,
    // An f32 KV cache and the plain attention path keep llama.cpp's own rounding to what the
    // weights' type implies: its default f16 cache would round every K and V to 11 bits.
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
  try {
    const input = ids.map((id) => [id, { generateNext: { probabilities: true } }] as [never, { generateNext: { probabilities: true } }]);
    const output = await context.getSequence().controlledEvaluate(input);
    return ids.map((_, i) => {
      const probabilities = output[i]?.next.probabilities;
      if (!probabilities) throw new Error(`llama.cpp returned no probabilities at position ${i}`);
      return [...probabilities].slice(0, topK) as [number, number][];
    });
  } finally {
    await context.dispose();
  }
}
