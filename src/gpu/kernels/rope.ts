import f16Bits from '../../../shaders/f16_bits.wgsl?raw';
import kernelSource from '../../../shaders/rope.wgsl?raw';
import { uploadF32 } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import { dispatch1d, type KernelOp } from '../kernel.ts';
import { Params } from '../params.ts';

// WGSL has no includes: the kernel calls the shared f16 rounding, prepended here.
const code = f16Bits + kernelSource;

const WORKGROUP = 64; // matches WORKGROUP in rope.wgsl

export interface RopeOptions {
  /** [m, nHeads, headDim] */
  x: GPUBuffer;
  /**
   * [rows, nHeads * headDim]; may be `x` itself (then outRowOffset must stay 0). With outF16,
   * a packed-f16 KV cache: element e of row r in word (r · nHeads · headDim + e) / 2, the even
   * element in the low 16 bits, rounded to nearest f16, ties to even.
   */
  out: GPUBuffer;
  /** Write `out` as packed f16 (the K cache) rather than f32; not with an in-place rope. */
  outF16?: boolean;
  /**
   * With outF16: also round V's rows `x` ([m, nHeads * headDim] f32, as wide as K's) into the
   * packed-f16 V cache `cache`, at the rows K goes to, in the same dispatch (as kvStore would).
   */
  packV?: { x: GPUBuffer; cache: GPUBuffer };
  /**
   * `out` (and packV's cache) is a ring of this many rows, a sliding-window layer's KV cache:
   * output row r goes to row r % ringRows, so a block of rows may wrap around. Not in place.
   */
  ringRows?: number;
  /**
   * Also rotate Q ([m, nHeads, headDim] f32, a buffer of its own) in place, in the same dispatch:
   * with the same positions, base, factors and mode, as an in-place rope of it would, bit for bit.
   * Not with an in-place rope.
   */
  q?: { buffer: GPUBuffer; nHeads: number };
  nHeads: number;
  headDim: number;
  /** Rotate only the first ropeDim dims of each head and copy the rest; defaults to headDim. */
  ropeDim?: number;
  theta: number;
  /** 'adjacent': pairs (2j, 2j+1), GGUF and llama2.c. 'halves': pairs (j, j + ropeDim/2), HF checkpoints. */
  mode: 'adjacent' | 'halves';
  /**
   * [ropeDim/2] divisors of each pair's frequency, llama.cpp's `rope_freqs` semantics: pair j
   * turns by position · invFreq[j] / freqFactors[j] (Llama 3's long-context scaling).
   */
  freqFactors?: ArrayLike<number>;
}

export interface RopeDyn {
  m: number;
  /** Position of token 0. */
  pos0: number;
  /** Row of `out` that token 0 goes to (the KV cache write position); defaults to 0. */
  outRowOffset?: number;
}

const layout = { m: 'u32', pos0: 'u32', outRowOffset: 'u32', nHeads: 'u32', headDim: 'u32', ropeDim: 'u32', ringRows: 'u32', qHeads: 'u32' } as const;

