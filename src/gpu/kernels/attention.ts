import decodeCode from '../../../shaders/attention_decode.wgsl?raw';
import prefillCode from '../../../shaders/attention_prefill.wgsl?raw';
import reduceCode from '../../../shaders/attention_reduce.wgsl?raw';
import { createStorage } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import { bindBuffers, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

// Each mirrors a constant of the same name in the shaders.
const PREFILL_ROWS = 16; // attention_prefill.wgsl: ROWS, flattened query rows per workgroup
const TILE = 64; // attention_decode.wgsl: keys per tile, one per thread
const MAX_HEADS = 8; // attention_decode.wgsl: query heads per workgroup
const ACC_SLOTS = 16; // attention_decode.wgsl: accumulator registers per thread, one per head and TILE dims
/**
 * Register slots per thread bound the head in all three shaders (attention_prefill.wgsl:
 * MAX_VEC4_PER_LANE, attention_decode.wgsl: ACC_SLOTS, attention_reduce.wgsl: MAX_DIM_SLOTS).
 * The shaders derive their slot counts from HEAD_DIM, so each head size is its own pipeline and
 * one of up to 128 dims does no work for the slots a 256-dim head needs. Workgroup memory stays
 * at most 9.25 KiB for every size (the prefill tile holds 128 dims of its 16 keys at a time),
 * inside the 16 KiB WebGPU guarantees.
 */
const MAX_HEAD_DIM = 256;
/**
 * Flash-decoding caps the number of splits so that a long context launches about this many
 * workgroups (twice the SMs of a large GPU) and the reduce pass stays short; a short
 * context gets one split per tile.
 */
const DECODE_TARGET_WORKGROUPS = 256;

export interface AttentionOptions {
  /** [m, nHeads, headDim] */
  q: GPUBuffer;
  /**
   * [maxSeq (or ringRows), nKvHeads, headDim], holding positions 0 .. pos0+m-1 (in a ring,
   * those the queries see) when encoded: f32, or with kvF16 packed f16 (element e of row r in
   * word (r · nKvHeads · headDim + e) / 2, the even element in the low 16 bits), as rope's
   * outF16 and kvStore write it.
   */
  kCache: GPUBuffer;
  vCache: GPUBuffer;
  /** The caches hold packed f16 (half the bytes; needs headDim % 8 == 0); scores, softmax and sums stay f32. */
  kvF16?: boolean;
  /** [m, nHeads, headDim]; must not be `q`. */
  out: GPUBuffer;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  maxSeq: number;
  /** Defaults to 1/sqrt(headDim). */
  scale?: number;
  /** Gemma 2: scores (after `scale`) become softcap · tanh(score / softcap) before the softmax. */
  softcap?: number;
  /** Sliding window: the query at position p sees keys k with p − window < k ≤ p. */
  window?: number;
  /**
   * The caches are a ring of this many rows: key position p is in row p % ringRows, and the
   * buffers need only min(ringRows, maxSeq) rows. It must hold at least the window; a dispatch
   * of m queries reads up to window + m − 1 positions, which must fit it (checked per encode).
   * At or above maxSeq no position wraps, so the op is the plain one.
   */
  ringRows?: number;
}

export interface AttentionDyn {
  /** Number of query tokens. */
  m: number;
  /** Position of query token 0; token i attends to positions 0 ..= pos0+i (or its window of them). */
  pos0: number;
}

/**
 * Query heads per decode workgroup: the largest divisor of the group size up to MAX_HEADS whose
 * accumulators (a slot per head and TILE dims) fit ACC_SLOTS.
 */
function decodeHeads(group: number, headDim: number): number {
  let heads = Math.min(group, MAX_HEADS, Math.floor(ACC_SLOTS / Math.ceil(headDim / TILE)));
  while (group % heads !== 0) heads--;
  return heads;
}

/**
 * Causal grouped-query attention of m query tokens over the KV cache, softmax in f32 with
 * online accumulation. m == 1 runs flash-decoding (the KV range, or the window's part of it,
 * split over several workgroups per head, then a reduce pass); larger m runs the tiled
 * prefill kernel. Keys before a query's window are never read.
 */
export function createAttention(gpu: Gpu, options: AttentionOptions): KernelOp<AttentionDyn> {
  const { q, kCache, vCache, out, nHeads, nKvHeads, headDim, maxSeq } = options;
  const scale = options.scale ?? 1 / Math.sqrt(headDim);
  const { softcap = 0, window = maxSeq, kvF16 = false } = options;
  // The f32 variants keep the keys they had before the f16 ones existed.
  const kvKey = kvF16 ? '_kvf16' : '';
  const ring = options.ringRows !== undefined && options.ringRows < maxSeq ? options.ringRows : 0;
  // Each ring size is its own pipeline (the modulo is by a constant); no ring keeps the plain keys.
  const variantKey = kvKey + (ring > 0 ? `_ring${ring}` : '');
  const label = `attention_h${nHeads}_kv${nKvHeads}_hd${headDim}${variantKey}`;
  if (![nHeads, nKvHeads, headDim, maxSeq].every((n) => Number.isInteger(n) && n > 0) || nHeads % nKvHeads !== 0) {
    throw new RangeError(`${label}: nHeads must be a multiple of nKvHeads, all positive integers`);
  }
  if (options.softcap !== undefined && !(softcap > 0 && Number.isFinite(softcap))) {
    throw new RangeError(`${label}: softcap ${options.softcap} must be positive and finite`);
  }
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`${label}: window ${options.window} must be a positive integer`);
  // No query sees more than maxSeq keys, so a wider window is none; the clamp also keeps it a u32.
  const keysSeen = Math.min(window, maxSeq);
  if (options.ringRows !== undefined && !(Number.isInteger(options.ringRows) && options.ringRows >= keysSeen)) {
    throw new RangeError(`${label}: ringRows ${options.ringRows} must be an integer holding the window of ${keysSeen} keys`);
  }
  // 1/softcap rounded once, so that the prefill and decode kernels cap the same score the same way.
  const capParams = { softcap, invSoftcap: softcap > 0 ? 1 / softcap : 0 };
  if (headDim > MAX_HEAD_DIM || headDim % 4 !== 0) {
    throw new RangeError(`${label}: headDim must be a multiple of 4 up to ${MAX_HEAD_DIM}`);
  }
  // The f16 kernels read a head as vec4u words of 8 dims, so a head must start on one.
  if (kvF16 && headDim % 8 !== 0) throw new RangeError(`${label}: an f16 KV cache needs headDim to be a multiple of 8`);
  const cacheRows = ring > 0 ? ring : maxSeq;
  const cacheBytes = cacheRows * nKvHeads * headDim * (kvF16 ? 2 : 4);
  if (kCache.size < cacheBytes || vCache.size < cacheBytes) {
    throw new RangeError(`${label}: the KV cache buffers are smaller than ${cacheRows} positions`);
  }
  const group = nHeads / nKvHeads;
  const rowBytes = nHeads * headDim * 4;
  const { device } = gpu;

  const KV_F16 = kvF16 ? 1 : 0;
  const ringConstants: Record<string, number> = ring > 0 ? { RING_ROWS: ring } : {};
  const prefill = gpu.pipelines.get({
    key: `attention_prefill_hd${headDim}${variantKey}`,
    code: prefillCode,
    constants: { HEAD_DIM: headDim, KV_F16, ...ringConstants },
  });
  const decodeHeadsPerGroup = decodeHeads(group, headDim);
  const decode = gpu.pipelines.get({
    key: `attention_decode_hd${headDim}_h${decodeHeadsPerGroup}${variantKey}`,
    code: decodeCode,
    constants: { HEAD_DIM: headDim, HEADS: decodeHeadsPerGroup, KV_F16, ...ringConstants },
  });
  const reduce = gpu.pipelines.get({ key: `attention_reduce_hd${headDim}`, code: reduceCode, constants: { HEAD_DIM: headDim } });

  const decodeBlocks = nHeads / decodeHeadsPerGroup;
  const maxSplits = Math.min(Math.ceil(keysSeen / TILE), Math.ceil(DECODE_TARGET_WORKGROUPS / decodeBlocks));
  const partials = createStorage(gpu, `${label}_partials`, maxSplits * nHeads * (headDim + 2) * 4);

  const prefillParams = new Params(
    device,
    { m: 'u32', pos0: 'u32', nHeads: 'u32', nKvHeads: 'u32', scale: 'f32', softcap: 'f32', invSoftcap: 'f32', window: 'u32' },
    `${label}_prefill`,
  );
  const decodeParams = new Params(
    device,
    { pos0: 'u32', nHeads: 'u32', nKvHeads: 'u32', tilesPerSplit: 'u32', scale: 'f32', softcap: 'f32', invSoftcap: 'f32', keyStart: 'u32' },
    `${label}_decode`,
  );
  const reduceParams = new Params(device, { nHeads: 'u32', nSplits: 'u32' }, `${label}_reduce`);

  const bind = (pipeline: GPUComputePipeline, name: string, buffers: GPUBuffer[]) => bindBuffers(device, pipeline, `${label}_${name}`, buffers);
  const prefillBindings = bind(prefill, 'prefill', [prefillParams.buffer, q, kCache, vCache, out]);
  const decodeBindings = bind(decode, 'decode', [decodeParams.buffer, q, kCache, vCache, partials]);
  const reduceBindings = bind(reduce, 'reduce', [reduceParams.buffer, partials, out]);

  return {
    label,
    encode(pass, { m, pos0 }) {
      if (!Number.isInteger(m) || !Number.isInteger(pos0) || m < 1 || pos0 < 0 || pos0 + m > maxSeq) {
        throw new RangeError(`${label}: ${m} queries from position ${pos0} do not fit ${maxSeq} positions`);
      }
      if (m * rowBytes > q.size || m * rowBytes > out.size) {
        throw new RangeError(`${label}: q or out is smaller than ${m} rows`);
      }
      // The first query's window start through the last query: each position must have its own row.
      const span = Math.min(pos0 + m, keysSeen + m - 1);
      if (ring > 0 && span > ring) {
        throw new RangeError(`${label}: ${m} queries from position ${pos0} read ${span} positions, more than the ring's ${ring} rows`);
      }
      if (m === 1) {
        const keyStart = pos0 + 1 - Math.min(keysSeen, pos0 + 1);
        const tiles = Math.ceil((pos0 + 1 - keyStart) / TILE);
        const tilesPerSplit = Math.ceil(tiles / maxSplits);
        const nSplits = Math.ceil(tiles / tilesPerSplit);
        decodeParams.write({ pos0, nHeads, nKvHeads, tilesPerSplit, scale, ...capParams, keyStart });
        pass.setPipeline(decode);
        pass.setBindGroup(0, decodeBindings);
        pass.dispatchWorkgroups(nSplits, decodeBlocks);
        reduceParams.write({ nHeads, nSplits });
        pass.setPipeline(reduce);
        pass.setBindGroup(0, reduceBindings);
        pass.dispatchWorkgroups(nHeads);
      } else {
        prefillParams.write({ m, pos0, nHeads, nKvHeads, scale, ...capParams, window: keysSeen });
        pass.setPipeline(prefill);
        pass.setBindGroup(0, prefillBindings);
        pass.dispatchWorkgroups(Math.ceil((m * group) / PREFILL_ROWS), nKvHeads);
      }
    },
    destroy() {
      prefillParams.destroy();
      decodeParams.destroy();
      reduceParams.destroy();
      partials.destroy();
    },
  };
}
