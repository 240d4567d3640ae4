import { DeviceLimitError } from '../../protocol/errors.ts';
import type { KvCacheType, Numerics } from '../../protocol/index.ts';
import type { Gpu } from '../../gpu/device.ts';
import { createStorage, readF32, readU32, uploadF32 } from '../../gpu/buffers.ts';
import type { KernelOp } from '../../gpu/kernel.ts';
import { createAdd } from '../../gpu/kernels/add.ts';
import { createAttention } from '../../gpu/kernels/attention.ts';
import { createArgmax } from '../../gpu/kernels/argmax.ts';
import { createBiasAdd } from '../../gpu/kernels/bias.ts';
import { createGelu, createScale, createSoftcap } from '../../gpu/kernels/elementwise.ts';
import { createKvStore } from '../../gpu/kernels/kvStore.ts';
import type { MatmulDyn } from '../../gpu/kernels/gemm.ts';
import { createLayernorm } from '../../gpu/kernels/layernorm.ts';
import { createPositionAdd } from '../../gpu/kernels/positions.ts';
import { createRmsnorm } from '../../gpu/kernels/rmsnorm.ts';
import { createRope } from '../../gpu/kernels/rope.ts';
import { createRoundActivations, llamaCppRounding } from '../../gpu/kernels/roundActivations.ts';
import { createSwiglu } from '../../gpu/kernels/swiglu.ts';
import type { ModelConfig } from '../config.ts';
import { elementCount } from '../formats/dtype.ts';
import { readTensorF32, type TensorInfo } from '../formats/source.ts';
import { checkShapes, decodeTensor, llama3RopeFactors } from './decoderTensors.ts';
import { kvCacheRows, MAX_BATCH, ringRows } from './slidingCache.ts';
import { bindingLimit, checkDeviceLimits, createWeightMatmul, VocabMatrix, type LogitsOp } from './vocabMatrix.ts';
import { gpuWeightBytes, inFileOrder, uploadWeight, weightStorage, type WeightStorage } from './gpuWeights.ts';
import type { LlamaLayerTensors, LlamaTensors } from './weights.ts';

export type RopeMode = 'adjacent' | 'halves';

export interface LlamaOptions {
  /** KV cache length to allocate. */
  contextLength: number;
  /**
   * How RoPE pairs dimensions. GGUF converters permute Q/K rows so that adjacent
   * pairs rotate (as llama2.c does); HF checkpoints rotate the two halves of each head.
   */
  ropeMode: RopeMode;
  /** Largest number of tokens one forward pass takes; longer prompts are fed in chunks. */
  maxBatch?: number;
  /** How K and V are stored (LoadRequest.kvCache); default 'f16'. */
  kvCache?: KvCacheType;
  /** LoadRequest.numerics; default 'native'. */
  numerics?: Numerics;
  onUpload?: (loaded: number, total: number) => void;
}

/** A linear layer: a tiled GEMM for prefill and a GEMV for single-token decode, bound to the same buffers. */
function linearOp(gemm: KernelOp<MatmulDyn>, gemv: KernelOp<MatmulDyn>): KernelOp<MatmulDyn> {
  return {
    label: gemm.label,
    encode: (pass, dyn) => (dyn.m === 1 ? gemv : gemm).encode(pass, dyn),
    destroy() {
      gemm.destroy();
      gemv.destroy();
    },
  };
}

/**
 * `op` reading what `round` leaves of its input: the rounding pass covers the rows the op reads
 * (its m rows from xRowOffset), so the two always move together.
 */
function roundedFirst<Dyn extends { m: number; xRowOffset?: number }, Op extends KernelOp<Dyn>>(round: KernelOp<{ m: number; rowOffset?: number }>, op: Op): Op {
  return {
    ...op,
    encode(pass, dyn) {
      round.encode(pass, { m: dyn.m, rowOffset: dyn.xRowOffset ?? 0 });
      op.encode(pass, dyn);
    },
    destroy() {
      round.destroy();
      op.destroy();
    },
  };
}

