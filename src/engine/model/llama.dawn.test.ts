// The decoder of every architecture against the float64 model of the same weights
// (test/reference/llama.ts), on random models with each architecture's real GGUF layout
// (scripts/randomModel.ts): prefill in chunks (pos0 > 0, the GEMM path), then one decode step
// (the GEMV path and flash-decoding) at a position past gemma's 32-token sliding window. The
// comparison with llama.cpp itself is src/engine/architectures.dawn.test.ts; this file pins the
// engine to the architecture's definition, with no third engine's rounding in between.
import { describe, expect, test } from 'vitest';
import { storiesTokenizerMetadata } from '../../../scripts/randomGguf.ts';
import { RANDOM_MODELS, randomModel, type RandomModelOptions, type RandomPreset } from '../../../scripts/randomModel.ts';
import type { Gpu } from '../../gpu/device.ts';
import type { KvCacheType } from '../../protocol/index.ts';
import { testGpu, withGpuErrors } from '../../../test/gpu.ts';
import { llamaLogitsRef } from '../../../test/reference/llama.ts';
import { readGguf } from '../formats/gguf.ts';
import { bytesSource } from '../formats/source.ts';
import type { ModelConfig } from '../config.ts';
import { configFromGguf } from '../configGguf.ts';
import { LlamaModel } from './llama.ts';
import { llamaTensors, type LlamaTensors } from './weights.ts';

const VOCAB = 512;
// Two prefill chunks of 32 (the second at pos0 = 32), and a decode step at 47: position 47 sees
// keys 16..47 in gemma's sliding layers, so a window off by any amount changes the result.
const POSITIONS = 48;
const MAX_BATCH = 32;

/*
 * The engine runs with its default f16 KV cache, and the float64 model rounds its keys and
 * values to f16 the same way (test/reference/llama.ts, kvF16). Without that f16 rounding, f32
 * against float64 differs by the rounding of f32 sums: ~1e-6 relative per matmul, a few 1e-6
 * through two layers and the head, on logits of up to ~20 (scripts/randomModel.ts spreads them
 * with σ ≈ 6), so every logit is within ε ≲ 1e-4 of float64 and TV ≤ e^2ε − 1 ≈ 2e-4 (the F32
 * bound of reference.dawn.test.ts, held against llama.cpp with an f32 cache in
 * architectures.dawn.test.ts). With it, a key or value whose f32 and float64 values straddle an
 * f16 rounding boundary (~1e-2 of them, at the few-1e-5 relative distance two layers leave) is
 * rounded one step apart, and from that layer on the two caches differ as unrounded against
 * rounded would, a difference measured at 1.0e-3 to 3.0e-3 (the f16 cache against a float64
 * model that keeps f32-exact keys and values). Bound: twice that. Measured: 1.4e-4 to 7.0e-4.
 * A misplaced bias, a skipped norm, a window off by one, a cap left out or a wrongly packed
 * cache moves whole distributions (TV of 0.1 and more).
 */
const MAX_TV = 6e-3;

function probabilities(logits: ArrayLike<number>, row: number): Float64Array {
  const from = row * VOCAB;
  let max = -Infinity;
  for (let i = 0; i < VOCAB; i++) max = Math.max(max, logits[from + i]);
  const p = Float64Array.from({ length: VOCAB }, (_, i) => Math.exp(logits[from + i] - max));
  const sum = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / sum);
}

function totalVariation(p: Float64Array, q: Float64Array): number {
  let tv = 0;
  for (let i = 0; i < VOCAB; i++) tv += Math.abs(p[i] - q[i]);
  return tv / 2;
}

/** BOS, then ordinary tokens (past <unk>, <s>, </s>) from a fixed LCG. */
const ids = [1, ...Array.from({ length: POSITIONS - 1 }, (_, i) => 3 + ((i * 2654435761 + 12345) % (VOCAB - 3)))];

/**
 * Gemma 3 4B and up divide the positions of their global layers by 8 (linear RoPE scaling), which
 * the writer has no key for: set on the config here, so the sliding layers (own base, unscaled)
 * and the global ones (scaled) must each rotate as the architecture says.
 */
