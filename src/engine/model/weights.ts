import { CorruptFileError, MissingFileError, UnsupportedArchitectureError, UnsupportedDtypeError } from '../../protocol/errors.ts';
import type { Architecture, ModelConfig } from '../config.ts';
import { dtypeBytes, isLoadableDtype } from '../formats/dtype.ts';
import type { ByteSource, TensorInfo } from '../formats/source.ts';

/** The tensors of one checkpoint, under names that depend on neither the file format nor the architecture. */
export interface LlamaTensors {
  embedding: TensorInfo;
  /** Absent when the model ties its output projection to the embedding. */
  output?: TensorInfo;
  outputNorm: TensorInfo;
  /** gpt2's final LayerNorm bias. */
  outputNormBias?: TensorInfo;
  /** gpt2's learned positions, [contextLength, hiddenSize]. */
  positionEmbedding?: TensorInfo;
  /** Llama 3 GGUFs: [ropeDim / 2] divisors of the RoPE frequencies (llama.cpp's rope_freqs). */
  ropeFreqs?: TensorInfo;
  layers: LlamaLayerTensors[];
}

/** One block. Optional members are present exactly when the file has them or the architecture needs them. */
export interface LlamaLayerTensors {
  attnNorm: TensorInfo;
  attnNormBias?: TensorInfo;
  q: TensorInfo;
  k: TensorInfo;
  v: TensorInfo;
  qBias?: TensorInfo;
  kBias?: TensorInfo;
  vBias?: TensorInfo;
  /** [headDim] weights of the per-head RMSNorm of q and k (qwen3, gemma3). */
  qNorm?: TensorInfo;
  kNorm?: TensorInfo;
  o: TensorInfo;
  oBias?: TensorInfo;
  postAttnNorm?: TensorInfo;
  ffnNorm: TensorInfo;
  ffnNormBias?: TensorInfo;
  /** Absent for the ungated FFN of gpt2. */
  gate?: TensorInfo;
  up: TensorInfo;
  upBias?: TensorInfo;
  down: TensorInfo;
  downBias?: TensorInfo;
  postFfnNorm?: TensorInfo;
}

/** Where a format keeps each tensor; a layer part may be missing from a format (or stored fused). */
type LayerPart = keyof LlamaLayerTensors | 'qkv' | 'qkvBias' | 'gateUp' | 'gateBias';

interface Naming {
  embedding: string;
  output: string;
  outputNorm: string;
  outputNormBias?: string;
  outputBias?: string;
  positionEmbedding?: string;
  ropeFreqs?: string;
  layer: (i: number, part: LayerPart) => string | undefined;
  /** Parts stored [in, out] (GPT-2's Conv1D), read through a transposing view. */
  transposed?: ReadonlySet<LayerPart>;
}

// llama.cpp's tensor names (llama-arch.cpp), the same for every architecture.
const GGUF_LAYER: Partial<Record<LayerPart, string>> = {
  attnNorm: 'attn_norm.weight',
  attnNormBias: 'attn_norm.bias',
  q: 'attn_q.weight',
  k: 'attn_k.weight',
  v: 'attn_v.weight',
  qBias: 'attn_q.bias',
  kBias: 'attn_k.bias',
  vBias: 'attn_v.bias',
  qkv: 'attn_qkv.weight',
  qkvBias: 'attn_qkv.bias',
  qNorm: 'attn_q_norm.weight',
  kNorm: 'attn_k_norm.weight',
  o: 'attn_output.weight',
  oBias: 'attn_output.bias',
  postAttnNorm: 'post_attention_norm.weight',
  ffnNorm: 'ffn_norm.weight',
  ffnNormBias: 'ffn_norm.bias',
  gate: 'ffn_gate.weight',
  gateBias: 'ffn_gate.bias',
  up: 'ffn_up.weight',
  upBias: 'ffn_up.bias',
  down: 'ffn_down.weight',
  downBias: 'ffn_down.bias',
  postFfnNorm: 'post_ffw_norm.weight',
};

