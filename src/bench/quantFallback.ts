import { isKType, QK_K, type KType } from '../engine/formats/kquant.ts';
import { PACKED_TYPES, type PackedType } from '../engine/formats/quant.ts';

/** A type a GGUF matrix can be asked for: F32, the 32-weight block types (and F16, BF16), the K-quants. */
export type QuantizableType = 'F32' | PackedType | KType;

/** llama.cpp's tensor_type_fallback for the K-quants we read; each is the 32-weight type of about the same size. */
const K_FALLBACK = { Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0' } as const satisfies Record<KType, PackedType>;

/** What storedType may give for `T`: itself, its K-quant fallback, or F16 when neither fits. */
export type StoredType<T extends QuantizableType> = T | (T extends KType ? (typeof K_FALLBACK)[T] : never) | 'F16';

function blockElements(type: QuantizableType): number {
  if (type === 'F32') return 1;
  return isKType(type) ? QK_K : PACKED_TYPES[type].blockElements;
}

/**
 * The type llama.cpp's quantizer (llama-quant.cpp, tensor_type_fallback, in the llama.cpp that
 * node-llama-cpp ships and in upstream today) writes a matrix in when asked for `type`: a row of
 * `rowLength` weights (ne[0], the fan-in) must be whole blocks, so a K-quant row that is not whole
 * 256-weight super-blocks falls back (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0), and a row that is
 * not whole blocks of the fallback either (or of a 32-weight type asked for) becomes F16.
 * SmolLM2-135M's hidden 576 and Qwen2.5-0.5B's 896 are not whole super-blocks, so in their K-quant
 * files every matrix that reads the hidden state (Q, K, V, O, gate, up, a tied embedding) falls
 * back, and only ffn_down (rows of 1536 or 4864) keeps the K-quant.
 */
export function storedType<T extends QuantizableType>(type: T, rowLength: number): StoredType<T> {
  if (rowLength % blockElements(type) === 0) return type;
  const fallback: QuantizableType = isKType(type) ? K_FALLBACK[type] : type;
  return (rowLength % blockElements(fallback) === 0 ? fallback : 'F16') as StoredType<T>;
}