const CONFIG_CHANGES: Partial<Record<RandomPreset, Partial<ModelConfig>>> = { gemma3: { ropeLinearFactor: 8 } };

async function open(bytes: Uint8Array, preset?: RandomPreset): Promise<{ config: ModelConfig; tensors: LlamaTensors }> {
  const gguf = await readGguf(bytesSource('random.gguf', bytes));
  const config = { ...configFromGguf(gguf), ...(preset && CONFIG_CHANGES[preset]) };
  return { config, tensors: llamaTensors('gguf', gguf.tensors, config) };
}

/** The teacher-forced logits of every position in chunks, and the logits of a decode step that redoes the last position. */
async function run(
  gpu: Gpu,
  bytes: Uint8Array,
  preset?: RandomPreset,
  { maxBatch = MAX_BATCH, kvCache = 'f16' }: { maxBatch?: number; kvCache?: KvCacheType } = {},
): Promise<{ prefill: Float32Array; decode: Float32Array }> {
  const { config, tensors } = await open(bytes, preset);
  // Every GGUF architecture but llama rotates halves (open.ts).
  const ropeMode = config.architecture === 'llama' ? 'adjacent' : 'halves';
  const model = await LlamaModel.create(gpu, config, tensors, { contextLength: POSITIONS, ropeMode, maxBatch, kvCache });
  try {
    const prefill = new Float32Array(POSITIONS * VOCAB);
    for (let at = 0; at < POSITIONS; at += maxBatch) prefill.set(await model.forwardAll(ids.slice(at, at + maxBatch), at), at * VOCAB);
    model.forward([ids[POSITIONS - 1]], POSITIONS - 1);
    return { prefill, decode: await model.readLogits() };
  } finally {
    model.destroy();
  }
}