/** One op of a forward pass over m tokens from position pos0, recorded into its compute pass. */
type Step = (pass: GPUComputePassEncoder, m: number, pos0: number) => void;

/**
 * The cache a model gets: f16 unless asked otherwise, where the attention kernels can read it
 * (heads of whole 16-byte words of eight halves: every released model's head size).
 */
export function kvCacheType(headDim: number, requested: KvCacheType = 'f16'): KvCacheType {
  return requested === 'f16' && headDim % 8 === 0 ? 'f16' : 'f32';
}

/** Bytes a KV cache of this type stores per value. */
export function kvBytesPerValue(type: KvCacheType): number {
  return type === 'f16' ? 2 : 4;
}

/** The norm weights: the ones HF Gemma stores as w − 1 (normWeightOffset). */
const NORM_PARTS = ['attnNorm', 'qNorm', 'kNorm', 'postAttnNorm', 'ffnNorm', 'postFfnNorm'] as const satisfies readonly (keyof LlamaLayerTensors)[];

/**
 * The decoder forward pass every supported architecture runs, on our kernels: weights in GPU
 * buffers, a KV cache per layer, and one command buffer per forward call. The config picks the
 * variant (norm kind, biases, q/k head norms, FFN activation, post-norms, positions, soft-caps,
 * sliding windows); only the kernels a model needs are created and recorded, so a plain Llama
 * records exactly what it always did. Knows nothing of tokenizers or sampling.
 */
export class LlamaModel {
  /** Bytes held in GPU buffers (weights, KV cache, activations). */
  readonly gpuBytes: number;
  readonly kvCache: KvCacheType;
  readonly maxBatch: number;
  private readonly buffers: GPUBuffer[];
  private readonly ops: KernelOp<never>[];
  private readonly ids: GPUBuffer;
  private readonly logits: GPUBuffer;
  private readonly argmaxOut: GPUBuffer;
  /** The embedding and every layer, in order. */
  private readonly body: Step[];
  private readonly outputNorm: KernelOp<{ m: number; rowOffset?: number }>;
  private readonly lmHead: LogitsOp;
  private readonly finalSoftcap?: KernelOp<{ m: number }>;
  private readonly argmax: KernelOp<{ rowOffset?: number }>;
  /** The embedding and LM head matrices (one object when tied), in row chunks that each fit a binding. */
  private readonly vocabs: VocabMatrix[];
  /** An LM head over the normed activations into `logits` (with their rounding pass under llama.cpp's numerics). */
  private readonly headLogits: (logits: GPUBuffer, label?: string) => LogitsOp;
  /**
   * The LM head over every row of a chunk and its [maxBatch, vocab] logits, made on the first
   * `forwardAll`: only scoring needs them, and with a large vocabulary they take tens of MiB
   * that generation would never use (they are not counted in gpuBytes).
   */
  private allRows?: { logits: GPUBuffer; lmHead: LogitsOp; softcap?: KernelOp<{ m: number }> };