function ggufNaming(architecture: Architecture): Naming {
  return {
    embedding: 'token_embd.weight',
    output: 'output.weight',
    outputNorm: 'output_norm.weight',
    outputNormBias: 'output_norm.bias',
    outputBias: 'output.bias',
    positionEmbedding: 'position_embd.weight',
    // Only llama.cpp's llama loader reads rope_freqs; the others ignore it.
    ropeFreqs: architecture === 'llama' ? 'rope_freqs.weight' : undefined,
    layer: (i, part) => {
      const name = GGUF_LAYER[part];
      return name && `blk.${i}.${name}`;
    },
  };
}

// transformers' module names. Phi-3 fuses qkv_proj and gate_up_proj. Gemma norms the attention
// output with post_attention_layernorm and the FFN input with pre_feedforward_layernorm, where
// the others use post_attention_layernorm for the FFN input.
const HF_LAYER: Partial<Record<LayerPart, string>> = {
  attnNorm: 'input_layernorm.weight',
  q: 'self_attn.q_proj.weight',
  k: 'self_attn.k_proj.weight',
  v: 'self_attn.v_proj.weight',
  qBias: 'self_attn.q_proj.bias',
  kBias: 'self_attn.k_proj.bias',
  vBias: 'self_attn.v_proj.bias',
  qkv: 'self_attn.qkv_proj.weight',
  qkvBias: 'self_attn.qkv_proj.bias',
  qNorm: 'self_attn.q_norm.weight',
  kNorm: 'self_attn.k_norm.weight',
  o: 'self_attn.o_proj.weight',
  oBias: 'self_attn.o_proj.bias',
  ffnNorm: 'post_attention_layernorm.weight',
  gate: 'mlp.gate_proj.weight',
  gateBias: 'mlp.gate_proj.bias',
  gateUp: 'mlp.gate_up_proj.weight',
  up: 'mlp.up_proj.weight',
  upBias: 'mlp.up_proj.bias',
  down: 'mlp.down_proj.weight',
  downBias: 'mlp.down_proj.bias',
};
const HF_GEMMA_LAYER: Partial<Record<LayerPart, string>> = {
  ...HF_LAYER,
  postAttnNorm: 'post_attention_layernorm.weight',
  ffnNorm: 'pre_feedforward_layernorm.weight',
  postFfnNorm: 'post_feedforward_layernorm.weight',
};

// transformers' GPT2LMHeadModel; openai-community/gpt2 has no "transformer." prefix, checkpoints saved since have it.
const HF_GPT2_LAYER: Partial<Record<LayerPart, string>> = {
  attnNorm: 'ln_1.weight',
  attnNormBias: 'ln_1.bias',
  qkv: 'attn.c_attn.weight',
  qkvBias: 'attn.c_attn.bias',
  o: 'attn.c_proj.weight',
  oBias: 'attn.c_proj.bias',
  ffnNorm: 'ln_2.weight',
  ffnNormBias: 'ln_2.bias',
  up: 'mlp.c_fc.weight',
  upBias: 'mlp.c_fc.bias',
  down: 'mlp.c_proj.weight',
  downBias: 'mlp.c_proj.bias',
};

function hfGpt2Naming(prefix: string): Naming {
  return {
    embedding: `${prefix}wte.weight`,
    output: 'lm_head.weight',
    outputNorm: `${prefix}ln_f.weight`,
    outputNormBias: `${prefix}ln_f.bias`,
    positionEmbedding: `${prefix}wpe.weight`,
    layer: (i, part) => {
      const name = HF_GPT2_LAYER[part];
      return name && `${prefix}h.${i}.${name}`;
    },
    transposed: new Set(['qkv', 'o', 'up', 'down']),
  };
}

/**
 * Where the decoder's tensors live: under model., or, in a multimodal Gemma 3 checkpoint, under
 * language_model.model. (as released) or model.language_model. (as transformers 4.52+ saves it).
 */
const HF_DECODER_PREFIXES = ['language_model.model.', 'model.language_model.'];

function hfNaming(architecture: Architecture, tensors: Map<string, TensorInfo>): Naming {
  if (architecture === 'gpt2') return hfGpt2Naming(tensors.has('transformer.wte.weight') ? 'transformer.' : '');
  const layer = architecture === 'gemma2' || architecture === 'gemma3' ? HF_GEMMA_LAYER : HF_LAYER;
  const prefix = HF_DECODER_PREFIXES.find((p) => tensors.has(`${p}embed_tokens.weight`)) ?? 'model.';
  return {
    embedding: `${prefix}embed_tokens.weight`,
    output: prefix === 'language_model.model.' ? 'language_model.lm_head.weight' : 'lm_head.weight',
    outputNorm: `${prefix}norm.weight`,
    outputBias: 'lm_head.bias',
    layer: (i, part) => {
      const name = layer[part];
      return name && `${prefix}layers.${i}.${name}`;
    },
  };
}