describe.each(Object.keys(RANDOM_MODELS) as RandomPreset[])('%s', (preset) => {
  test(`${POSITIONS} teacher-forced positions and a decode step match the float64 model`, async () => {
    const gpu = await testGpu();
    const bytes = randomModel(await storiesTokenizerMetadata(), RANDOM_MODELS[preset]).gguf();
    const { prefill, decode } = await withGpuErrors(gpu, () => run(gpu, bytes, preset));

    const { config, tensors } = await open(bytes, preset);
    const exact = await llamaLogitsRef(config, tensors, ids, config.architecture === 'llama' ? 'adjacent' : 'halves', { kvF16: true });
    const tv = ids.map((_, i) => totalVariation(probabilities(prefill, i), probabilities(exact, i)));
    const worst = Math.max(...tv);
    const decodeTv = totalVariation(probabilities(decode, 0), probabilities(exact, POSITIONS - 1));
    console.log(`${preset}: prefill TV ${worst.toExponential(2)} at worst; decode step TV ${decodeTv.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(MAX_TV);
    expect(decodeTv).toBeLessThanOrEqual(MAX_TV);
  });
});

/**
 * At 48 positions and chunks of 32 a sliding layer's ring (window + maxBatch − 1 = 63 rows) would
 * be longer than the context, so the tests above run plain caches. Chunks of 8 make it 39 rows:
 * the chunk at positions 32..39 wraps from row 38 to row 0, and each later query reads keys from
 * both ends of the ring. The f32 cache takes V through its scratch and kv_store's f32 copy, and
 * K through RoPE's f32 output, both into the ring. Gemma 2's sliding layer is layer 0, Gemma 3's
 * layer 0 of its two (see RANDOM_MODELS); the other layer keeps a plain 48-row cache.
 */
describe('sliding layers keep a ring cache when the context is longer than the ring', () => {
  const RING_BATCH = 8;
  const RING_ROWS = 32 + RING_BATCH - 1;
  test.each([
    ['gemma2', 'f16'],
    ['gemma3', 'f16'],
    ['gemma3', 'f32'],
  ] as const)('%s with an %s cache matches the float64 model', async (preset, kvCache) => {
    const base = await testGpu();
    const bytes = randomModel(await storiesTokenizerMetadata(), RANDOM_MODELS[preset]).gguf();
    const { gpu, sizes } = recordingBuffers(base);
    const { prefill, decode } = await withGpuErrors(base, () => run(gpu, bytes, preset, { maxBatch: RING_BATCH, kvCache }));

    const { config, tensors } = await open(bytes, preset);
    const rowBytes = config.kvHeads * config.headDim * (kvCache === 'f16' ? 2 : 4);
    expect(config.slidingLayers).toEqual([true, false]);
    expect(sizes.get('k_cache.0')).toBe(RING_ROWS * rowBytes);
    expect(sizes.get('v_cache.0')).toBe(RING_ROWS * rowBytes);
    expect(sizes.get('k_cache.1')).toBe(POSITIONS * rowBytes);

    const exact = await llamaLogitsRef(config, tensors, ids, 'halves', { kvF16: kvCache === 'f16' });
    const worst = Math.max(...ids.map((_, i) => totalVariation(probabilities(prefill, i), probabilities(exact, i))));
    const decodeTv = totalVariation(probabilities(decode, 0), probabilities(exact, POSITIONS - 1));
    console.log(`${preset} ${kvCache} ring: prefill TV ${worst.toExponential(2)} at worst; decode step TV ${decodeTv.toExponential(2)}`);
    // MAX_TV bounds the f16 cache's rounding; an f32 cache only tightens it.
    expect(worst).toBeLessThanOrEqual(MAX_TV);
    expect(decodeTv).toBeLessThanOrEqual(MAX_TV);
  });
});

/** The same device, recording the size of each buffer made by its label. */
function recordingBuffers(gpu: Gpu): { gpu: Gpu; sizes: Map<string, number> } {
  const sizes = new Map<string, number>();
  const device = new Proxy(gpu.device, {
    get: (t, p) => {
      if (p === 'createBuffer')
        return (descriptor: GPUBufferDescriptor) => {
          sizes.set(descriptor.label ?? '', descriptor.size);
          return t.createBuffer(descriptor);
        };
      const v = t[p as keyof GPUDevice];
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { gpu: { ...gpu, device }, sizes };
}

/** The same device with a smaller binding limit, so a 512-token vocabulary has to be split; records the labels of the buffers made. */
function withBindingLimit(gpu: Gpu, bytes: number): { gpu: Gpu; buffers: string[] } {
  const buffers: string[] = [];
  const limits = new Proxy(gpu.device.limits, {
    get: (t, p) => (p === 'maxStorageBufferBindingSize' ? bytes : t[p as keyof GPUSupportedLimits]),
  });
  const device = new Proxy(gpu.device, {
    get: (t, p) => {
      if (p === 'limits') return limits;
      if (p === 'createBuffer')
        return (descriptor: GPUBufferDescriptor) => {
          buffers.push(descriptor.label ?? '');
          return t.createBuffer(descriptor);
        };
      const v = t[p as keyof GPUDevice];
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { gpu: { ...gpu, device }, buffers };
}

describe('a vocabulary split across buffers', () => {
  test('gives the logits of the unsplit model: tied embedding and head, final soft-cap', async () => {
    const gpu = await testGpu();
    // gemma2 narrowed so every other matrix is [256, 256] f32 (256 KiB) while the tied [512, 256]
    // embedding (512 KiB) is not: a 300 KiB limit splits only the vocabulary matrix.
    const options: Partial<RandomModelOptions> = { ...RANDOM_MODELS.gemma2, heads: 2, kvHeads: 2, intermediateSize: 256 };
    const bytes = randomModel(await storiesTokenizerMetadata(), options).gguf();
    const whole = await withGpuErrors(gpu, () => run(gpu, bytes));
    const limited = withBindingLimit(gpu, 300 * 1024);
    const split = await withGpuErrors(gpu, () => run(limited.gpu, bytes));
    expect(limited.buffers.filter((label) => label.startsWith('token_embd.weight')).length).toBeGreaterThan(1);
    // Each chunk runs the same kernels over the same rows of x and of the matrix, in the same
    // summation order, so the logits are the same bits, split or not.
    expect(split.prefill).toEqual(whole.prefill);
    expect(split.decode).toEqual(whole.decode);
  });
});
