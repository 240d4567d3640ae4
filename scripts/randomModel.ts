// Random-weight models of every architecture Pocket Hub runs, in the two forms people download:
// the GGUF that llama.cpp's converter (convert_hf_to_gguf.py) writes, and the Hugging Face
// checkpoint (config.json + model.safetensors) it reads. Both hold the same weights, so our engine
// can be held to llama.cpp on the GGUF and to itself across the two formats, at sizes a software
// GPU runs in seconds. Tensor names, shapes, metadata keys and the converter's rewrites (llama's
// Q/K row permutation, gemma's norm + 1, gpt2's Conv1D transpose, llama3's rope_freqs) follow
// the llama.cpp that node-llama-cpp ships (its llama/gitRelease.bundle: conversion/*.py and
// src/models/*.cpp). No Node APIs: GPU tests build models with it in the browser too.
import { storedType } from '../src/bench/quantFallback.ts';
import { f16ToF32, f32ToF16, type DType } from '../src/engine/formats/dtype.ts';
import { writeGguf, type GgufTensorInput, type GgufTypedValue } from '../src/engine/formats/ggufWriter.ts';
import { dequantizeRowK, isKType, quantizeRowK, type KType } from '../src/engine/formats/kquant.ts';
import { dequantizeRow, quantizeRow, type PackedType } from '../src/engine/formats/quant.ts';
import { writeSafetensors } from '../src/engine/formats/safetensorsWriter.ts';
import { Rng } from '../src/engine/sampling.ts';

export type RandomArchitecture = 'llama' | 'qwen2' | 'qwen3' | 'phi3' | 'gemma2' | 'gemma3' | 'gpt2';

/**
 * The type asked for every matrix; 1-D tensors (norms, biases, rope_freqs) and gpt2's
 * position_embd stay F32, as in llama.cpp. A matrix whose rows are not whole blocks of it is
 * stored in llama.cpp's fallback type instead (storedType: Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0).
 */
export type RandomModelType = 'F32' | 'F16' | Exclude<PackedType, 'F16' | 'BF16'> | KType;

/** HF rope_scaling of type 'llama3' (Llama 3.1 and 3.2). */
export interface RandomRopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContextLength: number;
}

export interface RandomModelOptions {
  architecture: RandomArchitecture;
  seed: number;
  type: RandomModelType;
  /**
   * Any size, as real models have (SmolLM2's 576, Qwen2.5's 896): the matrices whose rows are not
   * whole blocks of `type` are written as llama-quantize --pure writes them (see RandomModelType).
   */
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** Defaults to hiddenSize / heads; gemma and qwen3 have heads · headDim ≠ hiddenSize. */
  headDim?: number;
  contextLength: number;
  ropeTheta: number;
  /** RMSNorm epsilon; gpt2's LayerNorm epsilon. */
  rmsNormEps: number;
  /** No output.weight (no lm_head.weight): the LM head reuses the token embedding. */
  tied: boolean;
  /** llama only: Llama 3 RoPE scaling (HF rope_scaling; GGUF rope_freqs.weight). */
  ropeScaling?: RandomRopeScaling;
  /** phi3 (written, but llama.cpp ignores it), gemma2, gemma3. */
  slidingWindow?: number;
  /** gemma3: every n-th layer attends globally, the others through the window (llama.cpp's default 6). */
  slidingWindowPattern?: number;
  /** gemma2. */
  attnSoftcap?: number;
  /** gemma2 (gemma3 may have one too). */
  finalSoftcap?: number;
  /** gemma3: the RoPE base of the sliding-window layers. */
  ropeThetaLocal?: number;
}

/*
 * The presets the tests run: the shapes of each family scaled down (hidden 256, vocabulary from
 * the tokenizer), keeping what makes each family itself: GQA, qwen3's and gemma's heads wider
 * than hidden / heads (the attention width then differs from the hidden size), gemma's
 * sliding and global layers, gpt2's fixed 4 × hidden FFN. Tied or not as the small models of each family are (Llama 3.2,
 * Qwen3, Gemma and GPT-2 tie). The values a real checkpoint has that would make a feature
 * unmeasurable at this size are scaled too, each said where it is set.
 */
type Preset = Omit<RandomModelOptions, 'seed' | 'type'>;

const llama: Preset = {
  architecture: 'llama',
  hiddenSize: 256,
  intermediateSize: 768,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  contextLength: 2048,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  tied: false,
};

