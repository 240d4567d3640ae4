/**
 * A one-node ONNX model, y = MatMul(x, w), written as protobuf bytes directly: the bench needs
 * one graph, not an ONNX library. Field numbers are those of onnx/onnx.proto:
 *
 *   ModelProto      1 ir_version (int64), 7 graph, 8 opset_import
 *   OperatorSetId   1 domain, 2 version (int64)
 *   GraphProto      1 node, 2 name, 5 initializer, 11 input, 12 output
 *   NodeProto       1 input, 2 output, 3 name, 4 op_type
 *   TensorProto     1 dims (int64), 2 data_type (1 = FLOAT), 8 name, 9 raw_data (little-endian)
 *   ValueInfoProto  1 name, 2 type
 *   TypeProto       1 tensor_type { 1 elem_type, 2 shape { 1 dim { 1 dim_value } } }
 */

const VARINT = 0;
const LENGTH_DELIMITED = 2;
const FLOAT = 1;
/** IR version 8 with opset 17: what onnxruntime-web 1.x loads without conversion. */
const IR_VERSION = 8;
const OPSET = 17;

/**
 * Protobuf output as a list of byte pieces: a nested message is written to its own writer and
 * its pieces spliced in after the length, so a 64 MiB initializer is copied once, at the end.
 */
class ProtoWriter {
  private readonly pieces: Uint8Array[] = [];
  private scratch: number[] = [];
  length = 0;

  private flush(): void {
    if (this.scratch.length === 0) return;
    this.pieces.push(Uint8Array.from(this.scratch));
    this.length += this.scratch.length;
    this.scratch = [];
  }

  private varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`protobuf varint ${value} is not a non-negative safe integer`);
    let v = value;
    while (v >= 0x80) {
      this.scratch.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.scratch.push(v);
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, value: number): this {
    this.tag(field, VARINT);
    this.varint(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(value.byteLength);
    this.flush();
    this.pieces.push(value);
    this.length += value.byteLength;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    inner.flush();
    this.tag(field, LENGTH_DELIMITED);
    this.varint(inner.length);
    this.flush();
    this.pieces.push(...inner.pieces);
    this.length += inner.length;
    return this;
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.pieces) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

function tensorValueInfo(w: ProtoWriter, name: string, dims: number[]): void {
  w.string(1, name).message(2, (type) =>
    type.message(1, (tensor) => tensor.int(1, FLOAT).message(2, (shape) => dims.forEach((d) => shape.message(1, (dim) => dim.int(1, d))))),
  );
}

/**
 * y [M, N] = x [M, K] · w [K, N], w a constant initializer holding `wKN` (row-major [K, N]:
 * ONNX MatMul takes the weight already transposed, as exporters store Linear layers).
 */
export function matmulModel(M: number, K: number, N: number, wKN: Float32Array): Uint8Array {
  if (wKN.length !== K * N) throw new RangeError(`w holds ${wKN.length} values, [${K}, ${N}] needs ${K * N}`);
  const raw = new Uint8Array(wKN.buffer, wKN.byteOffset, wKN.byteLength);
  return new ProtoWriter()
    .int(1, IR_VERSION)
    .message(7, (graph) => {
      graph.message(1, (node) => node.string(1, 'x').string(1, 'w').string(2, 'y').string(3, 'matmul').string(4, 'MatMul'));
      graph.string(2, 'bench_matmul');
      graph.message(5, (t) => {
        t.int(1, K).int(1, N).int(2, FLOAT).string(8, 'w').bytes(9, raw);
      });
      graph.message(11, (v) => tensorValueInfo(v, 'x', [M, K]));
      graph.message(12, (v) => tensorValueInfo(v, 'y', [M, N]));
    })
    .message(8, (opset) => opset.string(1, '').int(2, OPSET))
    .finish();
}
