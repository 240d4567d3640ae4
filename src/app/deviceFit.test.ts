import { describe, expect, test } from 'vitest';
import type { GpuInfo } from '../protocol/index.ts';
import { bytesToDownload, cachedWeightBytes, contextChoices, defaultContext, deviceFit, memoryBudget, scratchBytes, type FitFacts } from './deviceFit.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

// stories260K as modelFacts describes it: f32 weights on the GPU, 5 layers of 4 KV heads × 8.
const stories: FitFacts = {
  supported: true,
  layers: 5,
  hiddenSize: 64,
  intermediateSize: 172,
  heads: 8,
  kvHeads: 4,
  headDim: 8,
  vocabSize: 512,
  downloadBytes: 1_185_376,
  weightGpuBytes: 1_043_712,
  largestBufferBytes: 131_072,
  // 5 layers × (K + V) × 4 heads × 8 dims × 4 bytes.
  kvBytesPerToken: 5 * 2 * 4 * 8 * 4,
};

// A 7B-class model in f32: 32 layers, 8 KV heads of 128, a 500 MiB embedding table.
const big: FitFacts = {
  supported: true,
  layers: 32,
  hiddenSize: 4096,
  intermediateSize: 14336,
  heads: 32,
  kvHeads: 8,
  headDim: 128,
  vocabSize: 32000,
  downloadBytes: 4 * GiB,
  weightGpuBytes: 28 * GiB,
  largestBufferBytes: 500 * MiB,
  kvBytesPerToken: 32 * 2 * 8 * 128 * 4,
};

const desktop: GpuInfo = { adapter: 'test', features: ['shader-f16'], maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 2 * GiB };
// The default limits a WebGPU adapter guarantees, which many phones and older GPUs report.
const baseline: GpuInfo = { adapter: 'baseline', features: [], maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };

test('context choices stop at the model context and offer an odd trained length', () => {
  expect(contextChoices(512)).toEqual([512]);
  expect(contextChoices(256)).toEqual([256]);
  expect(contextChoices(3000)).toEqual([512, 2048, 3000]);
  expect(contextChoices(8192)).toEqual([512, 2048, 4096, 8192]);
  expect(contextChoices(131072)).toEqual([512, 2048, 4096, 8192]);
  expect(defaultContext(512)).toBe(512);
  expect(defaultContext(131072)).toBe(2048);
});

test('the budget is weights, the KV cache for the chosen context and the stated scratch rule', () => {
  const m = memoryBudget(stories, 512);
  expect(m.weights).toBe(1_043_712);
  expect(m.kvCache).toBe(1280 * 512);
  // 64 tokens × (3·64 + 2·64 + 2·32 + 3·172 + 1) floats, a logits row of 512, and 10% of weights + KV.
  const activations = 4 * (64 * (192 + 128 + 64 + 516 + 1) + 512);
  expect(scratchBytes(stories, m.kvCache)).toBe(Math.ceil(activations + 0.1 * (1_043_712 + 1280 * 512)));
  expect(m.total).toBe(m.weights + m.kvCache + m.scratch);
  // The KV cache grows linearly with the context; the weights do not.
  const longer = memoryBudget(big, 8192);
  expect(longer.kvCache).toBe(4 * memoryBudget(big, 2048).kvCache);
  expect(longer.weights).toBe(big.weightGpuBytes);
});

test('a tiny model runs on the baseline limits with room to spare', () => {
  const fit = deviceFit({ facts: stories, contextLength: 512, gpu: baseline, storage: { quota: 10 * GiB, usage: 0 }, cachedBytes: 0 });
  expect(fit.shortfalls).toEqual([]);
  expect(fit.unchecked).toEqual([]);
  expect(fit.runs).toBe(true);
  expect(fit.download).toBe(stories.downloadBytes);
  expect(fit.shaderF16).toBe(false);
});