/**
 * A view of rows [first, first + count) of a tensor stored with others in one (phi3's qkv and
 * gate_up, gpt2's qkv): the same source, moved along by whole rows. Every GGUF type stores each
 * row as whole blocks, so a row range is a byte range.
 */
function rowSlice(t: TensorInfo, part: string, first: number, count: number): TensorInfo {
  const rows = t.shape[0];
  const rowBytes = t.byteLength / rows;
  if (!Number.isInteger(rowBytes)) throw new CorruptFileError(`${t.source.name}: tensor '${t.name}': ${t.byteLength} bytes are not ${rows} whole rows`);
  if (first < 0 || count < 1 || first + count > rows) throw new RangeError(`rows ${first}..${first + count} lie outside the ${rows} of '${t.name}'`);
  return { ...t, name: `${t.name}[${part}]`, shape: [count, ...t.shape.slice(1)], offset: t.offset + first * rowBytes, byteLength: count * rowBytes };
}

/**
 * A matrix stored [in, out] (GPT-2's Conv1D) as the [out, in] every kernel reads: a source of its
 * own whose bytes are the transpose, made from the whole matrix on the first read. It is let go
 * once every byte has been read (an upload reads each once), so it is not held for the model's life.
 */
function transposed(t: TensorInfo): TensorInfo {
  const [rows, cols] = t.shape;
  if (!isLoadableDtype(t.dtype) || t.shape.length !== 2)
    throw new UnsupportedDtypeError(`${t.source.name}: tensor '${t.name}' is ${t.dtype}[${t.shape.join(', ')}]; Pocket Hub transposes F32, F16 or BF16 matrices only.`);
  const size = dtypeBytes[t.dtype];
  if (t.byteLength !== rows * cols * size) throw new CorruptFileError(`${t.source.name}: tensor '${t.name}': ${t.byteLength} bytes do not hold ${t.dtype}[${t.shape.join(', ')}]`);
  let whole: Promise<Uint8Array> | undefined;
  let served = 0;
  const transpose = async (): Promise<Uint8Array> => {
    // A copy, so that the element view is aligned whatever the file offset.
    const bytes = (await t.source.read(t.offset, t.byteLength)).slice();
    const Elements = size === 4 ? Uint32Array : Uint16Array;
    const from = new Elements(bytes.buffer);
    const to = new Elements(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) to[c * rows + r] = from[r * cols + c];
    return new Uint8Array(to.buffer);
  };
  const source: ByteSource = {
    name: t.source.name,
    size: t.byteLength,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > t.byteLength) throw new RangeError(`invalid read of ${length} bytes at ${offset} of '${t.name}'`);
      whole ??= transpose();
      const bytes = (await whole).slice(offset, offset + length);
      served += length;
      if (served >= t.byteLength) {
        whole = undefined;
        served = 0;
      }
      return bytes;
    },
  };
  return { ...t, name: `${t.name}[transposed]`, shape: [cols, rows], source, offset: 0 };
}

/** Splits a fused tensor into the parts of the given row counts, checking they add up to its rows. */
function split(t: TensorInfo, parts: [string, number][]): TensorInfo[] {
  const total = parts.reduce((sum, [, rows]) => sum + rows, 0);
  if (t.shape[0] !== total)
    throw new CorruptFileError(
      `${t.source.name}: tensor '${t.name}' has ${t.shape[0]} rows, but the config implies ${parts.map(([p, rows]) => `${rows} (${p})`).join(' + ')}`,
    );
  let first = 0;
  return parts.map(([part, rows]) => {
    const view = rowSlice(t, part, first, rows);
    first += rows;
    return view;
  });
}

/**
 * Finds every tensor the forward pass of `config`'s architecture needs, and says which one is
 * missing if any. Tensors llama.cpp treats as optional (attention and FFN biases, a fused or a
 * separate q/k/v) are taken when present; fused ones come back as row views.
 */
