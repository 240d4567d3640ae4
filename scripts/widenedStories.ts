// stories260K, a trained model, rewritten exactly at the sizes quantized kernels need: hidden and
// FFN widths of 256, so that every matrix row is whole K-quant super-blocks and llama.cpp's
// quantizer applies each type as asked instead of falling back. Random-weight models test every
// family's layout, but their next-token distributions are flat at the top (a tenth of their
// positions have two logits within 0.2), so any rounding flips choices there; a trained model on
// real text is what users run, and where "the same next-token choices as llama.cpp" is measured.
//
// The rewrite changes no output, only the arithmetic's order and rounding:
// - The residual stream (64 wide) is padded with zeros to 256 and turned by a random orthogonal
//   matrix R, as QuaRot and SliceGPT rotate one: the embedding's rows become R·[e; 0], and every
//   matrix writing to the stream is multiplied by R. RMSNorm is blind to rotation but sees the
//   width: the stream's mean square over 256 is a quarter of the original's over 64, so ε is
//   divided by 4 and the matrices that read a norm's output take the factor 1/2 (and the original
//   gain, folded in: W·diag(w)). The new norms get random gains, divided back out of those
//   matrices, so a kernel that skips a gain still shows.
// - Each head grows from 8 to 32 dimensions. RoPE rotates pair p of a 32-wide head at
//   θ^(−2p/32), so the original pair j goes to pair 4j, at the frequency it had; the other
//   pairs of Q and K are zero, and Q doubles to keep q·k/√head_dim. V's 8 dimensions are padded
//   and turned by a random orthogonal matrix per KV head, which the output projection undoes.
// - The FFN grows from 172 to 256 neurons by splitting 84 of them in two, each half with half
//   the up projection: SiLU(g)·u/2 + SiLU(g)·u/2 = SiLU(g)·u.
// Families: llama (RoPE on adjacent pairs, the converter's layout), qwen2 (RoPE on halves; zero
// Q/K/V biases, which it requires) and phi3 (fused QKV and gate+up).
import { Rng } from '../src/engine/sampling.ts';
import type { GgufTypedValue } from '../src/engine/formats/ggufWriter.ts';
import { modelOf, resolveOptions, unpermuteRows, type ModelTensor, type RandomModel, type RandomModelType } from './randomModel.ts';

export const WIDENED_ARCHITECTURES = ['llama', 'qwen2', 'phi3'] as const;
export type WidenedArchitecture = (typeof WIDENED_ARCHITECTURES)[number];

/** stories260K as its GGUF holds it: F32 tensors by GGUF name, and the hyperparameters they need. */
export interface StoriesWeights {
  tensors: Map<string, Float32Array>;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  rmsNormEps: number;
  vocabSize: number;
}

export interface WidenOptions {
  architecture: WidenedArchitecture;
  type: RandomModelType;
  seed: number;
}

const WIDTH = 256;
/** The new norms' gains are 1 ± GAIN_JITTER. */
const GAIN_JITTER = 0.25;

/** Row-major rows × cols, in float64 until the end. */
interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

function mat(rows: number, cols: number, data = new Float64Array(rows * cols)): Mat {
  return { rows, cols, data };
}

function fromF32(data: Float32Array, rows: number, cols: number): Mat {
  if (data.length !== rows * cols) throw new RangeError(`expected ${rows}×${cols} values, got ${data.length}`);
  return mat(rows, cols, Float64Array.from(data));
}

function multiply(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new RangeError(`${a.rows}×${a.cols} · ${b.rows}×${b.cols}`);
  const out = mat(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++)
    for (let k = 0; k < a.cols; k++) {
      const v = a.data[i * a.cols + k];
      if (v === 0) continue;
      const row = b.data.subarray(k * b.cols, (k + 1) * b.cols);
      const acc = out.data.subarray(i * b.cols, (i + 1) * b.cols);
      for (let j = 0; j < b.cols; j++) acc[j] += v * row[j];
    }
  return out;
}

function transpose(a: Mat): Mat {
  const out = mat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j];
  return out;
}

/** A random orthogonal n × n matrix: Gram–Schmidt (twice, for float64 orthogonality) on Gaussian rows. */
function orthogonal(n: number, rng: Rng): Mat {
  const q = mat(n, n);
  for (let i = 0; i < n * n; i += 2) {
    // Box–Muller: two Gaussians from two uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const t = 2 * Math.PI * rng.next();
    q.data[i] = r * Math.cos(t);
    if (i + 1 < n * n) q.data[i + 1] = r * Math.sin(t);
  }
  for (let i = 0; i < n; i++) {
    const row = q.data.subarray(i * n, (i + 1) * n);
    for (let pass = 0; pass < 2; pass++)
      for (let j = 0; j < i; j++) {
        const prev = q.data.subarray(j * n, (j + 1) * n);
        let dot = 0;
        for (let k = 0; k < n; k++) dot += row[k] * prev[k];
        for (let k = 0; k < n; k++) row[k] -= dot * prev[k];
      }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += row[k] * row[k];
    norm = Math.sqrt(norm);
    for (let k = 0; k < n; k++) row[k] /= norm;
  }
  return q;
}