describe('each shortfall is reported with its numbers', () => {
  test('a weight tensor over the binding limit, which the smaller of the two limits sets', () => {
    const gpu = { ...baseline, maxStorageBufferBindingSize: 1 * GiB };
    const fit = deviceFit({ facts: big, contextLength: 512, gpu, cachedBytes: 0, storage: { quota: 100 * GiB, usage: 0 } });
    expect(fit.runs).toBe(false);
    expect(fit.shortfalls).toEqual([
      {
        kind: 'weightBuffer',
        need: 500 * MiB,
        have: 256 * MiB,
        message: 'The largest weight tensor needs 500 MiB in one buffer; this GPU binds at most 256 MiB.',
      },
    ]);
  });

  test('a KV cache buffer over the limit at a long context but not a short one', () => {
    const gpu = { ...desktop, maxStorageBufferBindingSize: 600 * MiB };
    // One K buffer at 8192 tokens: 8192 × 8 heads × 128 × 4 bytes = 32 MiB; shrink the limit below it.
    const tight = { ...gpu, maxStorageBufferBindingSize: 24 * MiB, maxBufferSize: 24 * MiB };
    const facts = { ...big, largestBufferBytes: 16 * MiB };
    const long = deviceFit({ facts, contextLength: 8192, gpu: tight, cachedBytes: 0, storage: { quota: 100 * GiB, usage: 0 } });
    expect(long.shortfalls.map((s) => [s.kind, s.need, s.have])).toEqual([['kvBuffer', 32 * MiB, 24 * MiB]]);
    expect(long.shortfalls[0].message).toBe(
      'A 8192-token KV cache needs 32.0 MiB per buffer; this GPU binds at most 24.0 MiB. Choose a shorter context.',
    );
    const short = deviceFit({ facts, contextLength: 4096, gpu: tight, cachedBytes: 0, storage: { quota: 100 * GiB, usage: 0 } });
    expect(short.shortfalls).toEqual([]);
    expect(deviceFit({ facts: big, contextLength: 8192, gpu, cachedBytes: 0 }).shortfalls).toEqual([]);
  });

  test('a download over the free quota, counting the cached weights as already there', () => {
    const storage = { quota: 5 * GiB, usage: 2 * GiB };
    const full = deviceFit({ facts: big, contextLength: 512, gpu: desktop, storage, cachedBytes: 0 });
    expect(full.storageFree).toBe(3 * GiB);
    expect(full.shortfalls).toEqual([
      {
        kind: 'storage',
        need: 4 * GiB,
        have: 3 * GiB,
        message: "The download needs 4.00 GiB, but only 3.00 GiB of this site's storage is free.",
      },
    ]);
    // Half the weights stored: the other half fits in what is free.
    const half = deviceFit({ facts: big, contextLength: 512, gpu: desktop, storage, cachedBytes: 2 * GiB });
    expect(half.download).toBe(2 * GiB);
    expect(half.shortfalls).toEqual([]);
    expect(half.runs).toBe(true);
    // Usage past the quota (possible after the quota shrinks) leaves nothing free, never less.
    const over = deviceFit({ facts: stories, contextLength: 512, gpu: desktop, storage: { quota: GiB, usage: 2 * GiB }, cachedBytes: 0 });
    expect(over.storageFree).toBe(0);
    expect(over.shortfalls.map((s) => s.kind)).toEqual(['storage']);
  });

  test('an unsupported architecture and a browser without WebGPU', () => {
    const facts = { ...stories, supported: false, unsupported: 'architecture mamba is not supported' };
    const fit = deviceFit({ facts, contextLength: 512, gpu: null, cachedBytes: 0 });
    expect(fit.runs).toBe(false);
    expect(fit.shortfalls.map((s) => s.kind)).toEqual(['architecture', 'webgpu']);
    expect(fit.shortfalls[0].message).toBe('Unsupported architecture: architecture mamba is not supported.');
    expect(fit.shaderF16).toBeUndefined();
  });
});