  private constructor(
    private readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly contextLength: number,
    weights: Map<TensorInfo, GPUBuffer>,
    vocabs: Map<TensorInfo, VocabMatrix>,
    tensors: LlamaTensors,
    gateUps: (TensorInfo | undefined)[],
    ropeMode: RopeMode,
    ropeFactors: Float32Array | undefined,
    maxBatch: number,
    precision: { kvCache: KvCacheType; numerics: Numerics },
  ) {
    const c = config;
    this.kvCache = precision.kvCache;
    this.maxBatch = maxBatch;
    const D = c.hiddenSize;
    const F = c.intermediateSize;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    const roped = c.positions === 'rope';
    const owned: GPUBuffer[] = [];
    const scratch = (label: string, floats: number) => {
      const b = createStorage(gpu, label, floats * 4);
      owned.push(b);
      return b;
    };
    const w = (t: TensorInfo) => weights.get(t)!;
    const ops: KernelOp<never>[] = [];
    const track = <T extends KernelOp<any>>(op: T): T => {
      ops.push(op as unknown as KernelOp<never>);
      return op;
    };
    // Divisors compose: linear position scaling divides every frequency on top of Llama 3's.
    const globalFactors =
      c.ropeLinearFactor === undefined ? ropeFactors : (ropeFactors ?? new Float32Array(c.ropeDim / 2).fill(1)).map((f) => f * c.ropeLinearFactor!);
    const body: Step[] = [];
    const step = <Dyn>(op: KernelOp<Dyn>, dyn: (m: number, pos0: number) => Dyn) => {
      track(op);
      body.push((pass, m, pos0) => op.encode(pass, dyn(m, pos0)));
    };
    const rows = (m: number) => ({ m });
    const llamaCpp = precision.numerics === 'llama.cpp';
    // Under llama.cpp's numerics each matmul reads its input from here, rounded as llama.cpp
    // rounds it for the weight's type; the pass before each matmul rewrites it.
    const widest = Math.max(D, F, qDim);
    const rounded = llamaCpp ? scratch('x_rounded', maxBatch * widest) : undefined;
    // Beside q8_1 inputs (Q4_1/Q5_1 weights): per block of 32, the residual of llama.cpp's f16
    // block sum, which the matmul adds back times each block's minimum. Allocated on first use.
    let roundedSums: GPUBuffer | undefined;
    /**
     * The buffer a matmul over `x` reads, the pass that fills it when its activations are rounded,
     * and, for q8_1, the block-sum residuals the matmul takes as PackedMatmulOptions.blockSums.
     */
    const matmulInput = (
      x: GPUBuffer,
      storage: WeightStorage,
      K: number,
      label: string,
    ): { input: GPUBuffer; round?: KernelOp<{ m: number; rowOffset?: number }>; blockSums?: GPUBuffer } => {
      const mode = rounded && storage.kind !== 'f32' ? llamaCppRounding(storage.type) : undefined;
      if (!mode) return { input: x };
      const blockSums = mode === 'q8_1' ? (roundedSums ??= scratch('x_rounded_block_sums', maxBatch * Math.ceil(widest / 32))) : undefined;
      const round = createRoundActivations(gpu, { x, out: rounded!, K, mode, ...(blockSums ? { blockSums } : {}), label: `${label} input ${mode}` });
      return { input: rounded!, round, ...(blockSums ? { blockSums } : {}) };
    };
    const linear = (x: GPUBuffer, t: TensorInfo, y: GPUBuffer, accumulate = false): KernelOp<MatmulDyn> => {
      const [N, K] = t.shape;
      const storage = weightStorage(t);
      const { input, round, blockSums } = matmulInput(x, storage, K, t.name);
      const o = { x: input, w: w(t), y, K, N, accumulate, label: t.name, ...(blockSums ? { blockSums } : {}) };
      const op = linearOp(createWeightMatmul(gpu, 'gemm', storage, o), createWeightMatmul(gpu, 'gemv', storage, o));
      return round ? roundedFirst(round, op) : op;
    };
    const kvF16 = precision.kvCache === 'f16';
    // llama.cpp's CPU GELU reads an f16 table; its numerics take that table's values.
    const gelu = c.activation === 'gelu_tanh' && llamaCpp ? 'gelu_tanh_f16' : c.activation;
    // The block norms; head norms and post-norms are RMSNorm in every architecture that has them.
    const norm = (x: GPUBuffer, weight: TensorInfo, bias: TensorInfo | undefined, out: GPUBuffer) =>
      c.norm === 'layer'
        ? createLayernorm(gpu, { x, weight: w(weight), bias: w(bias!), out, D, eps: c.rmsNormEps, label: weight.name })
        : createRmsnorm(gpu, { x, weight: w(weight), out, D, eps: c.rmsNormEps, label: weight.name });
    const rmsnorm = (x: GPUBuffer, weight: TensorInfo, out: GPUBuffer, width = D) =>
      createRmsnorm(gpu, { x, weight: w(weight), out, D: width, eps: c.rmsNormEps, label: weight.name });
    const biasAdd = (y: GPUBuffer, t: TensorInfo) => createBiasAdd(gpu, { y, bias: w(t), N: t.shape[0], label: t.name });

    this.ids = scratch('ids', maxBatch);
    const x = scratch('x', maxBatch * D);
    const xn = scratch('x_norm', maxBatch * D);
    const q = scratch('q', maxBatch * qDim);
    // An f32 cache takes V (and K without RoPE) straight from its matmul into the cache rows; an
    // f16 one, or a sliding layer's ring (which a block's rows may wrap around), takes them
    // through a scratch and a store pass. RoPE writes K's cache rows itself, and with an f16
    // cache packs V's in the same dispatch.
    const rings = tensors.layers.map((_, i) => (c.slidingLayers?.[i] ? ringRows(contextLength, c.slidingWindow, maxBatch) : undefined));
    const anyRing = rings.some((r) => r !== undefined);
    const k = roped || kvF16 || anyRing ? scratch('k', maxBatch * kvDim) : undefined;
    const v = kvF16 || anyRing ? scratch('v', maxBatch * kvDim) : undefined;
    const attn = scratch('attn_out', maxBatch * qDim);
    // A layer whose gate and up matrices are stacked (stackGateUp) writes both into rows
    // [gate | up] of one buffer; the others (and the ungated FFN) into their own.
    const gateUp = gateUps.some(Boolean) ? scratch('ffn_gate_up', maxBatch * 2 * F) : undefined;
    const gate = c.gatedFfn && gateUps.some((g) => !g) ? scratch('ffn_gate', maxBatch * F) : undefined;
    const up = !c.gatedFfn || gate ? scratch('ffn_up', maxBatch * F) : undefined;
    // The ungated GELU runs in place on the up projection.
    const act = c.gatedFfn ? scratch('ffn_act', maxBatch * F) : up!;
    // With post-norms a block's output is normed before the residual add, so it cannot be
    // accumulated into x by the output GEMM.
    const branch = c.postNorms ? scratch('branch_out', maxBatch * D) : x;
    this.logits = scratch('logits', c.vocabSize);
    this.argmaxOut = scratch('argmax', 1);

    // A packed table is gathered and decoded in one kernel: no f32 copy of it is ever made.
    step(vocabs.get(tensors.embedding)!.createEmbedding({ ids: this.ids, out: x, label: tensors.embedding.name }), rows);
    if (c.embeddingScale !== 1) step(createScale(gpu, { x, scale: c.embeddingScale, N: D }), rows);
    if (c.positions === 'learned') {
      const table = tensors.positionEmbedding!;
      step(createPositionAdd(gpu, { x, table: w(table), D, maxPositions: table.shape[0], label: table.name }), (m, pos0) => ({ m, pos0 }));
    }

    tensors.layers.forEach((t, i) => {
      const ring = rings[i];
      // Two f16 values to a word: kvDim (heads × an even head dimension) is even.
      const cacheFloats = ((ring ?? contextLength) * kvDim) / (kvF16 ? 2 : 1);
      const kCache = scratch(`k_cache.${i}`, cacheFloats);
      const vCache = scratch(`v_cache.${i}`, cacheFloats);
      const sliding = c.slidingLayers?.[i] === true;
      const viaScratch = kvF16 || ring !== undefined;
      const kOut = roped || viaScratch ? k! : kCache;
      // Rows of kOut a call writes from: the cache row of the first token, or row 0 of the K scratch.
      const kRow = (pos0: number) => (kOut === k ? 0 : pos0);
      // Stores K or V from its scratch into a cache: packed to f16, or copied into an f32 ring.
      const store = (x: GPUBuffer, cache: GPUBuffer, label: string) =>
        createKvStore(gpu, { x, cache, width: kvDim, label, ...(kvF16 ? {} : { f32: true }), ...(ring ? { ringRows: ring } : {}) });

      step(norm(x, t.attnNorm, t.attnNormBias, xn), rows);
      step(linear(xn, t.q, q), rows);
      if (t.qBias) step(biasAdd(q, t.qBias), rows);
      step(linear(xn, t.k, kOut), (m, pos0) => ({ m, yRowOffset: kRow(pos0) }));
      if (t.kBias) step(biasAdd(kOut, t.kBias), (m, pos0) => ({ m, rowOffset: kRow(pos0) }));
      // V's rows: in its scratch from row 0 before the store, or straight in the f32 cache rows.
      const vOut = viaScratch ? v! : vCache;
      const vRow = (pos0: number) => (viaScratch ? 0 : pos0);
      step(linear(xn, t.v, vOut), (m, pos0) => ({ m, yRowOffset: vRow(pos0) }));
      if (t.vBias) step(biasAdd(vOut, t.vBias), (m, pos0) => ({ m, rowOffset: vRow(pos0) }));
      if (viaScratch && !(roped && kvF16)) step(store(v!, vCache, `v_cache.${i}`), (m, pos0) => ({ m, rowOffset: pos0 }));
      // Head norms treat each head of each token as a row of headDim, in place.
      if (c.qkNorm) {
        step(rmsnorm(q, t.qNorm!, q, c.headDim), (m) => ({ m: m * c.heads }));
        step(rmsnorm(kOut, t.kNorm!, kOut, c.headDim), (m, pos0) => ({ m: m * c.kvHeads, rowOffset: kRow(pos0) * c.kvHeads }));
      }
      if (roped) {
        // Gemma 3's sliding layers rotate with their own base and no frequency scaling.
        const local = sliding && c.ropeThetaLocal !== undefined;
        const freqFactors = local ? undefined : globalFactors;
        const rope = { headDim: c.headDim, ropeDim: c.ropeDim, theta: local ? c.ropeThetaLocal! : c.ropeTheta, mode: ropeMode, ...(freqFactors ? { freqFactors } : {}) };
        const f16Cache = kvF16 ? { outF16: true, packV: { x: v!, cache: vCache } } : {};
        const kRing = ring ? { ringRows: ring } : {};
        // One dispatch rotates Q in place and writes K's cache rows (and, with an f16 cache, V's).
        const qk = { x: k!, out: kCache, nHeads: c.kvHeads, q: { buffer: q, nHeads: c.heads } };
        step(createRope(gpu, { ...qk, ...rope, ...f16Cache, ...kRing }), (m, pos0) => ({ m, pos0, outRowOffset: pos0 }));
      } else if (viaScratch) {
        step(store(k!, kCache, `k_cache.${i}`), (m, pos0) => ({ m, rowOffset: pos0 }));
      }
      const window = sliding ? c.slidingWindow : undefined;
      step(
        createAttention(gpu, {
          q,
          kCache,
          vCache,
          out: attn,
          nHeads: c.heads,
          nKvHeads: c.kvHeads,
          headDim: c.headDim,
          maxSeq: contextLength,
          scale: c.attentionScale,
          ...(c.attnSoftcap !== undefined ? { softcap: c.attnSoftcap } : {}),
          ...(window !== undefined ? { window } : {}),
          ...(kvF16 ? { kvF16: true } : {}),
          ...(ring ? { ringRows: ring } : {}),
        }),
        (m, pos0) => ({ m, pos0 }),
      );
      // Without post-norms the output projections add into the residual stream (GEMM
      // accumulate), saving a separate add pass.
      step(linear(attn, t.o, branch, !c.postNorms), rows);
      if (t.oBias) step(biasAdd(branch, t.oBias), rows);
      if (c.postNorms) {
        step(rmsnorm(branch, t.postAttnNorm!, xn), rows);
        step(createAdd(gpu, { x, y: xn, D }), rows);
      }

      step(norm(x, t.ffnNorm, t.ffnNormBias, xn), rows);
      const stacked = gateUps[i];
      if (stacked) {
        step(linear(xn, stacked, gateUp!), rows);
        step(createSwiglu(gpu, { gateUp: gateUp!, out: act, F, activation: gelu }), rows);
      } else if (t.gate) {
        step(linear(xn, t.gate, gate!), rows);
        step(linear(xn, t.up, up!), rows);
        if (t.upBias) step(biasAdd(up!, t.upBias), rows);
        step(createSwiglu(gpu, { gate: gate!, up: up!, out: act, F, activation: gelu }), rows);
      } else {
        step(linear(xn, t.up, up!), rows);
        if (t.upBias) step(biasAdd(up!, t.upBias), rows);
        step(createGelu(gpu, { x: up!, out: up!, F, ...(llamaCpp ? { f16Table: true } : {}) }), rows);
      }
      step(linear(act, t.down, branch, !c.postNorms), rows);
      if (t.downBias) step(biasAdd(branch, t.downBias), rows);
      if (c.postNorms) {
        step(rmsnorm(branch, t.postFfnNorm!, xn), rows);
        step(createAdd(gpu, { x, y: xn, D }), rows);
      }
    });
    this.body = body;

    this.outputNorm = track(norm(x, tensors.outputNorm, tensors.outputNormBias, xn));
    const head = vocabs.get(tensors.output ?? tensors.embedding)!;
    this.headLogits = (logits, label) => {
      const { input, round, blockSums } = matmulInput(xn, head.storage, D, head.name);
      const op = head.createLogits({ x: input, logits, ...(label ? { label } : {}), ...(blockSums ? { blockSums } : {}) });
      return round ? roundedFirst(round, op) : op;
    };
    this.lmHead = track(this.headLogits(this.logits));
    if (c.finalSoftcap !== undefined) this.finalSoftcap = track(createSoftcap(gpu, { x: this.logits, cap: c.finalSoftcap, N: c.vocabSize }));
    this.argmax = track(createArgmax(gpu, { logits: this.logits, out: this.argmaxOut, N: c.vocabSize }));

    this.buffers = [...weights.values(), ...owned];
    // The steps' closures keep this constructor's scope alive, and with it `weights` and
    // `gateUps`, whose TensorInfos hold their file sources (a stored source holds a whole 64 MiB
    // chunk).
    weights.clear();
    gateUps.fill(undefined);
    this.vocabs = [...new Set(vocabs.values())];
    this.ops = ops;
    this.gpuBytes = this.buffers.reduce((sum, b) => sum + b.size, 0) + this.vocabs.reduce((sum, v) => sum + v.bytes, 0);
  }

