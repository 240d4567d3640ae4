// A model's shape, size and whether the engine runs it, read from config.json and the weight
// files' headers with range requests: the model page shows what a download would cost and
// whether it fits this device before a byte of weights is fetched. No DOM.
import type { ModelConfig } from '../engine/config.ts';
import { configFromGguf } from '../engine/configGguf.ts';
import { configFromHf } from '../engine/configHf.ts';
import { elementCount } from '../engine/formats/dtype.ts';
import { readGguf, type GgufValue } from '../engine/formats/gguf.ts';
import { readSafetensors, readShardedSafetensors } from '../engine/formats/safetensors.ts';
import type { ByteSource, TensorInfo } from '../engine/formats/source.ts';
import { gpuWeightBytes, weightStorage } from '../engine/model/gpuWeights.ts';
import { llamaTensors } from '../engine/model/weights.ts';
import { kvBytesPerValue, kvCacheType } from '../engine/model/llama.ts';
import { vocabRowBytes } from '../engine/model/vocabMatrix.ts';
import { pickChatTemplate } from '../engine/tokenizer/chatTemplate.ts';
import { ggufTokenizerFiles } from '../engine/tokenizer/fromGguf.ts';
import { CorruptFileError, InvalidArgumentError, PocketHubError } from '../protocol/errors.ts';
import type { ModelFacts, ModelFactsRequest } from '../protocol/index.ts';
import { isObject, withoutUndefined } from './browse.ts';
import type { HubClient, HubFile, ResolvedRepo } from './client.ts';
import { chooseFiles, ggufQuant, listGgufChoices } from './files.ts';

const SHARD_INDEX = 'model.safetensors.index.json';
// The first read of a weight file fetches at least this much, so a safetensors header (an
// 8-byte length, then the JSON) arrives in one request rather than two; a 7B checkpoint's
// header is about 30 KiB. Each range request to the Hub costs a redirect to its CDN as well.
const READ_AHEAD = 64 * 1024;

/**
 * A file at the pinned commit whose reads are range requests. The first read from byte 0
 * fetches READ_AHEAD bytes and later reads inside them are answered from memory.
 */
function rangeSource(client: HubClient, resolved: ResolvedRepo, file: HubFile, signal?: AbortSignal): ByteSource {
  let head: Uint8Array | undefined;
  return {
    name: file.path,
    size: file.size,
    async read(offset, length) {
      if (offset + length > file.size) {
        throw new CorruptFileError(`${file.path}: truncated: needed bytes ${offset}..${offset + length} but the file has ${file.size} bytes`);
      }
      if (head && offset + length <= head.length) return head.subarray(offset, offset + length);
      if (!head && offset === 0) {
        head = await client.fetchRange(resolved, file.path, 0, Math.min(file.size, Math.max(length, READ_AHEAD)), signal);
        return head.subarray(0, length);
      }
      return client.fetchRange(resolved, file.path, offset, length, signal);
    },
  };
}

async function fetchJson(client: HubClient, resolved: ResolvedRepo, path: string, signal?: AbortSignal): Promise<unknown> {
  const text = await (await client.fetchFile(resolved, path, { signal })).text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CorruptFileError(`${resolved.repo}/${path} is not valid JSON: ${(err as Error).message}`);
  }
}


/**
 * KV cache bytes per position, all layers: one K and one V row of kvHeads × headDim per layer
 * (LlamaModel's k_cache/v_cache, f16 by default). Sliding-window layers hold fewer positions than
 * the context: slidingCache.ts's kvCacheBytes counts them.
 */
export function kvBytesPerToken(layers: number, kvHeads: number, headDim: number): number {
  return 2 * layers * kvHeads * headDim * kvBytesPerValue(kvCacheType(headDim));
}

/** The shape numbers a page shows; read leniently for architectures the engine does not run. */
interface Shape {
  layers: number;
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  contextLength: number;
  vocabSize: number;
}

