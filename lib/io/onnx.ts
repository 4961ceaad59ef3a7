// The ONNX file format (opset 13): nodes, initializer tensors and the model around them,
// written with a small protobuf encoder of our own so the project needs no protobuf
// dependency. What a network's layers become is tools/export.ts's business, not this file's.

// ---------------------------------------------------------------- protobuf wire format

export class Writer {
  private chunks: Buffer[] = [];

  private varint(v: bigint | number): void {
    let x = BigInt.asUintN(64, BigInt(v));
    const bytes: number[] = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      bytes.push(b);
    } while (x);
    this.chunks.push(Buffer.from(bytes));
  }

  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    this.key(field, 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.chunks.push(b);
    return this;
  }

  double(field: number, v: number): this {
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.chunks.push(b);
    return this;
  }

  bytes(field: number, v: Buffer | Uint8Array | string): this {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    this.key(field, 2);
    this.varint(b.length);
    this.chunks.push(b);
    return this;
  }

  message(field: number, m: Writer): this {
    return this.bytes(field, m.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const FLOAT = 1;
export const INT64 = 7;
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7;

export type OnnxAttr = [string, number] | [string, number[]] | [string, { float: number }];

export function onnxNode(op: string, name: string, inputs: string[], outputs: string[], attrs: OnnxAttr[] = []): Writer {
  const n = new Writer();
  for (const i of inputs) n.bytes(1, i);
  for (const o of outputs) n.bytes(2, o);
  n.bytes(3, name).bytes(4, op);
  for (const [key, value] of attrs) {
    const a = new Writer().bytes(1, key);
    if (Array.isArray(value)) {
      for (const v of value) a.int(8, v);
      a.int(20, ATTR_INTS);
    } else if (typeof value === 'number') a.int(3, value).int(20, ATTR_INT);
    else a.float(2, value.float).int(20, ATTR_FLOAT);
    n.message(5, a);
  }
  return n;
}

export function onnxTensor(name: string, dims: number[], data: Float32Array | BigInt64Array, type = FLOAT): Writer {
  const t = new Writer();
  for (const d of dims) t.int(1, d);
  t.int(2, type).bytes(8, name).bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return t;
}

function valueInfo(name: string, dims: (number | string)[]): Writer {
  const shape = new Writer();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().bytes(2, d));
  const tensorType = new Writer().int(1, FLOAT).message(2, shape);
  return new Writer().bytes(1, name).message(2, new Writer().message(1, tensorType));
}

// ---------------------------------------------------------------- the model

/** A float tensor's name and dimensions (a string is a symbolic dimension such as 'N'). */
export interface OnnxValue {
  name: string;
  dims: (number | string)[];
}

/**
 * The serialized ModelProto of one graph: nodes in order, initializers, one input and one
 * output, and metadata_props (key/value strings that tools show and read).
 */
export function encodeModel(graphName: string, nodes: Writer[], initializers: Writer[], input: OnnxValue, output: OnnxValue,
  metadata: Record<string, string> = {}): Buffer {
  const graph = new Writer().bytes(2, graphName);
  for (const n of nodes) graph.message(1, n);
  for (const t of initializers) graph.message(5, t);
  graph.message(11, valueInfo(input.name, input.dims));
  graph.message(12, valueInfo(output.name, output.dims));
  const model = new Writer()
    .int(1, 8)  // IR version 8
    .bytes(2, 'alexnet-native')
    .message(7, graph)
    .message(8, new Writer().bytes(1, '').int(2, 13));
  // ModelProto.metadata_props (14): StringStringEntryProto { key = 1, value = 2 }
  for (const [key, value] of Object.entries(metadata)) model.message(14, new Writer().bytes(1, key).bytes(2, value));
  return model.finish();
}