  /** Uploads the weights (in file order, a piece of a tensor in CPU memory at a time) and prepares every kernel. */
  static async create(gpu: Gpu, config: ModelConfig, tensors: LlamaTensors, options: LlamaOptions): Promise<LlamaModel> {
    checkShapes(config, tensors, options.contextLength);
    const kvCache = kvCacheType(config.headDim, options.kvCache);
    const { embedding, output, positionEmbedding } = tensors;
    const norms = new Set([tensors.outputNorm, ...tensors.layers.flatMap((l) => NORM_PARTS.map((part) => l[part]))]);
    const all = [embedding, output, tensors.outputNorm, tensors.outputNormBias, positionEmbedding, ...tensors.layers.flatMap((l) => Object.values(l))].filter(
      (t): t is TensorInfo => t !== undefined,
    );
    // Refuses a type the kernels cannot read before a byte is uploaded; the position table is
    // widened whatever its type.
    for (const t of all) if (t !== positionEmbedding) weightStorage(t);
    const uploadBytes = (t: TensorInfo) => (t === positionEmbedding ? elementCount(t.shape) * 4 : gpuWeightBytes(t));
    checkDeviceLimits(bindingLimit(gpu), {
      tensors: all.filter((t) => t !== embedding && t !== output),
      vocab: output ? [embedding, output] : [embedding],
      kvBytesPerToken: config.kvHeads * config.headDim * kvBytesPerValue(kvCache),
      contextLength: options.contextLength,
      cacheRows: Math.max(
        ...config.slidingLayers?.map((slides) => kvCacheRows(options.contextLength, slides ? config.slidingWindow : undefined, options.maxBatch)) ?? [options.contextLength],
      ),
      tensorBytes: uploadBytes,
    });
    const ropeFactors = tensors.ropeFreqs ? await decodeTensor(tensors.ropeFreqs) : config.ropeScaling && llama3RopeFactors(config);
    const total = all.reduce((sum, t) => sum + uploadBytes(t), 0);
    let loaded = 0;
    const weights = new Map<TensorInfo, GPUBuffer>();
    const vocabs = new Map<TensorInfo, VocabMatrix>();
    try {
      for (const t of inFileOrder(all)) {
        if (t === embedding || t === output) vocabs.set(t, await VocabMatrix.upload(gpu, t));
        else if (t === positionEmbedding) weights.set(t, uploadF32(gpu, t.name, await decodeTensor(t)));
        // HF Gemma scales by (1 + w); llama.cpp's converter stores w + 1 instead.
        else if (config.normWeightOffset === 1 && norms.has(t)) weights.set(t, uploadF32(gpu, t.name, (await readTensorF32(t)).map((v) => v + 1)));
        else weights.set(t, await uploadWeight(gpu, t));
        loaded += uploadBytes(t);
        options.onUpload?.(loaded, total);
      }
      const gateUps = await stackGateUp(gpu, weights, tensors.layers);
      const precision = { kvCache, numerics: options.numerics ?? 'native' } as const;
      return new LlamaModel(gpu, config, options.contextLength, weights, vocabs, tensors, gateUps, options.ropeMode, ropeFactors, options.maxBatch ?? MAX_BATCH, precision);
    } catch (err) {
      for (const b of weights.values()) b.destroy();
      for (const v of vocabs.values()) v.destroy();
      throw err;
    }
  }

