import type { StoredType } from './quantFallback.ts';

/**
 * The JSON a bench run writes to bench/results/<date>-<adapter>.json. The /bench page reads
 * every saved file, so a field is only ever added (as optional) and `schema` goes up when one
 * changes meaning.
 */
export interface BenchResult {
  schema: 1;
  /** ISO time the run started. */
  date: string;
  mode: BenchMode;
  /** Where the suite ran: headless Chromium driven by scripts/bench.ts, Node on Dawn, or a visitor's browser. */
  runtime: 'chromium' | 'dawn' | 'browser';
  adapter: AdapterFacts;
  copy: CopyResult;
  gemv: MatmulCase[];
  gemm: MatmulCase[];
  /** The WebGPU peers the page could load, or why not. */
  peers: PeerStatus[];
  e2e: E2eCase[];
  /** Parts of the plan this run did not measure, each with the reason. */
  pending: string[];
  seconds: number;
}

export type BenchMode = 'quick' | 'full';

export interface AdapterFacts {
  /** Vendor, architecture, device and description, as src/gpu/device.ts joins them. */
  name: string;
  /** SwiftShader, lavapipe or another CPU implementation: its numbers say nothing about GPUs. */
  software: boolean;
  features: string[];
  /** Whether GPU times come from timestamp queries; otherwise from wall time around onSubmittedWorkDone. */
  timestamps: boolean;
  userAgent?: string;
}

export type TimingMethod = 'timestamp' | 'wall';

/** The median of several samples of one call, and the samples' range. */
export interface Timing {
  ms: number;
  minMs: number;
  maxMs: number;
  samples: number;
  method: TimingMethod;
}

export interface CopyResult {
  /** Bytes of the source buffer; each call reads and writes this many. */
  bytes: number;
  timing: Timing;
  /** 2 × bytes ÷ time: a copy reads every byte and writes it again. */
  gbps: number;
  /** The same bytes through copyBufferToBuffer, the driver's own copy. */
  copyBufferGbps: number;
}

/** The weight types the decode GEMV is measured in (those of F16, Q8_0, Q4_K_M and Q6_K files). */
export type WeightType = 'F32' | 'F16' | 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K';

/** A WeightType, or the type llama.cpp's quantizer writes instead where a row is not whole blocks of it (Q5_0 for Q4_K). */
export type StoredWeightType = StoredType<WeightType>;

export type Orientation = 'hidden→intermediate' | 'intermediate→hidden';

export interface MatmulCase {
  kernel: 'gemv' | 'gemm';
  type: WeightType;
  /** Where rows of K weights are not whole blocks of `type`, the type the weight was stored and run in instead (as llama.cpp's quantizer would store it). */
  storedType?: StoredWeightType;
  /** The model whose layer shape this is. */
  model: string;
  orientation: Orientation;
  /** y [M, N] = x [M, K] · wᵀ, w [N, K]. */
  M: number;
  K: number;
  N: number;
  /** The pipeline's variant key, or why the case did not run. */
  label?: string;
  skipped?: string;
  timing?: Timing;
  /** Bytes one call reads and writes (weights, x and y) ÷ time. */
  gbps?: number;
  /** gbps ÷ the copy kernel's. */
  shareOfCopy?: number;
  /** 2·M·N·K ÷ time. */
  gflops?: number;
  /** f32 cases only: the same product through each peer, wall time per call against ours. */
  peers?: PeerTiming[];
}

export type PeerName = 'tfjs' | 'ort';

export interface PeerStatus {
  peer: PeerName;
  /** Package and version, e.g. onnxruntime-web 1.30.0. */
  version?: string;
  /** Set when the peer could not run at all here. */
  unavailable?: string;
}

/**
 * A peer against ours on the same product, both timed the same way: back-to-back calls of one
 * weight, each its own submission, wall time to onSubmittedWorkDone ÷ calls. That includes each
 * library's per-call host cost, which a decode step pays too.
 */
export interface PeerTiming {
  peer: PeerName;
  peerMs?: number;
  oursMs?: number;
  /** peerMs ÷ oursMs: above 1, ours is faster. */
  speedup?: number;
  skipped?: string;
}

export interface E2eCase {
  /** The model whose shape the random weights have, and how it differs from the real one. */
  model: string;
  shapeNote: string;
  /** The GGUF's name, as scripts/bench.ts writes it. */
  file: string;
  type: string;
  layers: number;
  hiddenSize: number;
  intermediateSize: number;
  vocabSize: number;
  promptTokens: number;
  decodeTokens: number;
  /**
   * Opening the file from the weight store (Chromium: IndexedDB, every chunk's hash checked; Node:
   * the file on disk), upload, pipeline creation and one warm-up pass of each path (GEMV and GEMM).
   */
  loadMs: number;
  /** From the first prefill submission to the first sampled token on the CPU. */
  ttftMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  gpuBytes: number;
  /** The largest JS heap seen (after load, prefill and decode), where the runtime reports one. */
  peakJsHeapBytes?: number;
  /** Bytes a decode step reads: every weight it touches, one embedding row, and the KV cache at the mean position. */
  bytesPerToken: number;
  /** Copy bandwidth ÷ bytesPerToken. */
  boundTokensPerSecond: number;
  shareOfBound: number;
  perToken: PerTokenCost;
  /** llama.cpp (node-llama-cpp, CPU) on the same file, added by the Node runner. */
  llamaCpp?: LlamaCppPoint;
  /** wllama (llama.cpp in WebAssembly: its WebGPU backend, then its CPU path) on the same file and prompt, in the same page. */
  wllama?: LlamaCppPoint[];
}

/** What one decoded token costs the host, counted on the device the model runs on. */
export interface PerTokenCost {
  dispatches: number;
  commandBuffers: number;
  submits: number;
  writeBuffers: number;
  /** JS time inside forward(): encoding the token's passes and submitting them. */
  encodeMs: number;
}

export interface LlamaCppPoint {
  backend: string;
  threads?: number;
  /** Tokens it prefilled, where that differs from the case's own prompt (wllama takes text). */
  promptTokens?: number;
  ttftMs?: number;
  prefillTokensPerSecond?: number;
  decodeTokensPerSecond?: number;
  skipped?: string;
}
