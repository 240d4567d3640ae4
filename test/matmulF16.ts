// The reference check of the f16-arithmetic matmuls (src/gpu/kernels/matmulF16.ts), shared by
// their Dawn tests on a shader-f16 device and the selection test every device runs.
import type { Gpu } from '../src/gpu/device.ts';
import { readF32, uploadF32 } from '../src/gpu/buffers.ts';
import type { KernelOp } from '../src/gpu/kernel.ts';
import type { MatmulDyn } from '../src/gpu/kernels/gemm.ts';
import { uploadPackedWeight, type PackedMatmulOptions } from '../src/gpu/kernels/packedWeights.ts';
import type { HalfType } from '../src/gpu/kernels/matmulF16.ts';
import { dequantizeRow, quantizeRow } from '../src/engine/formats/quant.ts';
import { rng, runOp, withGpuErrors } from './gpu.ts';
import { EPS32 } from './matmul.ts';
import { matmulNT } from './reference/linalg.ts';

/** One ulp of f16 at 1: WGSL lets every f16 operation round to either neighbour, so one rounding costs up to this, relative. */
export const ULP16 = 2 ** -10;
/** f16's smallest normal value: a device that flushes subnormals loses up to this on a result below it. */
const MIN_NORMAL16 = 2 ** -14;

/**
 * Values of magnitude 0.25 .. 1 with random signs. Their products (≥ 1/16) stay far above f16's
 * subnormals, so the bound below holds on devices that flush them too, except where a sum
 * cancels (counted separately). Every such value is exact in F16 and BF16 after rounding.
 */
function randomSigned(n: number, random: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => (random() < 0.5 ? -1 : 1) * (0.25 + 0.75 * random()));
}

/** An [N, K] weight in `type`'s bytes and the exact values they hold. */
function makeWeights(type: HalfType, N: number, K: number, random: () => number): { bytes: Uint8Array; w: Float32Array } {
  const bytes = quantizeRow(type, randomSigned(N * K, random));
  return { bytes, w: dequantizeRow(type, bytes, N * K) };
}

/** Neighbouring 16-bit weights swapped: an element-order bug the comparison must see. */
function swapHalves(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i + 3 < out.length; i += 4) out.set([bytes[i + 2], bytes[i + 3], bytes[i], bytes[i + 1]], i);
  return out;
}

export interface F16Case {
  type: HalfType;
  m: number;
  K: number;
  N: number;
  accumulate?: boolean;
  xRowOffset?: number;
  yRowOffset?: number;
  planted?: boolean;
}

export type CreateF16 = (gpu: Gpu, o: PackedMatmulOptions) => KernelOp<MatmulDyn>;

/**
 * Runs one op and compares all of y with a float64 reference over the exact weight values.
 * The bound per output, from f16's precision: a product x_k·w_k meets at most nine f16
 * roundings of up to ULP16 each — x rounded to f16 (w is exact: F16 as stored, BF16's 8-bit
 * mantissa fits f16's), the product, and the seven additions of its eight-product chunk, each
 * relative to a partial sum no larger than the chunk's Σ|x||w|. So |error| ≤ 9·ULP16·Σ_k|x_k||w_k|
 * to first order; 10·ULP16 also covers the second-order terms and the f32 sum of the K/8 chunk
 * sums (2√(K/8)·2^−23, far below). A chunk sum that cancels below f16's normal range may be
 * flushed: seven additions × MIN_NORMAL16 per chunk more. When accumulating, y + dot adds one
 * f32 rounding. Rows of y outside the call must be left bit-identical. With K = 104 the bound
 * is ~0.4, while dropping one chunk moves an output by ~1.2 (rms) and the planted bug by ~5.
 */
export async function runF16Case(gpu: Gpu, create: CreateF16, c: F16Case): Promise<{ label: string; count: number; table: string }> {
  const { type, m, K, N, xRowOffset = 0, yRowOffset = 0 } = c;
  const random = rng(1000 * m + K + N + xRowOffset);
  const { bytes, w } = makeWeights(type, N, K, random);
  const x = randomSigned((xRowOffset + m + 2) * K, random);
  // Garbage in y, so an op that adds instead of writing, or writes the wrong rows, fails.
  const y0 = randomSigned((yRowOffset + m + 2) * N, random).map((v) => v * (c.accumulate ? 1 : 100));
  const xs = x.subarray(xRowOffset * K, (xRowOffset + m) * K);
  const dot = matmulNT(xs, w, m, K, N);
  const abs = matmulNT(xs.map(Math.abs), w.map(Math.abs), m, K, N);
  const flushSlack = (K / 8) * 7 * MIN_NORMAL16;
  const expected = Float64Array.from(y0);
  const bound = new Float64Array(y0.length);
  for (let j = 0; j < m * N; j++) {
    const at = yRowOffset * N + j;
    expected[at] = (c.accumulate ? y0[at] : 0) + dot[j];
    bound[at] = 10 * ULP16 * abs[j] + flushSlack + (c.accumulate ? EPS32 * (Math.abs(y0[at]) + abs[j]) : 0);
  }
  return withGpuErrors(gpu, async () => {
    const wb = uploadPackedWeight(gpu, 'w', type, c.planted ? swapHalves(bytes) : bytes, N, K);
    const [xb, yb] = [uploadF32(gpu, 'x', x), uploadF32(gpu, 'y', y0)];
    const op = create(gpu, { x: xb, w: wb, y: yb, K, N, type, accumulate: c.accumulate });
    runOp(gpu, op, { m, xRowOffset, yRowOffset });
    const actual = await readF32(gpu, yb);
    op.destroy();
    [xb, wb, yb].forEach((b) => b.destroy());
    const bad: string[] = [];
    actual.forEach((a, i) => {
      if (!(Math.abs(a - expected[i]) <= bound[i])) {
        bad.push(`  [row ${Math.floor(i / N)}, col ${i % N}] actual ${a} expected ${expected[i]} bound ${bound[i].toExponential(2)}`);
      }
    });
    return { label: op.label, count: bad.length, table: `${bad.length}/${actual.length} mismatches\n${bad.slice(0, 8).join('\n')}` };
  });
}