  /**
   * Runs `tokens` (at most maxBatch) at positions pos0.., filling the KV cache, and leaves the
   * logits of the last token in the logits buffer. Returns nothing: read them with
   * `readLogits` or `argmaxLast`, which wait for the GPU.
   */
  forward(tokens: ArrayLike<number>, pos0: number): void {
    const { encoder, pass, m } = this.encodeLayers(tokens, pos0);
    // Only the last position's logits are needed to pick the next token.
    this.outputNorm.encode(pass, { m: 1, rowOffset: m - 1 });
    this.lmHead.encode(pass, { m: 1, xRowOffset: m - 1 });
    this.finalSoftcap?.encode(pass, { m: 1 });
    this.argmax.encode(pass, {});
    pass.end();
    this.gpu.device.queue.submit([encoder.finish()]);
  }

  /**
   * Runs `tokens` (at most maxBatch) at positions pos0.. like `forward`, and returns the logits
   * of every one of them, [m, vocab] row-major: row i predicts the token after tokens[i]. For
   * scoring; it leaves the last-token logits of `readLogits` and `argmaxLast` as they were.
   */
  async forwardAll(tokens: ArrayLike<number>, pos0: number): Promise<Float32Array> {
    const head = this.allRowsHead();
    const { encoder, pass, m } = this.encodeLayers(tokens, pos0);
    this.outputNorm.encode(pass, { m });
    head.lmHead.encode(pass, { m });
    head.softcap?.encode(pass, { m });
    pass.end();
    this.gpu.device.queue.submit([encoder.finish()]);
    return head.lmHead.read(m);
  }