export const RANDOM_MODELS = {
  llama,
  llama3: {
    ...llama,
    ropeTheta: 500000,
    tied: true,
    // Llama 3.1's factors, but an original context of 64 instead of 8192: the stretch then
    // reaches frequencies that turn within the tested positions (with 8192, only dimensions
    // turning less than once in 2048 positions change, and 200 positions could not tell).
    ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 64 },
  },
  qwen2: { ...llama, architecture: 'qwen2', ropeTheta: 1000000, rmsNormEps: 1e-6 },
  qwen3: { ...llama, architecture: 'qwen3', heads: 8, kvHeads: 2, headDim: 64, ropeTheta: 1000000, rmsNormEps: 1e-6, tied: true },
  phi3: { ...llama, architecture: 'phi3', intermediateSize: 512, contextLength: 4096, slidingWindow: 2047 },
  gemma2: {
    ...llama,
    architecture: 'gemma2',
    intermediateSize: 512,
    headDim: 128,
    contextLength: 8192,
    rmsNormEps: 1e-6,
    tied: true,
    // Gemma 2 caps attention scores at 50, which scores of this model (spread 2.3) never
    // approach: 10 bends the largest ones enough that a missing cap shows.
    attnSoftcap: 10,
    finalSoftcap: 30,
    // Gemma 2's window is 4096: 32 makes the window cut into the tested positions.
    slidingWindow: 32,
  },
  gemma3: {
    ...llama,
    architecture: 'gemma3',
    intermediateSize: 512,
    // Gemma 3 has five sliding layers per global one, and its GGUFs leave the pattern to
    // llama.cpp's default of 6. Six layers cost a software GPU three times two, so the preset
    // writes the key llama.cpp reads (as transformers reads sliding_window_pattern): two layers,
    // one sliding and one global.
    layers: 2,
    slidingWindowPattern: 2,
    kvHeads: 1,
    headDim: 128,
    contextLength: 32768,
    ropeTheta: 1000000,
    ropeThetaLocal: 10000,
    rmsNormEps: 1e-6,
    tied: true,
    // Gemma 3 1B's window is 512: see gemma2.
    slidingWindow: 32,
  },
  gpt2: { ...llama, architecture: 'gpt2', intermediateSize: 1024, kvHeads: 4, contextLength: 1024, tied: true },
} satisfies Record<string, Preset>;

export type RandomPreset = keyof typeof RANDOM_MODELS;

/** llama.cpp's llama_ftype of each weight type (general.file_type); an all-K file gets what llama.cpp's loader names it: Q4_K_M, Q5_K_M, Q6_K. */
export const FILE_TYPE: Record<RandomModelType, number> = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q4_K: 15, Q5_K: 17, Q6_K: 18 };

/*
 * Scales, as standard deviations. A linear layer's weights have 1/√fan_in, so each projection
 * keeps the residual stream near RMS 1 and no layer drowns the others. Choices that make the
 * model a useful test rather than noise:
 * - Q and K have QK_SCALE/√hidden (with per-head q/k norms, the norms' gains are QK_SCALE
 *   instead): attention scores then spread with standard deviation QK_SCALE² ≈ 2.3, so each
 *   head attends to a few earlier tokens and the prediction depends on the context (with
 *   1/√hidden, attention is near uniform and position hardly matters).
 * - The logits spread with standard deviation LOGIT_SCALE (through the output norm's gain when
 *   the head is tied to the embedding): over 512 tokens the largest logit then stands a few
 *   units above the next, so the most likely token typically holds half the mass and a top-1
 *   comparison asks for a decision a rounding error cannot flip.
 * - A tied head scores the embedding against the final state, which still holds the input
 *   token's own embedding row: at unit scale that term alone would make every prediction
 *   "repeat the input". The residual stream starts at TIED_EMBED_SCALE instead (gemma's rows
 *   are smaller by its √hidden input scale), small beside the layers' output, and the output
 *   norm's gain restores LOGIT_SCALE.
 * - Norm gains are 1 ± NORM_JITTER, so a kernel reading the wrong norm weight shows; biases are
 *   BIAS_SCALE of their projection's output spread, large enough that a dropped one shows.
 *   LayerNorm biases (gpt2) are NORM_BIAS: the final one adds a fixed score to each token
 *   through the tied head, which at BIAS_SCALE narrowed the winners to 28 tokens in 100
 *   positions (36 at NORM_BIAS; 77–85 for the gated families).
 */
const QK_SCALE = 1.5;
const LOGIT_SCALE = 6;
const TIED_EMBED_SCALE = 0.05;
const NORM_JITTER = 0.25;
const BIAS_SCALE = 0.25;
const NORM_BIAS = 0.1;

