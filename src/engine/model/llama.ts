import { CorruptFileError, DeviceLimitError } from '../../protocol/errors.ts';
import type { Gpu } from '../../gpu/device.ts';
import { createStorage, readF32, readU32 } from '../../gpu/buffers.ts';
import type { KernelOp } from '../../gpu/kernel.ts';
import { createAttention } from '../../gpu/kernels/attention.ts';
import { createArgmax } from '../../gpu/kernels/argmax.ts';
import { createEmbedding } from '../../gpu/kernels/embedding.ts';
import { createPackedEmbedding } from '../../gpu/kernels/embeddingPacked.ts';
import { createGemm, type MatmulDyn, type MatmulOptions } from '../../gpu/kernels/gemm.ts';
import { createPackedGemm } from '../../gpu/kernels/gemmPacked.ts';
import { createGemv } from '../../gpu/kernels/gemv.ts';
import { createPackedGemv } from '../../gpu/kernels/gemvPacked.ts';
import { createKQuantGemm, createKQuantGemv } from '../../gpu/kernels/kquantMatmul.ts';
import { createRmsnorm } from '../../gpu/kernels/rmsnorm.ts';
import { createRope } from '../../gpu/kernels/rope.ts';
import { createSwiglu } from '../../gpu/kernels/swiglu.ts';
import type { ModelConfig } from '../config.ts';
import type { TensorInfo } from '../formats/source.ts';
import { gpuWeightBytes, inFileOrder, uploadWeight, weightStorage, type LlamaTensors, type WeightStorage } from './weights.ts';

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
  onUpload?: (loaded: number, total: number) => void;
}

/** A linear layer has a tiled GEMM for prefill and a GEMV for single-token decode, bound to the same buffers. */
interface Linear {
  gemm: KernelOp<MatmulDyn>;
  gemv: KernelOp<MatmulDyn>;
}

function encodeLinear(pass: GPUComputePassEncoder, linear: Linear, dyn: MatmulDyn): void {
  (dyn.m === 1 ? linear.gemv : linear.gemm).encode(pass, dyn);
}

/** The GEMM or GEMV that reads a weight where it lives: f32, or its packed file bytes. */
function createMatmul(gpu: Gpu, kernel: 'gemm' | 'gemv', storage: WeightStorage, o: MatmulOptions): KernelOp<MatmulDyn> {
  const gemm = kernel === 'gemm';
  switch (storage.kind) {
    case 'f32':
      return (gemm ? createGemm : createGemv)(gpu, o);
    case 'packed':
      return (gemm ? createPackedGemm : createPackedGemv)(gpu, { ...o, type: storage.type });
    case 'kquant':
      return (gemm ? createKQuantGemm : createKQuantGemv)(gpu, { ...o, type: storage.type });
  }
}

interface Layer {
  attnNorm: KernelOp<{ m: number }>;
  q: Linear;
  k: Linear;
  v: Linear;
  ropeQ: KernelOp<{ m: number; pos0: number; outRowOffset?: number }>;
  ropeK: KernelOp<{ m: number; pos0: number; outRowOffset?: number }>;
  attention: KernelOp<{ m: number; pos0: number }>;
  o: Linear;
  ffnNorm: KernelOp<{ m: number }>;
  gate: Linear;
  up: Linear;
  swiglu: KernelOp<{ m: number }>;
  down: Linear;
}

/**
 * The Llama forward pass on our kernels: weights in GPU buffers, a KV cache per layer,
 * and one command buffer per forward call. Knows nothing of tokenizers or sampling.
 */