export function createRope(gpu: Gpu, options: RopeOptions): KernelOp<RopeDyn> {
  const { x, out, nHeads, headDim, theta, mode } = options;
  const ropeDim = options.ropeDim ?? headDim;
  if (headDim % 2 !== 0 || ropeDim % 2 !== 0 || ropeDim <= 0 || ropeDim > headDim) {
    throw new RangeError(`rope: headDim ${headDim} and ropeDim ${ropeDim} must be even with 0 < ropeDim <= headDim`);
  }
  const { freqFactors } = options;
  if (freqFactors && (freqFactors.length !== ropeDim / 2 || !Array.from(freqFactors).every((f) => Number.isFinite(f) && f > 0))) {
    throw new RangeError(`rope: freqFactors needs ${ropeDim / 2} positive finite factors, got ${freqFactors.length}`);
  }
  const inPlace = x === out;
  const outF16 = options.outF16 ?? false;
  if (inPlace && outF16) throw new RangeError(`rope: an f16 output cannot be the f32 input`);
  const { packV } = options;
  if (packV && !outF16) throw new RangeError(`rope: packing V needs the f16 output (outF16)`);
  // Binding a buffer that is written twice in one bind group is a validation error.
  if (packV && [x, out, packV.x].includes(packV.cache)) throw new RangeError(`rope: the V cache must be a buffer of its own`);
  const { ringRows = 0 } = options;
  if (options.ringRows !== undefined && (inPlace || !Number.isInteger(ringRows) || ringRows < 1)) {
    throw new RangeError(`rope: ringRows ${options.ringRows} must be a positive integer, and the output not the input`);
  }
  const { q } = options;
  if (q && inPlace) throw new RangeError(`rope: a fused Q needs an out-of-place K`);
  if (q && (!Number.isInteger(q.nHeads) || q.nHeads < 1)) throw new RangeError(`rope: a fused Q needs a positive whole number of heads, got ${q.nHeads}`);
  if (q && [x, out, packV?.x, packV?.cache].includes(q.buffer)) throw new RangeError(`rope: Q must be a buffer of its own`);
  const kVariant = packV ? 'f16_v' : outF16 ? 'f16' : 'copy';
  const variant = inPlace ? 'inplace' : q ? `qk_${kVariant}` : kVariant;
  const label = `rope_${mode}_${variant}`;
  const pipeline = gpu.pipelines.get({
    key: label,
    code,
    entryPoint: variant === 'copy' ? 'main' : `main_${variant}`,
    constants: { HALVES: mode === 'halves' ? 1 : 0 },
  });

  // Exactly llama2.c's f32 arithmetic: 1.0f / powf(theta, 2j / (float)ropeDim), then divided
  // by the pair's factor in f32; dividing by 1 is exact, so no factors gives llama2.c's values.
  const invFreq = new Float32Array(ropeDim / 2);
  for (let j = 0; j < invFreq.length; j++) {
    invFreq[j] = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * j) / ropeDim)))) / (freqFactors?.[j] ?? 1);
  }
  const invFreqBuffer = uploadF32(gpu, `${label}_inv_freq`, invFreq);

  const params = new Params(gpu.device, layout, `${label}_params`);
  const entries: GPUBindGroupEntry[] = [
    { binding: 0, resource: { buffer: params.buffer } },
    { binding: 1, resource: { buffer: invFreqBuffer } },
  ];
  // What is rotated in place (Q: the in-place op's buffer, or the fused op's) has a binding of its own.
  const qBuffer = inPlace ? x : q?.buffer;
  if (qBuffer) entries.push({ binding: 7, resource: { buffer: qBuffer } });
  if (!inPlace) entries.push({ binding: 2, resource: { buffer: x } }, { binding: outF16 ? 4 : 3, resource: { buffer: out } });
  if (packV) entries.push({ binding: 5, resource: { buffer: packV.x } }, { binding: 6, resource: { buffer: packV.cache } });
  const bindGroup = gpu.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
  const rowBytes = nHeads * headDim * 4;
  const outRowBytes = nHeads * headDim * (outF16 ? 2 : 4);
  // The in-place buffer's heads go to Q's side of the grid, and there is no K.
  const qHeads = inPlace ? nHeads : (q?.nHeads ?? 0);
  const kHeads = inPlace ? 0 : nHeads;

  return {
    label,
    encode(pass, { m, pos0, outRowOffset = 0 }) {
      if (inPlace && outRowOffset !== 0) {
        throw new RangeError(`${label}: an in-place rope cannot move rows (outRowOffset ${outRowOffset})`);
      }
      // A ring's rows must all exist, and a block no longer than it writes each row once.
      const outRows = ringRows > 0 ? (m <= ringRows ? ringRows : Infinity) : outRowOffset + m;
      const fits = (input: GPUBuffer, output: GPUBuffer) => m * rowBytes <= input.size && outRows * outRowBytes <= output.size;
      if (!fits(x, out) || (packV && !fits(packV.x, packV.cache)) || (q && m * q.nHeads * headDim * 4 > q.buffer.size)) {
        throw new RangeError(`${label}: ${m} rows at row ${outRowOffset} do not fit the bound buffers`);
      }
      // In a ring only the row's place in it matters, which also keeps the shader's indices small.
      params.write({ m, pos0, outRowOffset: ringRows > 0 ? outRowOffset % ringRows : outRowOffset, nHeads: kHeads, headDim, ropeDim, ringRows, qHeads });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      // One invocation per pair of Q, then one per pair (f32) or word (f16) of K, both headDim / 2 a head.
      dispatch1d(pass, Math.ceil((m * (qHeads + kHeads) * headDim) / 2 / WORKGROUP));
    },
    destroy() {
      params.destroy();
      invFreqBuffer.destroy();
    },
  };
}