function shapeOf(c: ModelConfig): Shape {
  const { layers, hiddenSize, intermediateSize, heads, kvHeads, headDim, contextLength, vocabSize } = c;
  return { layers, hiddenSize, intermediateSize, heads, kvHeads, headDim, contextLength, vocabSize };
}

/** The largest value of a number, or of a per-layer list of numbers (some GGUF architectures vary heads by layer); 0 when absent. */
function largest(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (Array.isArray(v)) return v.reduce<number>((m, x) => Math.max(m, largest(x)), 0);
  return 0;
}

type ShapeField = 'hidden' | 'heads' | 'headDim' | 'layers' | 'intermediate' | 'kvHeads' | 'context' | 'vocab';

// Where architectures the engine does not run keep each number: config.json names across
// transformers' model families, and the GGUF `{arch}.` keys (the vocabulary is counted instead).
const HF_KEYS: Record<ShapeField, string[]> = {
  hidden: ['hidden_size', 'n_embd', 'd_model'],
  heads: ['num_attention_heads', 'n_head'],
  headDim: ['head_dim'],
  layers: ['num_hidden_layers', 'n_layer', 'num_layers'],
  intermediate: ['intermediate_size', 'n_inner', 'ffn_dim'],
  kvHeads: ['num_key_value_heads'],
  context: ['max_position_embeddings', 'n_positions', 'max_sequence_length'],
  vocab: ['vocab_size'],
};
const GGUF_KEYS: Record<ShapeField, string | undefined> = {
  hidden: 'embedding_length',
  heads: 'attention.head_count',
  headDim: 'attention.key_length',
  layers: 'block_count',
  intermediate: 'feed_forward_length',
  kvHeads: 'attention.head_count_kv',
  context: 'context_length',
  vocab: undefined,
};

/** Whatever numbers the file has, 0 for those it lacks, with Llama's defaults for head size and KV heads. */
function lenientShape(read: (field: ShapeField) => number, vocab: number): Shape {
  const hiddenSize = read('hidden');
  const heads = read('heads');
  return {
    layers: read('layers'),
    hiddenSize,
    intermediateSize: read('intermediate'),
    heads,
    kvHeads: read('kvHeads') || heads,
    headDim: read('headDim') || (heads ? Math.floor(hiddenSize / heads) : 0),
    contextLength: read('context'),
    vocabSize: read('vocab') || vocab,
  };
}

function hfShape(json: Record<string, unknown>): Shape {
  // Multimodal checkpoints keep the language model's numbers under text_config.
  const c = isObject(json.text_config) ? { ...json, ...json.text_config } : json;
  return lenientShape((field) => HF_KEYS[field].map((k) => largest(c[k])).find((v) => v > 0) ?? 0, 0);
}

function ggufShape(metadata: Record<string, GgufValue>, tensors: TensorInfo[]): Shape {
  const arch = String(metadata['general.architecture'] ?? '');
  const tokens = metadata['tokenizer.ggml.tokens'];
  const vocab = Array.isArray(tokens) ? tokens.length : (tensors.find((t) => t.name === 'token_embd.weight')?.shape[0] ?? 0);
  return lenientShape((field) => {
    const key = GGUF_KEYS[field];
    return key ? largest(metadata[`${arch}.${key}`]) : 0;
  }, vocab);
}

/** The tensor type most of the weights have, by element count. */
function dominantDtype(tensors: TensorInfo[]): string {
  const counts = new Map<string, number>();
  for (const t of tensors) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + elementCount(t.shape));
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'unknown';
}

/** What a failed check says; errors other than "this model cannot run here" still propagate. */
function reasonOf(err: unknown): string {
  const refusals = ['UnsupportedArchitectureError', 'UnsupportedDtypeError', 'CorruptFileError', 'MissingFileError', 'MissingTokenizerError'];
  if (err instanceof PocketHubError && refusals.includes(err.name)) return err.message;
  throw err;
}