  private allRowsHead(): NonNullable<LlamaModel['allRows']> {
    if (this.allRows) return this.allRows;
    const { vocabSize, finalSoftcap } = this.config;
    const bytes = this.maxBatch * vocabSize * 4;
    const limit = bindingLimit(this.gpu);
    if (bytes > limit)
      throw new DeviceLimitError(
        `Scoring needs the logits of ${this.maxBatch} positions over ${vocabSize} tokens (${(bytes / 2 ** 20).toFixed(0)} MiB) in one buffer, but this GPU binds at most ${(limit / 2 ** 20).toFixed(0)} MiB.`,
      );
    const logits = createStorage(this.gpu, 'logits_all', bytes);
    let lmHead: LogitsOp | undefined;
    try {
      lmHead = this.headLogits(logits, 'lm head all rows');
      // Soft-capping is element-wise, so the chunk-major order of a split head does not matter.
      const softcap = finalSoftcap === undefined ? undefined : createSoftcap(this.gpu, { x: logits, cap: finalSoftcap, N: vocabSize });
      this.allRows = { logits, lmHead, ...(softcap ? { softcap } : {}) };
      return this.allRows;
    } catch (err) {
      lmHead?.destroy();
      logits.destroy();
      throw err;
    }
  }

  /** Checks the chunk, uploads its ids and encodes the embedding and every layer into a new pass. */
  private encodeLayers(tokens: ArrayLike<number>, pos0: number): { encoder: GPUCommandEncoder; pass: GPUComputePassEncoder; m: number } {
    const m = tokens.length;
    if (m < 1 || m > this.maxBatch) throw new RangeError(`forward takes 1..${this.maxBatch} tokens, got ${m}`);
    if (pos0 + m > this.contextLength) throw new RangeError(`positions ${pos0}..${pos0 + m - 1} exceed the KV cache of ${this.contextLength}`);
    const { device } = this.gpu;
    device.queue.writeBuffer(this.ids, 0, Uint32Array.from(tokens));
    const encoder = device.createCommandEncoder({ label: `forward m${m}` });
    const pass = encoder.beginComputePass({ label: `forward m${m}` });
    for (const encode of this.body) encode(pass, m, pos0);
    return { encoder, pass, m };
  }