/** W·diag(scale) (a column per entry). */
function scaleColumns(w: Mat, scale: ArrayLike<number>): Mat {
  const out = mat(w.rows, w.cols);
  for (let i = 0; i < w.rows; i++) for (let j = 0; j < w.cols; j++) out.data[i * w.cols + j] = w.data[i * w.cols + j] * scale[j];
  return out;
}

function stack(...parts: Mat[]): Mat {
  const out = mat(
    parts.reduce((n, p) => n + p.rows, 0),
    parts[0].cols,
  );
  let at = 0;
  for (const p of parts) {
    out.data.set(p.data, at);
    at += p.data.length;
  }
  return out;
}

export function widenedStories(stories: StoriesWeights, tokenizer: Record<string, GgufTypedValue>, options: WidenOptions): RandomModel {
  const { hiddenSize: d, intermediateSize: f, heads, kvHeads, layers, vocabSize: vocab } = stories;
  const hd = d / heads;
  const k = WIDTH / d;
  const HD = hd * k;
  if (!Number.isInteger(k) || !Number.isInteger(hd) || f > WIDTH || 2 * f < WIDTH)
    throw new RangeError(`cannot widen hidden ${d} (heads of ${hd}) and FFN ${f} to ${WIDTH}`);
  const arch = options.architecture;
  const neox = arch !== 'llama';
  const o = resolveOptions({
    architecture: arch,
    type: options.type,
    seed: options.seed,
    hiddenSize: WIDTH,
    intermediateSize: WIDTH,
    layers,
    heads,
    kvHeads,
    headDim: HD,
    contextLength: 512,
    ropeTheta: 10000,
    // Mean squares over k times the width are 1/k of the original's.
    rmsNormEps: stories.rmsNormEps / k,
    tied: false,
    slidingWindow: arch === 'phi3' ? 511 : undefined,
  });
  const rng = new Rng(options.seed);
  const tensor = (name: string) => {
    const t = stories.tensors.get(name);
    if (!t) throw new Error(`stories260K has no ${name}`);
    return t;
  };
  const get = (name: string, rows: number, cols: number) => fromF32(tensor(name), rows, cols);

  const R = orthogonal(WIDTH, rng);
  const Rt = transpose(R);
  const Rd = columnsOf(R, 0, d);
  /** A matrix reading the output of a norm with gain `w`: (1/√k)·[W·diag(w), 0]·Rᵀ·diag(1/w''), and w'' itself. */
  const afterNorm = (w: Mat, gain: Float32Array, newGain: Float32Array): Mat => {
    const folded = scaleColumns(w, Array.from(gain, (g) => g / Math.sqrt(k)));
    return scaleColumns(multiply(folded, rowsOf(Rt, 0, d)), Array.from(newGain, (g) => 1 / g));
  };
  const newGain = () => {
    const g = new Float32Array(WIDTH);
    for (let i = 0; i < WIDTH; i++) g[i] = 1 + (rng.next() * 2 - 1) * GAIN_JITTER;
    return g;
  };

  const tensors: ModelTensor[] = [];
    const add = (name: string, m: Mat | Float32Array, hfData?: Float32Array) => {
    const data = m instanceof Float32Array ? m : Float32Array.from(m.data);
    const shape = m instanceof Float32Array ? [m.length] : [m.rows, m.cols];
    tensors.push({ name, shape, data, hf: { name: hfNameOf(arch, name), shape, data: hfData ?? data } });
  };

  // Embedding rows R·[e; 0]: E' = E·R[:, :d]ᵀ.
  add('token_embd.weight', multiply(get('token_embd.weight', vocab, d), transpose(Rd)));

  /** Q or K rows of one layer, each head's pairs spread to pairs 0, k, 2k, …, in the family's RoPE layout. */
  const spreadHeads = (w: Mat, count: number, scale: number): Mat => {
    const out = mat(count * HD, w.cols);
    for (let h = 0; h < count; h++)
      for (let j = 0; j < hd / 2; j++)
        for (let t = 0; t < 2; t++) {
          const from = h * hd + 2 * j + t;
          const to = h * HD + (neox ? j * k + t * (HD / 2) : 2 * j * k + t);
          for (let c = 0; c < w.cols; c++) out.data[to * w.cols + c] = w.data[from * w.cols + c] * scale;
        }
    return out;
  };

  for (let i = 0; i < layers; i++) {
    const blk = `blk.${i}`;
    const attnGain = newGain();
    add(`${blk}.attn_norm.weight`, attnGain);
    const norm = tensor(`${blk}.attn_norm.weight`);
    // q·k/√HD must equal the original q·k/√hd: Q grows by √k.
    const q = spreadHeads(afterNorm(get(`${blk}.attn_q.weight`, d, d), norm, attnGain), heads, Math.sqrt(k));
    const kk = spreadHeads(afterNorm(get(`${blk}.attn_k.weight`, kvHeads * hd, d), norm, attnGain), kvHeads, 1);
    // V: each KV head's hd rows padded to HD and turned by its own Rv; the output projection's
    // columns for a query head take that head's KV group's Rvᵀ.
    const vIn = afterNorm(get(`${blk}.attn_v.weight`, kvHeads * hd, d), norm, attnGain);
    const rv = Array.from({ length: kvHeads }, () => columnsOf(orthogonal(HD, rng), 0, hd));
    const v = stack(...rv.map((r, g) => multiply(r, rowsOf(vIn, g * hd, hd))));
    const wo = get(`${blk}.attn_output.weight`, d, d);
    const woWide = mat(d, heads * HD);
    for (let h = 0; h < heads; h++) {
      const part = multiply(columnsOf(wo, h * hd, hd), transpose(rv[Math.floor(h / (heads / kvHeads))]));
      for (let r = 0; r < d; r++) woWide.data.set(part.data.subarray(r * HD, (r + 1) * HD), r * heads * HD + h * HD);
    }
    if (arch === 'phi3') add(`${blk}.attn_qkv.weight`, stack(q, kk, v));
    else {
      add(`${blk}.attn_q.weight`, q, arch === 'llama' ? unpermuteRows(Float32Array.from(q.data), heads, WIDTH) : undefined);
      if (arch === 'qwen2') add(`${blk}.attn_q.bias`, new Float32Array(heads * HD));
      add(`${blk}.attn_k.weight`, kk, arch === 'llama' ? unpermuteRows(Float32Array.from(kk.data), kvHeads, WIDTH) : undefined);
      if (arch === 'qwen2') add(`${blk}.attn_k.bias`, new Float32Array(kvHeads * HD));
      add(`${blk}.attn_v.weight`, v);
      if (arch === 'qwen2') add(`${blk}.attn_v.bias`, new Float32Array(kvHeads * HD));
    }
    add(`${blk}.attn_output.weight`, multiply(Rd, woWide));

    const ffnGain = newGain();
    add(`${blk}.ffn_norm.weight`, ffnGain);
    const ffnNorm = tensor(`${blk}.ffn_norm.weight`);
    const gate = afterNorm(get(`${blk}.ffn_gate.weight`, f, d), ffnNorm, ffnGain);
    const up = afterNorm(get(`${blk}.ffn_up.weight`, f, d), ffnNorm, ffnGain);
    const down = get(`${blk}.ffn_down.weight`, d, f);
    // Neurons 0 … split−1 are split in two: the copies follow the originals, up halved in both.
    const split = WIDTH - f;
    for (let e = 0; e < split * up.cols; e++) up.data[e] /= 2;
    const gateWide = stack(gate, rowsOf(gate, 0, split));
    const upWide = stack(up, rowsOf(up, 0, split));
    const downWide = mat(d, WIDTH);
    for (let r = 0; r < d; r++)
      for (let n = 0; n < WIDTH; n++) downWide.data[r * WIDTH + n] = down.data[r * f + (n < f ? n : n - f)];
    if (arch === 'phi3') add(`${blk}.ffn_up.weight`, stack(gateWide, upWide));
    else {
      add(`${blk}.ffn_gate.weight`, gateWide);
      add(`${blk}.ffn_up.weight`, upWide);
    }
    add(`${blk}.ffn_down.weight`, multiply(Rd, downWide));
  }
  const outGain = newGain();
  add('output_norm.weight', outGain);
  add('output.weight', afterNorm(get('output.weight', vocab, d), tensor('output_norm.weight'), outGain));
  return modelOf(o, vocab, tensors, tokenizer);
}