export function llamaTensors(format: 'gguf' | 'safetensors', tensors: TensorInfo[], config: ModelConfig): LlamaTensors {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const naming = format === 'gguf' ? ggufNaming(config.architecture) : hfNaming(config.architecture, byName);
  const get = (name: string | undefined): TensorInfo | undefined => (name === undefined ? undefined : byName.get(name));
  const need = (name: string | undefined, what: string): TensorInfo => {
    const t = get(name);
    if (!t)
      throw new MissingFileError(
        name ? `The checkpoint has no tensor "${name}".` : `The checkpoint has no ${what}, which its ${config.architecture} config needs.`,
        'The weights file is incomplete or belongs to another architecture.',
      );
    return t;
  };
  const refuse = (name: string | undefined, what: string) => {
    const t = get(name);
    if (t) throw new UnsupportedArchitectureError(`${t.source.name}: tensor '${t.name}' (${what}) is not supported.`);
  };
  const c = config;
  const qDim = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  const layerNorm = c.norm === 'layer';
  refuse(naming.outputBias, 'an output projection bias');

  const layers = Array.from({ length: c.layers }, (_, i): LlamaLayerTensors => {
    const name = (part: LayerPart) => naming.layer(i, part);
    const oriented = (part: LayerPart, t: TensorInfo) => (naming.transposed?.has(part) ? transposed(t) : t);
    const optional = (part: LayerPart) => {
      const t = get(name(part));
      return t && oriented(part, t);
    };
    const required = (part: LayerPart, what: string) => oriented(part, need(name(part), what));
    refuse(name('gateBias'), 'an FFN gate bias');

    const qkv = optional('qkv');
    const attnParts: [string, number][] = [['q', qDim], ['k', kvDim], ['v', kvDim]];
    const [q, k, v] = qkv ? split(qkv, attnParts) : [required('q', 'query projection'), required('k', 'key projection'), required('v', 'value projection')];
    const qkvBias = optional('qkvBias');
    const [qBias, kBias, vBias] = qkvBias ? split(qkvBias, attnParts) : [optional('qBias'), optional('kBias'), optional('vBias')];

    // Phi-3 stores [gate; up] as one matrix: llama.cpp's ffn_up of 2·F rows, transformers' gate_up_proj.
    const fusedUp = c.gatedFfn ? (optional('gateUp') ?? (optional('gate') ? undefined : optional('up'))) : undefined;
    const [gate, up] = fusedUp
      ? split(fusedUp, [['gate', c.intermediateSize], ['up', c.intermediateSize]])
      : [c.gatedFfn ? required('gate', 'FFN gate projection') : undefined, required('up', 'FFN up projection')];

    return defined({
      attnNorm: required('attnNorm', 'attention norm'),
      attnNormBias: layerNorm ? required('attnNormBias', 'attention norm bias') : undefined,
      q,
      k,
      v,
      qBias,
      kBias,
      vBias,
      qNorm: c.qkNorm ? required('qNorm', 'query head norm') : undefined,
      kNorm: c.qkNorm ? required('kNorm', 'key head norm') : undefined,
      o: required('o', 'attention output projection'),
      oBias: optional('oBias'),
      postAttnNorm: c.postNorms ? required('postAttnNorm', 'attention output norm') : undefined,
      ffnNorm: required('ffnNorm', 'FFN norm'),
      ffnNormBias: layerNorm ? required('ffnNormBias', 'FFN norm bias') : undefined,
      gate,
      up,
      upBias: optional('upBias'),
      down: required('down', 'FFN down projection'),
      downBias: optional('downBias'),
      postFfnNorm: c.postNorms ? required('postFfnNorm', 'FFN output norm') : undefined,
    });
  });

  return defined({
    embedding: need(naming.embedding, 'token embedding'),
    // A tied model's own lm_head copy (some checkpoints keep one) is not uploaded twice.
    output: c.tieEmbeddings ? undefined : get(naming.output),
    outputNorm: need(naming.outputNorm, 'output norm'),
    outputNormBias: layerNorm ? need(naming.outputNormBias, 'output norm bias') : undefined,
    positionEmbedding: c.positions === 'learned' ? need(naming.positionEmbedding, 'position embedding') : undefined,
    ropeFreqs: get(naming.ropeFreqs),
    layers,
  });
}

/** Leaves out the members that are undefined, so Object.values lists only real tensors. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