  /** The logits of the last forwarded token. */
  readLogits(): Promise<Float32Array> {
    return readF32(this.gpu, this.logits, this.config.vocabSize);
  }

  /** The greedy choice for the last forwarded token, computed on the GPU so only 4 bytes come back. */
  async argmaxLast(): Promise<number> {
    return (await readU32(this.gpu, this.argmaxOut, 1))[0];
  }

  destroy(): void {
    for (const op of this.ops) op.destroy();
    for (const b of this.buffers) b.destroy();
    for (const v of this.vocabs) v.destroy();
    this.allRows?.lmHead.destroy();
    this.allRows?.softcap?.destroy();
    this.allRows?.logits.destroy();
    this.allRows = undefined;
  }
}

/**
 * Stacks each gated layer's gate and up matrices into one [2F, K] matrix, gate rows first, so
 * that one matmul computes both (a dispatch less per layer, and its input read once) and the
 * activation reads rows [gate | up] (createSwiglu's gateUp). It copies on the GPU one layer at a
 * time and frees that layer's two buffers before the next, so the load's peak GPU memory grows
 * by one layer's FFN at most. A layer keeps its two matrices where they differ in type or shape,
 * where gate's bytes do not end on a word (a copy must start on one; up's rows must follow gate's
 * last row directly), or where the stack would not fit one binding. Returns each layer's stacked
 * matrix (a TensorInfo of shape [2F, K] keyed in `weights`).
 */