interface Opened {
  format: 'gguf' | 'safetensors';
  architecture: string;
  /** The strict engine config, or why the engine refuses the file. */
  config: ModelConfig | { refused: string };
  lenient: Shape;
  tensors: TensorInfo[];
  tokenizerProblem?: string;
  hasChatTemplate: boolean;
}

/**
 * The checks `openModel` (engine/open.ts) and `LlamaModel.create` make before the weights are
 * read, applied to the headers: the first that fails says why the model does not run. Also
 * the tensors the engine would upload (every tensor when it would not get that far).
 */
function check(o: Opened): { unsupported?: string; uploaded: TensorInfo[]; vocab: Set<TensorInfo> } {
  if ('refused' in o.config) return { unsupported: o.config.refused, uploaded: o.tensors, vocab: new Set() };
  let uploaded: TensorInfo[];
  let positions: TensorInfo | undefined;
  let vocab: Set<TensorInfo>;
  try {
    const t = llamaTensors(o.format, o.tensors, o.config);
    positions = t.positionEmbedding;
    vocab = new Set([t.embedding, ...(t.output ? [t.output] : [])]);
    uploaded = [t.embedding, t.outputNorm, t.output, t.outputNormBias, positions, ...t.layers.flatMap((l) => Object.values(l))].filter(
      (x): x is TensorInfo => x !== undefined,
    );
  } catch (err) {
    return { unsupported: reasonOf(err), uploaded: o.tensors, vocab: new Set() };
  }
  let unsupported = o.tokenizerProblem;
  if (unsupported === undefined) {
    try {
      // The engine widens gpt2's position table to f32 whatever its type.
      for (const t of uploaded) if (t !== positions) weightStorage(t);
    } catch (err) {
      unsupported = reasonOf(err);
    }
  }
  return { unsupported, uploaded, vocab };
}

async function openGguf(source: ByteSource): Promise<Opened> {
  const gguf = await readGguf(source, 64 * 1024);
  const meta = gguf.metadata;
  let config: Opened['config'];
  try {
    config = configFromGguf(gguf);
  } catch (err) {
    config = { refused: reasonOf(err) };
  }
  let tokenizerProblem: string | undefined;
  try {
    ggufTokenizerFiles(meta);
  } catch (err) {
    tokenizerProblem = reasonOf(err);
  }
  return {
    format: 'gguf',
    architecture: String(meta['general.architecture'] ?? 'unknown'),
    config,
    lenient: ggufShape(meta, gguf.tensors),
    tensors: gguf.tensors,
    tokenizerProblem,
    hasChatTemplate: pickChatTemplate(meta['tokenizer.chat_template']) !== undefined,
  };
}

async function openSafetensors(
  client: HubClient,
  resolved: ResolvedRepo,
  weights: HubFile[],
  index: unknown,
  signal?: AbortSignal,
): Promise<Opened> {
  const byPath = new Map(resolved.files.map((f) => [f.path, f]));
  const source = (path: string) => rangeSource(client, resolved, byPath.get(path)!, signal);
  const [configJson, tokenizerConfig, tensors] = await Promise.all([
    fetchJson(client, resolved, 'config.json', signal),
    byPath.has('tokenizer_config.json') ? fetchJson(client, resolved, 'tokenizer_config.json', signal) : undefined,
    index !== undefined ? readShardedSafetensors(index, async (path) => source(path)) : readSafetensors(source(weights[0].path)).then((r) => r.tensors),
  ]);
  if (!isObject(configJson)) throw new CorruptFileError(`${resolved.repo}/config.json is not a JSON object.`);
  let config: Opened['config'];
  try {
    config = configFromHf(configJson, `${resolved.repo}/config.json`);
  } catch (err) {
    config = { refused: reasonOf(err) };
  }
  const modelType = typeof configJson.model_type === 'string' ? configJson.model_type : undefined;
  const named = Array.isArray(configJson.architectures) ? configJson.architectures.find((a) => typeof a === 'string') : undefined;
  return {
    format: 'safetensors',
    architecture: modelType ?? (named as string | undefined) ?? 'unknown',
    config,
    lenient: hfShape(configJson),
    tensors,
    tokenizerProblem: byPath.has('tokenizer.json') ? undefined : `${resolved.repo} has no tokenizer.json.`,
    hasChatTemplate: isObject(tokenizerConfig) && pickChatTemplate(tokenizerConfig.chat_template) !== undefined,
  };
}