export class LlamaModel {
  /** Bytes held in GPU buffers (weights, KV cache, activations). */
  readonly gpuBytes: number;
  readonly maxBatch: number;
  private readonly buffers: GPUBuffer[];
  private readonly ops: KernelOp<never>[];
  private readonly ids: GPUBuffer;
  private readonly logits: GPUBuffer;
  private readonly argmaxOut: GPUBuffer;
  private readonly embed: KernelOp<{ m: number }>;
  private readonly layers: Layer[];
  private readonly outputNorm: KernelOp<{ m: number; rowOffset?: number }>;
  private readonly lmHead: Linear;
  private readonly argmax: KernelOp<{ rowOffset?: number }>;
  /**
   * What the every-row LM head of `forwardAll` binds: the normed activations and the output
   * weight, with how it is stored. Not the TensorInfo: that would keep its file source (and the
   * stored chunk the source holds) alive for as long as the model.
   */
  private readonly lmHeadInput: { normed: GPUBuffer; weight: GPUBuffer; storage: WeightStorage; label: string };
  /**
   * The LM head over every row of a chunk and its [maxBatch, vocab] logits, made on the first
   * `forwardAll`: only scoring needs them, and with a large vocabulary they take tens of MiB
   * that generation would never use (they are not counted in gpuBytes).
   */
  private allRows?: { logits: GPUBuffer; lmHead: KernelOp<MatmulDyn> };

  private constructor(
    private readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly contextLength: number,
    weights: Map<string, GPUBuffer>,
    tensors: LlamaTensors,
    ropeMode: RopeMode,
    maxBatch: number,
  ) {
    const c = config;
    this.maxBatch = maxBatch;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    const owned: GPUBuffer[] = [];
    const scratch = (label: string, floats: number) => {
      const b = createStorage(gpu, label, floats * 4);
      owned.push(b);
      return b;
    };
    const w = (t: TensorInfo) => weights.get(t.name)!;
    const ops: KernelOp<never>[] = [];
    const track = <T extends KernelOp<any>>(op: T): T => {
      ops.push(op as unknown as KernelOp<never>);
      return op;
    };
    const linear = (x: GPUBuffer, t: TensorInfo, y: GPUBuffer, accumulate = false): Linear => {
      const [N, K] = t.shape;
      const storage = weightStorage(t);
      const o = { x, w: w(t), y, K, N, accumulate, label: t.name };
      return { gemm: track(createMatmul(gpu, 'gemm', storage, o)), gemv: track(createMatmul(gpu, 'gemv', storage, o)) };
    };

    this.ids = scratch('ids', maxBatch);
    const x = scratch('x', maxBatch * c.hiddenSize);
    const xn = scratch('x_norm', maxBatch * c.hiddenSize);
    const q = scratch('q', maxBatch * qDim);
    const k = scratch('k', maxBatch * kvDim);
    const attn = scratch('attn_out', maxBatch * qDim);
    const gate = scratch('ffn_gate', maxBatch * c.intermediateSize);
    const up = scratch('ffn_up', maxBatch * c.intermediateSize);
    const act = scratch('ffn_act', maxBatch * c.intermediateSize);
    this.logits = scratch('logits', c.vocabSize);
    this.argmaxOut = scratch('argmax', 1);

    // A packed table is gathered and decoded in one kernel: no f32 copy of it is ever made.
    const embedding = { ids: this.ids, table: w(tensors.embedding), out: x, D: c.hiddenSize, V: c.vocabSize, label: tensors.embedding.name };
    const embeddingStorage = weightStorage(tensors.embedding);
    this.embed = track(
      embeddingStorage.kind === 'f32' ? createEmbedding(gpu, embedding) : createPackedEmbedding(gpu, { ...embedding, type: embeddingStorage.type }),
    );
    this.layers = tensors.layers.map((t, i) => {
      const kCache = scratch(`k_cache.${i}`, contextLength * kvDim);
      const vCache = scratch(`v_cache.${i}`, contextLength * kvDim);
      const rope = { headDim: c.headDim, ropeDim: c.ropeDim, theta: c.ropeTheta, mode: ropeMode };
      return {
        attnNorm: track(createRmsnorm(gpu, { x, weight: w(t.attnNorm), out: xn, D: c.hiddenSize, eps: c.rmsNormEps })),
        q: linear(xn, t.q, q),
        k: linear(xn, t.k, k),
        // V goes straight into its cache rows (yRowOffset = pos0); K first needs RoPE.
        v: linear(xn, t.v, vCache),
        ropeQ: track(createRope(gpu, { x: q, out: q, nHeads: c.heads, ...rope })),
        ropeK: track(createRope(gpu, { x: k, out: kCache, nHeads: c.kvHeads, ...rope })),
        attention: track(
          createAttention(gpu, { q, kCache, vCache, out: attn, nHeads: c.heads, nKvHeads: c.kvHeads, headDim: c.headDim, maxSeq: contextLength }),
        ),
        // The output projections add into the residual stream (GEMM accumulate), saving a separate add pass.
        o: linear(attn, t.o, x, true),
        ffnNorm: track(createRmsnorm(gpu, { x, weight: w(t.ffnNorm), out: xn, D: c.hiddenSize, eps: c.rmsNormEps })),
        gate: linear(xn, t.gate, gate),
        up: linear(xn, t.up, up),
        swiglu: track(createSwiglu(gpu, { gate, up, out: act, F: c.intermediateSize })),
        down: linear(act, t.down, x, true),
      };
    });
    this.outputNorm = track(createRmsnorm(gpu, { x, weight: w(tensors.outputNorm), out: xn, D: c.hiddenSize, eps: c.rmsNormEps }));
    const head = tensors.output ?? tensors.embedding;
    this.lmHead = linear(xn, head, this.logits);
    this.lmHeadInput = { normed: xn, weight: w(head), storage: weightStorage(head), label: `${head.name} all rows` };
    this.argmax = track(createArgmax(gpu, { logits: this.logits, out: this.argmaxOut, N: c.vocabSize }));

    this.buffers = [...weights.values(), ...owned];
    this.ops = ops;
    this.gpuBytes = this.buffers.reduce((sum, b) => sum + b.size, 0);
  }