function rowsOf(a: Mat, first: number, count: number): Mat {
  return mat(count, a.cols, a.data.slice(first * a.cols, (first + count) * a.cols));
}

function columnsOf(a: Mat, first: number, count: number): Mat {
  const out = mat(a.rows, count);
  for (let i = 0; i < a.rows; i++) out.data.set(a.data.subarray(i * a.cols + first, i * a.cols + first + count), i * count);
  return out;
}

/** The HF checkpoint's name of each GGUF tensor the rewrite writes (convert_hf_to_gguf.py's map, reversed). */
function hfNameOf(arch: WidenedArchitecture, gguf: string): string {
  const top: Record<string, string> = {
    'token_embd.weight': 'model.embed_tokens.weight',
    'output_norm.weight': 'model.norm.weight',
    'output.weight': 'lm_head.weight',
  };
  if (top[gguf]) return top[gguf];
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(gguf);
  if (!m) throw new Error(`no HF name for ${gguf}`);
  const local: Record<string, string> = {
    attn_norm: 'input_layernorm',
    attn_q: 'self_attn.q_proj',
    attn_k: 'self_attn.k_proj',
    attn_v: 'self_attn.v_proj',
    attn_qkv: 'self_attn.qkv_proj',
    attn_output: 'self_attn.o_proj',
    ffn_norm: 'post_attention_layernorm',
    ffn_gate: 'mlp.gate_proj',
    ffn_up: arch === 'phi3' ? 'mlp.gate_up_proj' : 'mlp.up_proj',
    ffn_down: 'mlp.down_proj',
  };
  return `model.layers.${m[1]}.${local[m[2]]}.${m[3]}`;
}