/**
 * A model's shape, size and whether the engine runs it, from config.json and the weight files'
 * headers read with range requests. The files are the ones `load` would download (chooseFiles,
 * with the shard index for sharded checkpoints).
 */
export async function modelFacts(client: HubClient, request: ModelFactsRequest, signal?: AbortSignal): Promise<ModelFacts> {
  if (request.kind !== 'model') throw new InvalidArgumentError(`${request.repo} is a Space; only models have weights to describe.`);
  const resolved = await client.resolveRepo(request.repo, request.revision, signal, 'model');
  const has = (path: string) => resolved.files.some((f) => f.path === path);
  // As openHubModel decides: the index names the shards, and only counts without model.safetensors.
  const index = request.file === undefined && has(SHARD_INDEX) && !has('model.safetensors') ? await fetchJson(client, resolved, SHARD_INDEX, signal) : undefined;
  if (index !== undefined && !(isObject(index) && isObject(index.weight_map))) throw new CorruptFileError(`${resolved.repo}/${SHARD_INDEX} has no weight_map object.`);
  const choice = chooseFiles(resolved.files, { gguf: request.file, index: index as { weight_map: Record<string, string> } | undefined });

  const weights = choice.kind === 'gguf' ? [choice.file] : choice.files.filter((f) => f.path.endsWith('.safetensors'));
  const opened =
    choice.kind === 'gguf'
      ? await openGguf(rangeSource(client, resolved, choice.file, signal))
      : await openSafetensors(client, resolved, weights, index, signal);

  const shape = 'refused' in opened.config ? opened.lenient : shapeOf(opened.config);
  // Only a config the engine accepts says which layers slide, and it is what the engine allocates by.
  const c = 'refused' in opened.config ? undefined : opened.config;
  const sliding = c?.slidingLayers && { slidingWindow: c.slidingWindow, slidingLayerCount: c.slidingLayers.filter(Boolean).length };
  const { unsupported, uploaded, vocab } = check(opened);
  const onGpu = uploaded.map(gpuWeightBytes);
  // The vocabulary matrices are uploaded in row chunks (VocabMatrix), so only one of their rows
  // has to fit a binding; every other tensor is bound whole.
  const largestBinding = uploaded.map((t) => (vocab.has(t) ? vocabRowBytes(t) : gpuWeightBytes(t)));
  const quant = choice.kind === 'gguf' ? ggufQuant(choice.file.path) : 'unknown';
  const ggufChoices = listGgufChoices(resolved.files).map((c) => ({ path: c.file.path, quant: c.quant, size: c.size }));
  return withoutUndefined<ModelFacts>({
    format: opened.format,
    weightFiles: weights.map((f) => f.path),
    architecture: opened.architecture,
    supported: unsupported === undefined,
    unsupported,
    ...shape,
    dtype: quant !== 'unknown' ? quant : dominantDtype(opened.tensors),
    parameters: opened.tensors.reduce((sum, t) => sum + elementCount(t.shape), 0),
    // What `load` downloads: config and tokenizer files too, which for large vocabularies are megabytes.
    downloadBytes: (choice.kind === 'gguf' ? [choice.file] : choice.files).reduce((sum, f) => sum + f.size, 0),
    weightGpuBytes: onGpu.reduce((sum, n) => sum + n, 0),
    largestBufferBytes: largestBinding.reduce((max, n) => Math.max(max, n), 0),
    kvBytesPerToken: kvBytesPerToken(shape.layers, shape.kvHeads, shape.headDim),
    ...sliding,
    hasChatTemplate: opened.hasChatTemplate,
    ggufChoices: ggufChoices.length > 0 ? ggufChoices : undefined,
  });
}
