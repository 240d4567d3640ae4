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
