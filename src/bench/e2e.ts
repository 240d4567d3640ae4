import type { Gpu } from '../gpu/device.ts';
import type { ModelConfig } from '../engine/config.ts';
import type { ByteSource } from '../engine/formats/source.ts';
import { kvBytesPerValue, kvCacheType, LlamaModel } from '../engine/model/llama.ts';
import { gpuWeightBytes } from '../engine/model/gpuWeights.ts';
import { llamaTensors, type LlamaTensors } from '../engine/model/weights.ts';
import { openModel } from '../engine/open.ts';
import { countingGpu } from './counting.ts';
import { e2ePrompt, type E2eModelSpec } from './plan.ts';
import type { E2eCase } from './types.ts';

/** A random-weight GGUF written by scripts/randomGguf.ts from an E2eModelSpec. */
export interface E2eModel {
  spec: E2eModelSpec;
  open: () => Promise<ByteSource>;
}

export interface E2eOptions {
  promptTokens: number;
  decodeTokens: number;
  /** The copy kernel's GB/s on this device, which bounds decode. */
  copyGbps: number;
}

/** The JS heap in use, where the runtime reports it (Chromium's performance.memory, Node's process). */
function jsHeapBytes(): number | undefined {
  const memory = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
  if (memory) return memory.usedJSHeapSize;
  const proc = (globalThis as { process?: { memoryUsage?: () => { heapUsed: number } } }).process;
  return proc?.memoryUsage?.().heapUsed;
}

/**
 * Bytes one decode step at `position` reads: every weight of every layer, the output norm and
 * LM head, one embedding row, and the KV cache up to the position. Activations (a few KiB)
 * are left out. Weight bytes are what the engine keeps on the GPU (gpuWeightBytes), so the bound
 * follows the engine when it stops widening weights to f32.
 */
export function decodeBytesPerToken(config: ModelConfig, tensors: LlamaTensors, position: number): number {
  const layers = tensors.layers.reduce((sum, l) => sum + Object.values(l).reduce((s, t) => s + gpuWeightBytes(t), 0), 0);
  const head = gpuWeightBytes(tensors.output ?? tensors.embedding);
  const embeddingRow = gpuWeightBytes(tensors.embedding) / config.vocabSize;
  return layers + gpuWeightBytes(tensors.outputNorm) + head + embeddingRow + kvBytesRead(config, position);
}

/**
 * K and V bytes a decode step at `position` reads, as the engine stores them by default (f16
 * where the head size allows, kvCacheType): every cached position in a full layer, the
 * window's in a sliding one.
 */
export function kvBytesRead(config: ModelConfig, position: number): number {
  const perPosition = 2 * config.kvHeads * config.headDim * kvBytesPerValue(kvCacheType(config.headDim));
  let positions = 0;
  for (let i = 0; i < config.layers; i++) {
    positions += config.slidingLayers?.[i] ? Math.min(position, config.slidingWindow!) : position;
  }
  return positions * perPosition;
}

/**
 * Prefill of a random prompt, then a decode of `decodeTokens` greedy tokens, on the engine's
 * LlamaModel directly (as generate.ts drives it, without the tokenizer, and without stopping
 * at EOS, which a random model may pick at any step). Both matmul paths are warmed up first,
 * so neither the prompt nor the first token pays for compiling pipelines.
 */
export async function runE2e(gpu: Gpu, source: E2eModel, o: E2eOptions): Promise<E2eCase> {
  const { spec } = source;
  const started = performance.now();
  const opened = await openModel({ kind: 'gguf', name: spec.file, open: source.open });
  const { config } = opened;
  const tensors = llamaTensors(opened.format, opened.tensors, config);
  const counting = countingGpu(gpu);
  const model = await LlamaModel.create(counting.gpu, config, tensors, {
    contextLength: o.promptTokens + o.decodeTokens,
    ropeMode: opened.ropeMode,
  });
  const heap: number[] = [];
  const sampleHeap = () => {
    const bytes = jsHeapBytes();
    if (bytes !== undefined) heap.push(bytes);
  };
  try {
    const prompt = e2ePrompt(o.promptTokens, config.vocabSize, config.layers);
    model.forward(prompt.slice(0, Math.min(model.maxBatch, prompt.length)), 0);
    await model.argmaxLast();
    model.forward(prompt.slice(0, 1), 0);
    await model.argmaxLast();
    const loadMs = performance.now() - started;
    sampleHeap();

    const prefillStart = performance.now();
    for (let at = 0; at < prompt.length; at += model.maxBatch) model.forward(prompt.slice(at, at + model.maxBatch), at);
    let token = await model.argmaxLast();
    const ttftMs = performance.now() - prefillStart;
    sampleHeap();

    counting.reset();
    let encodeMs = 0;
    const decodeStart = performance.now();
    for (let i = 0; i < o.decodeTokens; i++) {
      const encodeStart = performance.now();
      model.forward([token], o.promptTokens + i);
      encodeMs += performance.now() - encodeStart;
      token = await model.argmaxLast();
    }
    const decodeSeconds = (performance.now() - decodeStart) / 1000;
    sampleHeap();

    const perToken = (n: number) => n / o.decodeTokens;
    const { counters } = counting;
    const bytesPerToken = decodeBytesPerToken(config, tensors, o.promptTokens + o.decodeTokens / 2);
    const boundTokensPerSecond = (o.copyGbps * 1e9) / bytesPerToken;
    const decodeTokensPerSecond = o.decodeTokens / decodeSeconds;
    return {
      model: spec.model,
      file: spec.file,
      shapeNote: spec.shapeNote,
      type: spec.type,
      layers: config.layers,
      hiddenSize: config.hiddenSize,
      intermediateSize: config.intermediateSize,
      vocabSize: config.vocabSize,
      promptTokens: o.promptTokens,
      decodeTokens: o.decodeTokens,
      loadMs,
      ttftMs,
      prefillTokensPerSecond: o.promptTokens / (ttftMs / 1000),
      decodeTokensPerSecond,
      gpuBytes: model.gpuBytes,
      peakJsHeapBytes: heap.length ? Math.max(...heap) : undefined,
      bytesPerToken,
      boundTokensPerSecond,
      shareOfBound: decodeTokensPerSecond / boundTokensPerSecond,
      perToken: {
        dispatches: perToken(counters.dispatches),
        commandBuffers: perToken(counters.commandBuffers),
        submits: perToken(counters.submits),
        writeBuffers: perToken(counters.writeBuffers),
        encodeMs: perToken(encodeMs),
      },
    };
  } finally {
    model.destroy();
  }
}