async function stackGateUp(gpu: Gpu, weights: Map<TensorInfo, GPUBuffer>, layers: LlamaLayerTensors[]): Promise<(TensorInfo | undefined)[]> {
  const limit = bindingLimit(gpu);
  const stacked: (TensorInfo | undefined)[] = [];
  for (const { gate, up, upBias } of layers) {
    const bytes = gate ? gpuWeightBytes(gate) : 0;
    if (!gate || upBias || gate.dtype !== up.dtype || gate.shape.join() !== up.shape.join() || bytes !== gate.byteLength || 2 * bytes > limit) {
      stacked.push(undefined);
      continue;
    }
    const name = `${gate.name}+${up.name}`;
    const merged = createStorage(gpu, name, 2 * bytes);
    const [gateBuffer, upBuffer] = [weights.get(gate)!, weights.get(up)!];
    const encoder = gpu.device.createCommandEncoder({ label: `stack ${name}` });
    encoder.copyBufferToBuffer(gateBuffer, 0, merged, 0, bytes);
    encoder.copyBufferToBuffer(upBuffer, 0, merged, bytes, bytes);
    gpu.device.queue.submit([encoder.finish()]);
    const info: TensorInfo = { ...gate, name, shape: [2 * gate.shape[0], gate.shape[1]], byteLength: 2 * bytes };
    // Every buffer stays in `weights` until the copies are done, so a failure frees them all.
    weights.set(info, merged);
    await gpu.device.queue.onSubmittedWorkDone();
    weights.delete(gate);
    weights.delete(up);
    gateBuffer.destroy();
    upBuffer.destroy();
    stacked.push(info);
  }
  return stacked;
}