  /** Uploads the weights (in file order, a piece of a tensor in CPU memory at a time) and prepares every kernel. */
  static async create(gpu: Gpu, config: ModelConfig, tensors: LlamaTensors, options: LlamaOptions): Promise<LlamaModel> {
    checkShapes(config, tensors);
    const all = [tensors.embedding, tensors.outputNorm, ...(tensors.output ? [tensors.output] : []), ...tensors.layers.flatMap((l): TensorInfo[] => Object.values(l))];
    // Refuses a type the kernels cannot read before a byte is uploaded.
    for (const t of all) weightStorage(t);
    checkLimits(gpu, all, config, options.contextLength);
    const total = all.reduce((sum, t) => sum + gpuWeightBytes(t), 0);
    let loaded = 0;
    const weights = new Map<string, GPUBuffer>();
    try {
      for (const t of inFileOrder(all)) {
        weights.set(t.name, await uploadWeight(gpu, t));
        loaded += gpuWeightBytes(t);
        options.onUpload?.(loaded, total);
      }
      return new LlamaModel(gpu, config, options.contextLength, weights, tensors, options.ropeMode, options.maxBatch ?? 64);
    } catch (err) {
      for (const b of weights.values()) b.destroy();
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
    encodeLinear(pass, this.lmHead, { m: 1, xRowOffset: m - 1 });
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
    pass.end();
    this.gpu.device.queue.submit([encoder.finish()]);
    return readF32(this.gpu, head.logits, m * this.config.vocabSize);
  }

  private allRowsHead(): { logits: GPUBuffer; lmHead: KernelOp<MatmulDyn> } {
    if (this.allRows) return this.allRows;
    const { vocabSize, hiddenSize } = this.config;
    const bytes = this.maxBatch * vocabSize * 4;
    const { limits } = this.gpu.device;
    const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    if (bytes > limit)
      throw new DeviceLimitError(
        `Scoring needs the logits of ${this.maxBatch} positions over ${vocabSize} tokens (${(bytes / 2 ** 20).toFixed(0)} MiB) in one buffer, but this GPU binds at most ${(limit / 2 ** 20).toFixed(0)} MiB.`,
      );
    const logits = createStorage(this.gpu, 'logits_all', bytes);
    const { normed, weight, storage, label } = this.lmHeadInput;
    try {
      const lmHead = createMatmul(this.gpu, 'gemm', storage, { x: normed, w: weight, y: logits, K: hiddenSize, N: vocabSize, label });
      this.allRows = { logits, lmHead };
      return this.allRows;
    } catch (err) {
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
    this.embed.encode(pass, { m });
    for (const l of this.layers) {
      l.attnNorm.encode(pass, { m });
      encodeLinear(pass, l.q, { m });
      encodeLinear(pass, l.k, { m });
      encodeLinear(pass, l.v, { m, yRowOffset: pos0 });
      l.ropeQ.encode(pass, { m, pos0 });
      l.ropeK.encode(pass, { m, pos0, outRowOffset: pos0 });
      l.attention.encode(pass, { m, pos0 });
      encodeLinear(pass, l.o, { m });
      l.ffnNorm.encode(pass, { m });
      encodeLinear(pass, l.gate, { m });
      encodeLinear(pass, l.up, { m });
      l.swiglu.encode(pass, { m });
      encodeLinear(pass, l.down, { m });
    }
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
    this.allRows?.lmHead.destroy();
    this.allRows?.logits.destroy();
    this.allRows = undefined;
  }
}

function checkShapes(c: ModelConfig, t: LlamaTensors): void {
  const qDim = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  const expect = (info: TensorInfo, shape: number[]) => {
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))
      throw new CorruptFileError(`Tensor ${info.name} has shape [${info.shape}], but the config implies [${shape}].`);
  };
  expect(t.embedding, [c.vocabSize, c.hiddenSize]);
  expect(t.outputNorm, [c.hiddenSize]);
  if (t.output) expect(t.output, [c.vocabSize, c.hiddenSize]);
  for (const l of t.layers) {
    expect(l.attnNorm, [c.hiddenSize]);
    expect(l.q, [qDim, c.hiddenSize]);
    expect(l.k, [kvDim, c.hiddenSize]);
    expect(l.v, [kvDim, c.hiddenSize]);
    expect(l.o, [c.hiddenSize, qDim]);
    expect(l.ffnNorm, [c.hiddenSize]);
    expect(l.gate, [c.intermediateSize, c.hiddenSize]);
    expect(l.up, [c.intermediateSize, c.hiddenSize]);
    expect(l.down, [c.hiddenSize, c.intermediateSize]);
  }
}

/** Says which buffer the device cannot hold before anything is allocated. */
function checkLimits(gpu: Gpu, tensors: TensorInfo[], c: ModelConfig, contextLength: number): void {
  const limit = Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize);
  const kvBytes = contextLength * c.kvHeads * c.headDim * 4;
  const largest = tensors.reduce((big, t) => (gpuWeightBytes(t) > gpuWeightBytes(big) ? t : big));
  const largestBytes = gpuWeightBytes(largest);
  if (largestBytes > limit)
    throw new DeviceLimitError(
      `Tensor ${largest.name} needs ${(largestBytes / 2 ** 20).toFixed(0)} MiB in one buffer, but this GPU binds at most ${(limit / 2 ** 20).toFixed(0)} MiB.`,
    );
  if (kvBytes > limit)
    throw new DeviceLimitError(
      `A KV cache of ${contextLength} tokens needs ${(kvBytes / 2 ** 20).toFixed(0)} MiB per layer, over this GPU's ${(limit / 2 ** 20).toFixed(0)} MiB binding limit.`,
      'Use a shorter context length.',
    );
}
