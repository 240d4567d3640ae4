// How many KV cache rows a layer keeps. Pure arithmetic with no GPU imports, so that the UI's
// memory estimate (app/deviceFit.ts) counts exactly what LlamaModel allocates.

/** Tokens one forward pass takes at most unless LlamaOptions.maxBatch says otherwise; longer prompts are fed in chunks. */
export const MAX_BATCH = 64;

/**
 * Rows of a sliding-window layer's K (and V) cache: a ring where position p lives in row p mod R,
 * with R = window + maxBatch − 1, or the plain contextLength rows when those are no more.
 *
 * Why R rows suffice: a chunk of m ≤ maxBatch tokens at pos0 first writes positions
 * pos0 .. pos0+m−1, then its queries read positions from pos0−window+1 (the first query's
 * window start) through pos0+m−1. That span is at most window+m−1 ≤ R consecutive positions,
 * so no two of them share a row. The chunk's writes replace positions pos0−R .. pos0+m−1−R,
 * and pos0+m−1−R < pos0−window+1 because R ≥ window+m−1: every overwritten position is one
 * that no query of this chunk, nor of any later one, reads. Decode is the case m = 1.
 */
export function kvCacheRows(contextLength: number, window: number | undefined, maxBatch = MAX_BATCH): number {
  return window === undefined ? contextLength : Math.min(contextLength, window + maxBatch - 1);
}

/**
 * A ring's row count for attention's `ringRows`, or undefined where the layer keeps the plain
 * cache (not sliding, or a context no longer than the ring).
 */
export function ringRows(contextLength: number, window: number | undefined, maxBatch = MAX_BATCH): number | undefined {
  const rows = kvCacheRows(contextLength, window, maxBatch);
  return rows < contextLength ? rows : undefined;
}

export interface KvShape {
  layers: number;
  /** K and V bytes of one position in every layer, as if each held the whole context. */
  kvBytesPerToken: number;
  /** Layers whose attention is windowed; they keep kvCacheRows rows. */
  slidingLayerCount?: number;
  slidingWindow?: number;
}

/** KV cache bytes at this context, all layers: full layers hold every position, sliding ones their ring. */
export function kvCacheBytes(s: KvShape, contextLength: number): number {
  const sliding = s.slidingWindow === undefined ? 0 : (s.slidingLayerCount ?? 0);
  const perLayerRow = s.layers > 0 ? s.kvBytesPerToken / s.layers : 0;
  return perLayerRow * ((s.layers - sliding) * contextLength + sliding * kvCacheRows(contextLength, s.slidingWindow));
}

/** The largest single K or V buffer at this context: a full layer's, or a ring when every layer slides. */
export function largestKvBuffer(s: KvShape, contextLength: number): number {
  const allSlide = s.slidingWindow !== undefined && s.slidingLayerCount === s.layers;
  const rows = allSlide ? kvCacheRows(contextLength, s.slidingWindow) : contextLength;
  return s.layers > 0 ? (s.kvBytesPerToken / s.layers / 2) * rows : 0;
}