describe('sliding-window layers keep a ring of window + 63 rows, not the whole context', () => {
  // Gemma 3 1B: 26 layers, one KV head of 256 dims, f16 cache; 22 layers slide over 512 tokens,
  // every sixth is global. A row of K and V for one layer: 2 × 256 × 2 = 1 KiB.
  const gemma3: FitFacts = {
    supported: true,
    layers: 26,
    hiddenSize: 1152,
    intermediateSize: 6912,
    heads: 4,
    kvHeads: 1,
    headDim: 256,
    vocabSize: 262144,
    downloadBytes: GiB,
    weightGpuBytes: GiB,
    largestBufferBytes: 64 * MiB,
    kvBytesPerToken: 26 * 1024,
    slidingWindow: 512,
    slidingLayerCount: 22,
  };

  test('Gemma 3 1B at 32K: 4 global layers of 32768 rows and 22 rings of 575, against 26 full layers', () => {
    expect(memoryBudget(gemma3, 32768).kvCache).toBe((4 * 32768 + 22 * 575) * 1024);
    // Without the marks, every layer holds the whole context: 832 MiB instead of 140.
    const { slidingWindow: _, ...allFull } = gemma3;
    expect(memoryBudget(allFull, 32768).kvCache).toBe(832 * MiB);
    // Up to 575 positions a ring saves nothing, and the layers keep the plain cache.
    expect(memoryBudget(gemma3, 575).kvCache).toBe(memoryBudget(allFull, 575).kvCache);
    expect(memoryBudget(gemma3, 576).kvCache).toBe(memoryBudget(allFull, 576).kvCache - 22 * 1024);
  });

  test('the largest KV buffer is that of a global layer, or a ring when every layer slides', () => {
    // One K buffer of a global layer at 32768 tokens: 32768 × 512 bytes = 16 MiB.
    const gpu = { ...desktop, maxStorageBufferBindingSize: 8 * MiB, maxBufferSize: 8 * MiB };
    const fit = deviceFit({ facts: gemma3, contextLength: 32768, gpu, cachedBytes: 0 });
    expect(fit.shortfalls.map((s) => [s.kind, s.need])).toEqual([['weightBuffer', 64 * MiB], ['kvBuffer', 16 * MiB]]);
    // Every layer sliding (as Mistral 7B v0.1 does): the buffers are rings of 575 rows.
    const allSliding = { ...gemma3, slidingLayerCount: 26, largestBufferBytes: MiB };
    expect(deviceFit({ facts: allSliding, contextLength: 32768, gpu, cachedBytes: 0 }).shortfalls).toEqual([]);
    expect(memoryBudget(allSliding, 32768).kvCache).toBe(26 * 575 * 1024);
  });
});

test('limits not known yet, or a browser with no quota, are reported as unchecked', () => {
  const pending = deviceFit({ facts: stories, contextLength: 512, gpu: undefined, cachedBytes: 0 });
  expect(pending.unchecked).toEqual(['gpu', 'storage']);
  expect(pending.runs).toBe(false);
  // No quota: the GPU answer stands, and storage is only a note.
  const noQuota = deviceFit({ facts: stories, contextLength: 512, gpu: desktop, storage: { quota: 0, usage: 0 }, cachedBytes: 0 });
  expect(noQuota.unchecked).toEqual(['storage']);
  expect(noQuota.storageFree).toBeUndefined();
  expect(noQuota.runs).toBe(true);
  expect(noQuota.shaderF16).toBe(true);
  // Fully cached: nothing to download, so nothing to check.
  expect(deviceFit({ facts: stories, contextLength: 512, gpu: desktop, cachedBytes: stories.downloadBytes }).unchecked).toEqual([]);
});

test('cached bytes count only complete weight files of the same commit', () => {
  const models = [
    {
      repo: 'o/m',
      commit: 'a'.repeat(40),
      files: [
        { path: 'model-Q4_K_M.gguf', size: 700, complete: true },
        { path: 'model-Q8_0.gguf', size: 1200, complete: false },
        { path: 'README.md', size: 10, complete: true },
      ],
    },
    { repo: 'o/m', commit: 'b'.repeat(40), files: [{ path: 'model-Q8_0.gguf', size: 1200, complete: true }] },
  ];
  expect(cachedWeightBytes(models, 'o/m', 'a'.repeat(40), ['model-Q4_K_M.gguf'])).toBe(700);
  expect(cachedWeightBytes(models, 'o/m', 'a'.repeat(40), ['model-Q8_0.gguf'])).toBe(0);
  expect(cachedWeightBytes(models, 'o/m', 'b'.repeat(40), ['model-Q8_0.gguf'])).toBe(1200);
  expect(cachedWeightBytes(models, 'o/other', 'a'.repeat(40), ['model-Q4_K_M.gguf'])).toBe(0);
});

test('nothing is left to download once every weight file is stored, the tokenizer included', () => {
  const commit = 'c'.repeat(40);
  const facts = { weightFiles: ['model.safetensors'], downloadBytes: 8_700_000 };
  const stored = (complete: boolean) => [{ repo: 'o/m', commit, files: [{ path: 'model.safetensors', size: 6_600_000, complete }] }];
  // The 2.1 MB tokenizer.json is not listed as a weight file, yet it was stored with them.
  expect(bytesToDownload(stored(true), 'o/m', commit, facts)).toBe(0);
  expect(bytesToDownload(stored(false), 'o/m', commit, facts)).toBe(8_700_000);
  expect(bytesToDownload(stored(true), 'o/m', 'd'.repeat(40), facts)).toBe(8_700_000);
});
