// How close two engines' next-token distributions are, position by position, for the whole-model
// tests against llama.cpp and the float64 reference (reference.dawn.test.ts,
// architectures.dawn.test.ts).
import { expect } from 'vitest';
import { Rng } from '../src/engine/sampling.ts';

/** Bounds on how our next-token distributions may differ from another's. */
export interface Bounds {
  /** Fraction of positions whose most likely token must be the other's. */
  minTop1: number;
  /** Largest total-variation distance allowed at any position. */
  maxTv: number;
  /** Largest mean total variation over the positions. */
  meanTv?: number;
  /**
   * Where our most likely token differs from the other's, the most the other may prefer its own
   * choice to ours, as ln(p(its choice) / p(ours)): a disagreement must be a near-tie.
   */
  nearTie?: number;
}

export interface Agreement {
  top1: number;
  maxTv: number;
  meanTv: number;
  /** The largest ln(p(their choice) / p(our choice)) under their distribution where the choices differ; 0 when they never do. */
  widestMiss: number;
  /** Total variation at each position. */
  tvs: number[];
  summary: string;
}

/** BOS (id 1), then ids drawn from the ordinary tokens past <unk>, <s>, </s> (3..vocab−1). */
export function sequence(seed: number, length: number, vocab: number): number[] {
  const rng = new Rng(seed);
  return [1, ...Array.from({ length: length - 1 }, () => 3 + Math.floor(rng.next() * (vocab - 3)))];
}

/** Sparse [id, probability] lists as dense distributions over the vocabulary. */
export function dense(rows: [number, number][][], vocab: number): Float64Array[] {
  return rows.map((row) => {
    const d = new Float64Array(vocab);
    for (const [id, p] of row) d[id] = p;
    return d;
  });
}

function argmaxOf(p: Float64Array): number {
  let best = 0;
  for (let id = 1; id < p.length; id++) if (p[id] > p[best]) best = id;
  return best;
}

export function agreement(ours: Float64Array[], theirs: Float64Array[]): Agreement {
  const missed: number[] = [];
  let maxTv = 0;
  let worstAt = 0;
  let sumTv = 0;
  let widestMiss = 0;
  const tvs: number[] = [];
  ours.forEach((p, i) => {
    const q = theirs[i];
    let tv = 0;
    for (let id = 0; id < p.length; id++) tv += Math.abs(p[id] - q[id]);
    tv /= 2;
    tvs.push(tv);
    sumTv += tv;
    if (tv > maxTv) [maxTv, worstAt] = [tv, i];
    const [a, b] = [argmaxOf(p), argmaxOf(q)];
    if (a !== b) {
      missed.push(i);
      widestMiss = Math.max(widestMiss, Math.log(q[b] / q[a]));
    }
  });
  const n = ours.length;
  const where = missed.length ? `, top-1 differs at positions ${missed.slice(0, 12).join(' ')}${missed.length > 12 ? ' …' : ''}, widest miss ${widestMiss.toFixed(2)}` : '';
  const summary = `top-1 ${n - missed.length}/${n}, TV ${maxTv.toExponential(2)} at worst (position ${worstAt}), ${(sumTv / n).toExponential(2)} on average${where}`;
  return { top1: (n - missed.length) / n, maxTv, meanTv: sumTv / n, widestMiss, tvs, summary };
}

export function expectWithin(a: Agreement, b: Bounds, against: string): void {
  expect(a.top1, `${against}: ${a.summary}`).toBeGreaterThanOrEqual(b.minTop1);
  expect(a.maxTv, `${against}: ${a.summary}`).toBeLessThanOrEqual(b.maxTv);
  if (b.meanTv !== undefined) expect(a.meanTv, `${against}: ${a.summary}`).toBeLessThanOrEqual(b.meanTv);
  if (b.nearTie !== undefined) expect(a.widestMiss, `${against}: ${a.summary}`).toBeLessThanOrEqual(b.nearTie);
}