/** Uniform on [−a, a] has standard deviation a/√3. */
function uniform(rng: Rng, n: number, std: number, mean = 0): Float32Array {
  const a = std * Math.sqrt(3);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + (rng.next() * 2 - 1) * a;
  return out;
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The inverse of convert_hf_to_gguf.py's LlamaModel.permute: the converter reorders each head's
 * Q/K rows from HF's (half, j) to (j, half) so that llama.cpp's RoPE rotates adjacent pairs;
 * GGUF row h·d + 2j + t holds HF row h·d + t·d/2 + j.
 */
export function unpermuteRows(gguf: Float32Array, heads: number, cols: number): Float32Array {
  const headRows = gguf.length / cols / heads;
  const half = headRows / 2;
  const hf = new Float32Array(gguf.length);
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < half; j++)
      for (let t = 0; t < 2; t++) {
        const from = (h * headRows + 2 * j + t) * cols;
        hf.set(gguf.subarray(from, from + cols), (h * headRows + t * half + j) * cols);
      }
  return hf;
}

/** GPT-2's Conv1D keeps weights as [in, out]; the converter transposes them to GGUF's [out, in]. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** convert_hf_to_gguf.py's llama3 rope_freqs: per frequency pair, the divisor llama.cpp applies to θ. */
export function llama3RopeFactors(s: RandomRopeScaling, theta: number, ropeDim: number): Float32Array {
  // The converter works on float32 torch tensors from the frequencies on; each step is rounded
  // to f32 here too (pow may still differ from torch's by an ulp).
  const f = Math.fround;
  const factors = new Float32Array(ropeDim / 2);
  for (let i = 0; i < ropeDim / 2; i++) {
    const wavelength = f((2 * Math.PI) / f(1 / f(theta ** f((2 * i) / ropeDim))));
    if (wavelength < s.originalContextLength / s.highFreqFactor) factors[i] = 1;
    else if (wavelength > s.originalContextLength / s.lowFreqFactor) factors[i] = s.factor;
    else {
      const smooth = f(f(f(s.originalContextLength / wavelength) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
      factors[i] = 1 / f(f(f(1 - smooth) / s.factor) + smooth);
    }
  }
  return factors;
}

/** One tensor as the GGUF holds it (before quantization), and where the HF checkpoint has it. */
export interface ModelTensor {
  name: string;
  shape: number[];
  data: Float32Array;
  /** Absent for tensors the converter makes up (rope_freqs). */
  hf?: { name: string; shape: number[]; data: Float32Array };
}

export interface RandomModel {
  options: RandomModelOptions & { headDim: number };
  vocabSize: number;
  /** The tensors in GGUF names and layout, as F32 values. */
  tensors: ModelTensor[];
  /** The file convert_hf_to_gguf.py writes, with every matrix then quantized to options.type (or its fallback) by our quantizers. */
  gguf(): Uint8Array;
  /**
   * An F32 GGUF of the values gguf()'s matrices decode to: what a quantized file computes when
   * the arithmetic keeps f32 activations (ours does; llama.cpp's CPU rounds them to 8 bits).
   */
  decodedGguf(): Uint8Array;
  /** The checkpoint the converter reads: config.json's object (as transformers writes it) and model.safetensors. */
  hf(dtype?: DType): { config: Record<string, unknown>; safetensors: Uint8Array };
}

export function resolveOptions(options: Partial<RandomModelOptions>): RandomModel['options'] {
  const preset: Preset = RANDOM_MODELS[options.architecture ?? 'llama'];
  const o = { seed: 1, type: 'F32' as RandomModelType, ...preset, ...options };
  const headDim = o.headDim ?? o.hiddenSize / o.heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0 || o.heads % o.kvHeads !== 0)
    throw new RangeError(`${o.heads} heads of ${headDim} and ${o.kvHeads} KV heads do not fit hidden size ${o.hiddenSize}`);
  if (o.architecture === 'gpt2' && (o.intermediateSize !== 4 * o.hiddenSize || o.kvHeads !== o.heads))
    throw new RangeError('gpt2 has an FFN of 4 × hidden and no grouped KV heads (llama.cpp assumes both)');
  // llama.cpp's gemma2 never reads an output.weight; transformers' GPT2LMHeadModel always ties.
  if ((o.architecture === 'gemma2' || o.architecture === 'gpt2') && !o.tied) throw new RangeError(`${o.architecture} always ties its head to the embedding`);
  if (o.ropeScaling && o.architecture !== 'llama') throw new RangeError('llama3 RoPE scaling is a llama option');
  return { ...o, headDim };
}

/** A random model of options.architecture with the vocabulary (and BOS/EOS) of the given tokenizer metadata; see RANDOM_MODELS. */
export function randomModel(tokenizer: Record<string, GgufTypedValue>, options: Partial<RandomModelOptions> = {}): RandomModel {
  const o = resolveOptions(options);
  const tokens = tokenizer['tokenizer.ggml.tokens'];
  if (tokens?.type !== 'array') throw new Error('the tokenizer metadata has no tokenizer.ggml.tokens array');
  const vocab = tokens.value.length;
  const arch = o.architecture;
  const D = o.hiddenSize;
  const F = o.intermediateSize;
  const hd = o.headDim;
  const qDim = o.heads * hd;
  const kvDim = o.kvHeads * hd;
  const gemma = arch === 'gemma2' || arch === 'gemma3';
  const gpt2 = arch === 'gpt2';
  const qkNorm = arch === 'qwen3' || arch === 'gemma3';

  const rng = new Rng(o.seed);
  const tensors: ModelTensor[] = [];
  const add = (name: string, shape: number[], data: Float32Array, hf?: ModelTensor['hf']) => tensors.push({ name, shape, data, hf });
  const same = (name: string, shape: number[], data: Float32Array) => ({ name, shape, data });
  /** A norm's gain (and gpt2's LayerNorm bias): gemma's checkpoints store gain − 1 (Gemma's RMSNorm multiplies by 1 + w), exact in f32 for every gain here. */
  const norm = (name: string, hfName: string, size: number, gain = 1) => {
    const data = uniform(rng, size, (gain * NORM_JITTER) / Math.sqrt(3), gain);
    add(`${name}.weight`, [size], data, same(`${hfName}.weight`, [size], gemma ? data.map((g) => g - 1) : data));
    if (gpt2) addBias(name, hfName, uniform(rng, size, gain * NORM_BIAS));
  };
  const weights = (out: number, fanIn: number, gain = 1) => uniform(rng, out * fanIn, gain / Math.sqrt(fanIn));
  const bias = (out: number, gain = 1) => uniform(rng, out, gain * BIAS_SCALE);
  const addBias = (name: string, hfName: string, data: Float32Array) => add(`${name}.bias`, [data.length], data, same(`${hfName}.bias`, [data.length], data));
  /** A matrix (and bias) in GGUF [out, in]; HF has gpt2's Conv1D as [in, out]. */
  const linear = (name: string, hfName: string, out: number, fanIn: number, data: Float32Array, biasData?: Float32Array) => {
    add(`${name}.weight`, [out, fanIn], data, gpt2 ? same(`${hfName}.weight`, [fanIn, out], transpose(data, out, fanIn)) : same(`${hfName}.weight`, [out, fanIn], data));
    if (biasData) addBias(name, hfName, biasData);
  };

  if (o.ropeScaling) {
    // generate_extra_tensors: the converter writes rope_freqs before the checkpoint's tensors.
    add('rope_freqs.weight', [hd / 2], llama3RopeFactors(o.ropeScaling, o.ropeTheta, hd));
  }

  const embedScale = gemma ? Math.sqrt(D) : 1;
  const embedStd = o.tied ? TIED_EMBED_SCALE / embedScale : 1;
  const embedding = uniform(rng, vocab * D, embedStd);
  add('token_embd.weight', [vocab, D], embedding, same(gpt2 ? 'transformer.wte.weight' : 'model.embed_tokens.weight', [vocab, D], embedding));
  if (gpt2) {
    const positions = uniform(rng, o.contextLength * D, embedStd);
    add('position_embd.weight', [o.contextLength, D], positions, same('transformer.wpe.weight', [o.contextLength, D], positions));
  }

  for (let i = 0; i < o.layers; i++) {
    const blk = `blk.${i}`;
    const hf = gpt2 ? `transformer.h.${i}` : `model.layers.${i}`;
    norm(`${blk}.attn_norm`, gpt2 ? `${hf}.ln_1` : `${hf}.input_layernorm`, D);
    const qkGain = qkNorm ? 1 : QK_SCALE;
    if (arch === 'phi3' || gpt2) {
      const [q, k, v] = [weights(qDim, D, qkGain), weights(kvDim, D, qkGain), weights(kvDim, D)];
      const b = gpt2 ? concat(bias(qDim, qkGain), bias(kvDim, qkGain), bias(kvDim)) : undefined;
      linear(`${blk}.attn_qkv`, gpt2 ? `${hf}.attn.c_attn` : `${hf}.self_attn.qkv_proj`, qDim + 2 * kvDim, D, concat(q, k, v), b);
    } else {
      const biased = arch === 'qwen2';
      const q = weights(qDim, D, qkGain);
      // llama's GGUF rows are the converter's permutation of HF's; the values are drawn in GGUF order.
      add(`${blk}.attn_q.weight`, [qDim, D], q, same(`${hf}.self_attn.q_proj.weight`, [qDim, D], arch === 'llama' ? unpermuteRows(q, o.heads, D) : q));
      if (biased) addBias(`${blk}.attn_q`, `${hf}.self_attn.q_proj`, bias(qDim, qkGain));
      const k = weights(kvDim, D, qkGain);
      add(`${blk}.attn_k.weight`, [kvDim, D], k, same(`${hf}.self_attn.k_proj.weight`, [kvDim, D], arch === 'llama' ? unpermuteRows(k, o.kvHeads, D) : k));
      if (biased) addBias(`${blk}.attn_k`, `${hf}.self_attn.k_proj`, bias(kvDim, qkGain));
      linear(`${blk}.attn_v`, `${hf}.self_attn.v_proj`, kvDim, D, weights(kvDim, D), biased ? bias(kvDim) : undefined);
    }
    if (qkNorm) {
      norm(`${blk}.attn_q_norm`, `${hf}.self_attn.q_norm`, hd, QK_SCALE);
      norm(`${blk}.attn_k_norm`, `${hf}.self_attn.k_norm`, hd, QK_SCALE);
    }
    linear(`${blk}.attn_output`, gpt2 ? `${hf}.attn.c_proj` : `${hf}.self_attn.o_proj`, D, qDim, weights(D, qDim), gpt2 ? bias(D) : undefined);
    if (gemma) norm(`${blk}.post_attention_norm`, `${hf}.post_attention_layernorm`, D);
    norm(`${blk}.ffn_norm`, gpt2 ? `${hf}.ln_2` : gemma ? `${hf}.pre_feedforward_layernorm` : `${hf}.post_attention_layernorm`, D);
    if (arch === 'phi3') {
      // gate_up_proj stacks the gate's rows over the up projection's, and llama.cpp's swiglu reads them in that order.
      linear(`${blk}.ffn_up`, `${hf}.mlp.gate_up_proj`, 2 * F, D, concat(weights(F, D), weights(F, D)));
    } else if (gpt2) {
      linear(`${blk}.ffn_up`, `${hf}.mlp.c_fc`, F, D, weights(F, D), bias(F));
    } else {
      linear(`${blk}.ffn_gate`, `${hf}.mlp.gate_proj`, F, D, weights(F, D));
      linear(`${blk}.ffn_up`, `${hf}.mlp.up_proj`, F, D, weights(F, D));
    }
    linear(`${blk}.ffn_down`, gpt2 ? `${hf}.mlp.c_proj` : `${hf}.mlp.down_proj`, D, F, weights(D, F), gpt2 ? bias(D) : undefined);
    if (gemma) norm(`${blk}.post_ffw_norm`, `${hf}.post_feedforward_layernorm`, D);
  }
  // The head's rows have norm LOGIT_SCALE either way: through its own weights, or through the
  // output norm's gain when it is the embedding (rows of norm embedStd·√D).
  const gain = o.tied ? LOGIT_SCALE / (embedStd * Math.sqrt(D)) : 1;
  norm('output_norm', gpt2 ? 'transformer.ln_f' : 'model.norm', D, gain);
  if (!o.tied) linear('output', 'lm_head', vocab, D, weights(vocab, D, LOGIT_SCALE));

  return modelOf(o, vocab, tensors, tokenizer);
}

/**
 * A model of the given tensors (in GGUF names and layout, F32 values; each with its place in the HF
 * checkpoint) and options: its GGUF with every matrix quantized to options.type, and its HF twin.
 */
export function modelOf(o: RandomModel['options'], vocab: number, tensors: ModelTensor[], tokenizer: Record<string, GgufTypedValue>): RandomModel {
  // Quantizing is the slow part of writing a file (seconds for K-quants): gguf() and
  // decodedGguf() share each matrix's bytes.
  const packed = new Map<ModelTensor, Uint8Array>();
  const encode = (t: ModelTensor, type: PackedType | KType) => {
    let bytes = packed.get(t);
    if (!bytes) {
      // The stored type's blocks divide every row (storedType), so quantizing the tensor's values
      // end to end is quantizing it row by row.
      bytes = isKType(type) ? quantizeRowK(type, t.data) : quantizeRow(type, t.data);
      packed.set(t, bytes);
    }
    return bytes;
  };
  const decoded = (t: ModelTensor): ModelTensor => {
    const type = quantizedType(o, t);
    if (type === 'F32') return t;
    if (type === 'F16') return { ...t, data: t.data.map((v) => f16ToF32(f32ToF16(v))) };
    const bytes = encode(t, type);
    return { ...t, data: isKType(type) ? dequantizeRowK(type, bytes, t.data.length) : dequantizeRow(type, bytes, t.data.length) };
  };

  return {
    options: o,
    vocabSize: vocab,
    tensors,
    gguf: () => ggufOf(o, tensors, tokenizer, encode),
    decodedGguf: () => ggufOf({ ...o, type: 'F32' }, tensors.map(decoded), tokenizer, encode),
    hf: (dtype: DType = 'F32') => ({
      config: hfConfig(o, vocab, tokenizer, dtype),
      safetensors: writeSafetensors(
        tensors.flatMap((t) => (t.hf ? [{ ...t.hf, dtype }] : [])),
        { format: 'pt' },
      ),
    }),
  };
}

/**
 * The converter keeps 1-D tensors and position_embd in F32, and llama-quantize leaves them so; a
 * matrix takes o.type, or its fallback where its rows (the last dimension here, GGUF's ne[0]) are
 * not whole blocks of it.
 */
function quantizedType(o: RandomModel['options'], t: ModelTensor): RandomModelType {
  return t.shape.length === 1 || t.name === 'position_embd.weight' ? 'F32' : storedType(o.type, t.shape[t.shape.length - 1]);
}

function ggufOf(
  o: RandomModel['options'],
  tensors: ModelTensor[],
  tokenizer: Record<string, GgufTypedValue>,
  encode: (t: ModelTensor, type: PackedType | KType) => Uint8Array,
): Uint8Array {
  const encoded: GgufTensorInput[] = tensors.map((t) => {
    const { name, shape, data } = t;
    const type = quantizedType(o, t);
    if (type === 'F32' || type === 'F16') return { name, dtype: type, shape, data };
    return { name, dtype: type, shape, bytes: encode(t, type) };
  });
  const arch = o.architecture;
  const u32 = (value: number) => ({ type: 'u32', value }) as const;
  const f32 = (value: number) => ({ type: 'f32', value }) as const;
  const key = (k: string) => `${arch}.${k}`;
  const entries = (pairs: [string, GgufTypedValue | undefined][]): Record<string, GgufTypedValue> =>
    Object.fromEntries(pairs.filter((p): p is [string, GgufTypedValue] => p[1] !== undefined).map(([k, v]) => [key(k), v]));
  const optional = (v: number | undefined, as: (v: number) => GgufTypedValue) => (v === undefined ? undefined : as(v));
  const counts: [string, GgufTypedValue][] = [
    ['block_count', u32(o.layers)],
    ['context_length', u32(o.contextLength)],
    ['embedding_length', u32(o.hiddenSize)],
    ['feed_forward_length', u32(o.intermediateSize)],
    ['attention.head_count', u32(o.heads)],
  ];
  const headLengths: [string, GgufTypedValue][] = [
    ['attention.key_length', u32(o.headDim)],
    ['attention.value_length', u32(o.headDim)],
  ];
  // Each family's keys, as its converter class writes them (TextModel.set_gguf_parameters for
  // llama, qwen2, qwen3 and gemma3; its own list for phi3, gemma2 and gpt2). Key lengths only
  // where the HF config has head_dim; llama writes vocab_size and rope.dimension_count.
  const perArch: Record<RandomArchitecture, [string, GgufTypedValue | undefined][]> = {
    llama: [
      ...counts,
      ['attention.head_count_kv', u32(o.kvHeads)],
      ['rope.freq_base', f32(o.ropeTheta)],
      ['attention.layer_norm_rms_epsilon', f32(o.rmsNormEps)],
      ...headLengths,
      ['vocab_size', u32(tokenCount(tokenizer))],
      ['rope.dimension_count', u32(o.headDim)],
    ],
    qwen2: [...counts, ['attention.head_count_kv', u32(o.kvHeads)], ['rope.freq_base', f32(o.ropeTheta)], ['attention.layer_norm_rms_epsilon', f32(o.rmsNormEps)]],
    qwen3: [
      ...counts,
      ['attention.head_count_kv', u32(o.kvHeads)],
      ['rope.freq_base', f32(o.ropeTheta)],
      ['attention.layer_norm_rms_epsilon', f32(o.rmsNormEps)],
      ...headLengths,
    ],
    phi3: [
      ['context_length', u32(o.contextLength)],
      ['rope.scaling.original_context_length', u32(o.contextLength)],
      ['embedding_length', u32(o.hiddenSize)],
      ['feed_forward_length', u32(o.intermediateSize)],
      ['block_count', u32(o.layers)],
      ['attention.head_count', u32(o.heads)],
      ['attention.head_count_kv', u32(o.kvHeads)],
      ['attention.layer_norm_rms_epsilon', f32(o.rmsNormEps)],
      ['rope.dimension_count', u32(o.headDim)],
      ['rope.freq_base', f32(o.ropeTheta)],
      ['attention.sliding_window', u32(o.slidingWindow ?? 0)],
    ],
    gemma2: [
      ['context_length', u32(o.contextLength)],
      ['embedding_length', u32(o.hiddenSize)],
      ['block_count', u32(o.layers)],
      ['feed_forward_length', u32(o.intermediateSize)],
      ['attention.head_count', u32(o.heads)],
      ['attention.head_count_kv', u32(o.kvHeads)],
      ['attention.layer_norm_rms_epsilon', f32(o.rmsNormEps)],
      ...headLengths,
      ['attn_logit_softcapping', optional(o.attnSoftcap, f32)],
      ['final_logit_softcapping', optional(o.finalSoftcap, f32)],
      ['attention.sliding_window', optional(o.slidingWindow, u32)],
    ],
    gemma3: [
      ...counts,
      ['attention.head_count_kv', u32(o.kvHeads)],
      ['rope.freq_base', f32(o.ropeTheta)],
      ['rope.freq_base_swa', optional(o.ropeThetaLocal, f32)],
      ['attention.layer_norm_rms_epsilon', f32(o.rmsNormEps)],
      ...headLengths,
      ['final_logit_softcapping', optional(o.finalSoftcap, f32)],
      ['attention.sliding_window', optional(o.slidingWindow, u32)],
      ['attention.sliding_window_pattern', optional(o.slidingWindowPattern, u32)],
    ],
    gpt2: [...counts, ['attention.layer_norm_epsilon', f32(o.rmsNormEps)]],
  };
  return writeGguf({
    metadata: {
      'general.architecture': { type: 'string', value: arch },
      'general.type': { type: 'string', value: 'model' },
      // A name holding "phi3" or "phi-3" makes llama.cpp look up Phi-3's own special tokens, which
      // this vocabulary lacks, and fail to load.
      'general.name': { type: 'string', value: `random ${arch === 'phi3' ? 'Phi 3' : arch} ${o.hiddenSize}x${o.layers} seed ${o.seed}` },
      ...entries(perArch[arch]),
      'general.file_type': u32(FILE_TYPE[o.type]),
      'general.quantization_version': u32(2),
      ...tokenizer,
    },
    tensors: encoded,
  });
}

function tokenCount(tokenizer: Record<string, GgufTypedValue>): number {
  const tokens = tokenizer['tokenizer.ggml.tokens'];
  return tokens?.type === 'array' ? tokens.value.length : 0;
}

function tokenId(tokenizer: Record<string, GgufTypedValue>, key: string): number | undefined {
  const v = tokenizer[`tokenizer.ggml.${key}`];
  return v && v.type !== 'array' && typeof v.value === 'number' ? v.value : undefined;
}

const TORCH_DTYPE: Record<DType, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/**
 * config.json as transformers writes it for each model_type (keys sorted, defaults the way the
 * released checkpoints have them: Gemma and GPT-2 configs leave tie_word_embeddings at its
 * default, true; Gemma 3's text config is model_type gemma3_text).
 */
function hfConfig(o: RandomModel['options'], vocab: number, tokenizer: Record<string, GgufTypedValue>, dtype: DType): Record<string, unknown> {
  const bos = tokenId(tokenizer, 'bos_token_id');
  const eos = tokenId(tokenizer, 'eos_token_id');
  const common = {
    bos_token_id: bos,
    eos_token_id: eos,
    initializer_range: 0.02,
    torch_dtype: TORCH_DTYPE[dtype],
    use_cache: true,
    vocab_size: vocab,
  };
  const decoder = {
    ...common,
    attention_dropout: 0,
    hidden_size: o.hiddenSize,
    intermediate_size: o.intermediateSize,
    max_position_embeddings: o.contextLength,
    num_attention_heads: o.heads,
    num_hidden_layers: o.layers,
    num_key_value_heads: o.kvHeads,
    rms_norm_eps: o.rmsNormEps,
    rope_theta: o.ropeTheta,
  };
  const s = o.ropeScaling;
  const byArch: Record<RandomArchitecture, Record<string, unknown>> = {
    llama: {
      ...decoder,
      architectures: ['LlamaForCausalLM'],
      attention_bias: false,
      head_dim: o.headDim,
      hidden_act: 'silu',
      mlp_bias: false,
      model_type: 'llama',
      pretraining_tp: 1,
      rope_scaling: s
        ? { factor: s.factor, high_freq_factor: s.highFreqFactor, low_freq_factor: s.lowFreqFactor, original_max_position_embeddings: s.originalContextLength, rope_type: 'llama3' }
        : null,
      tie_word_embeddings: o.tied,
      transformers_version: '4.51.3',
    },
    qwen2: {
      ...decoder,
      architectures: ['Qwen2ForCausalLM'],
      hidden_act: 'silu',
      max_window_layers: o.layers,
      model_type: 'qwen2',
      rope_scaling: null,
      sliding_window: o.contextLength,
      tie_word_embeddings: o.tied,
      transformers_version: '4.43.1',
      use_sliding_window: false,
    },
    qwen3: {
      ...decoder,
      architectures: ['Qwen3ForCausalLM'],
      attention_bias: false,
      head_dim: o.headDim,
      hidden_act: 'silu',
      max_window_layers: o.layers,
      model_type: 'qwen3',
      rope_scaling: null,
      sliding_window: null,
      tie_word_embeddings: o.tied,
      transformers_version: '4.51.0',
      use_sliding_window: false,
    },
    phi3: {
      ...decoder,
      architectures: ['Phi3ForCausalLM'],
      attention_bias: false,
      embd_pdrop: 0,
      hidden_act: 'silu',
      model_type: 'phi3',
      original_max_position_embeddings: o.contextLength,
      resid_pdrop: 0,
      rope_scaling: null,
      sliding_window: o.slidingWindow ?? null,
      tie_word_embeddings: o.tied,
      transformers_version: '4.40.2',
    },
    gemma2: {
      ...decoder,
      architectures: ['Gemma2ForCausalLM'],
      attention_bias: false,
      attn_logit_softcapping: o.attnSoftcap ?? null,
      cache_implementation: 'hybrid',
      final_logit_softcapping: o.finalSoftcap ?? null,
      head_dim: o.headDim,
      hidden_act: 'gelu_pytorch_tanh',
      hidden_activation: 'gelu_pytorch_tanh',
      model_type: 'gemma2',
      pad_token_id: 0,
      // llama.cpp scales queries by 1/√head_dim (all but Gemma 2 27B, which has hidden/heads).
      query_pre_attn_scalar: o.headDim,
      sliding_window: o.slidingWindow ?? null,
      transformers_version: '4.42.4',
    },
    gemma3: {
      ...decoder,
      architectures: ['Gemma3ForCausalLM'],
      attention_bias: false,
      attn_logit_softcapping: null,
      cache_implementation: 'hybrid',
      final_logit_softcapping: o.finalSoftcap ?? null,
      head_dim: o.headDim,
      hidden_activation: 'gelu_pytorch_tanh',
      model_type: 'gemma3_text',
      pad_token_id: 0,
      query_pre_attn_scalar: o.headDim,
      rope_local_base_freq: o.ropeThetaLocal ?? o.ropeTheta,
      rope_scaling: null,
      sliding_window: o.slidingWindow ?? null,
      sliding_window_pattern: o.slidingWindowPattern ?? 6,
      ...(o.tied ? {} : { tie_word_embeddings: false }),
      transformers_version: '4.50.0.dev0',
    },
    gpt2: {
      ...common,
      activation_function: 'gelu_new',
      architectures: ['GPT2LMHeadModel'],
      attn_pdrop: 0,
      embd_pdrop: 0,
      layer_norm_epsilon: o.rmsNormEps,
      model_type: 'gpt2',
      n_ctx: o.contextLength,
      n_embd: o.hiddenSize,
      n_head: o.heads,
      n_inner: null,
      n_layer: o.layers,
      n_positions: o.contextLength,
      reorder_and_upcast_attn: false,
      resid_pdrop: 0,
      scale_attn_by_inverse_layer_idx: false,
      scale_attn_weights: true,
      transformers_version: '4.51.3',
    },
  };
  const config = byArch[o.architecture];
  return Object.fromEntries(Object.keys(config).sort().map((k) => [k, config[k]]));
}
