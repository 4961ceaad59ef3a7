// Export a network to ONNX (opset 13), written with a small protobuf encoder of our own so
// the project needs no protobuf dependency. Layers map to Conv (with group), LRN (split per
// group, alpha converted to ONNX's alpha / size convention), MaxPool, Relu / Tanh, Flatten,
// Gemm, the paper's test-time dropout as Mul by (1 - p), and a final Softmax.
import { ModelConfig } from './nn/model';
import { NamedArray } from './checkpoint';

// ---------------------------------------------------------------- protobuf wire format

class Writer {
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

const FLOAT = 1, INT64 = 7;
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7;

type Attr = [string, number] | [string, number[]] | [string, { float: number }];

function node(op: string, name: string, inputs: string[], outputs: string[], attrs: Attr[] = []): Writer {
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

function tensor(name: string, dims: number[], data: Float32Array | BigInt64Array, type = FLOAT): Writer {
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

// ---------------------------------------------------------------- the graph

/**
 * The ONNX model of `config` with `weights` (name -> array): input "input" (N, 3, crop, crop),
 * minus the mean image and scaled as in training; output "probabilities" (N, classes).
 */
export function exportOnnx(config: ModelConfig, weights: Map<string, NamedArray>): Buffer {
  const graph = new Writer().bytes(2, config.name);
  const nodes: Writer[] = [];
  const inits: Writer[] = [];
  let x = 'input';
  let channels = config.input[0];
  const out = (name: string) => `${name}_out`;
  for (const l of config.layers) {
    switch (l.type) {
      case 'conv': {
        const w = weights.get(`${l.name}.weight`)!, b = weights.get(`${l.name}.bias`)!;
        inits.push(tensor(`${l.name}.weight`, w.shape, w.data), tensor(`${l.name}.bias`, b.shape, b.data));
        nodes.push(node('Conv', l.name, [x, `${l.name}.weight`, `${l.name}.bias`], [out(l.name)], [
          ['kernel_shape', [l.kernel, l.kernel]], ['strides', [l.stride, l.stride]],
          ['pads', [l.padding, l.padding, l.padding, l.padding]], ['group', l.groups],
        ]));
        channels = l.out;
        break;
      }
      case 'lrn': {
        // ONNX: x / (bias + alpha / size * sum x^2)^beta, over the whole channel axis
        const attrs: Attr[] = [['alpha', { float: l.alpha * l.size }], ['beta', { float: l.beta }], ['bias', { float: l.k }], ['size', l.size]];
        if (l.groups === 1) nodes.push(node('LRN', l.name, [x], [out(l.name)], attrs));
        else {
          const parts = Array.from({ length: l.groups }, (_, g) => `${l.name}_part${g}`);
          const split = `${l.name}.split`;
          inits.push(tensor(split, [l.groups], BigInt64Array.from(parts.map(() => BigInt(channels / l.groups))), INT64));
          nodes.push(node('Split', `${l.name}_split`, [x, split], parts, [['axis', 1]]));
          parts.forEach((p, g) => nodes.push(node('LRN', `${l.name}_${g}`, [p], [`${p}_lrn`], attrs)));
          nodes.push(node('Concat', l.name, parts.map((p) => `${p}_lrn`), [out(l.name)], [['axis', 1]]));
        }
        break;
      }
      case 'maxpool':
        nodes.push(node('MaxPool', l.name, [x], [out(l.name)], [['kernel_shape', [l.kernel, l.kernel]], ['strides', [l.stride, l.stride]]]));
        break;
      case 'relu':
        nodes.push(node('Relu', l.name, [x], [out(l.name)]));
        break;
      case 'tanh':
        nodes.push(node('Tanh', l.name, [x], [out(l.name)]));
        break;
      case 'dropout': {
        // the paper's test-time dropout: multiply by (1 - p)
        inits.push(tensor(`${l.name}.scale`, [], Float32Array.of(1 - l.p)));
        nodes.push(node('Mul', l.name, [x, `${l.name}.scale`], [out(l.name)]));
        break;
      }
      case 'flatten':
        nodes.push(node('Flatten', l.name, [x], [out(l.name)], [['axis', 1]]));
        break;
      case 'fc': {
        const w = weights.get(`${l.name}.weight`)!, b = weights.get(`${l.name}.bias`)!;
        inits.push(tensor(`${l.name}.weight`, w.shape, w.data), tensor(`${l.name}.bias`, b.shape, b.data));
        nodes.push(node('Gemm', l.name, [x, `${l.name}.weight`, `${l.name}.bias`], [out(l.name)], [['transB', 1]]));
        break;
      }
    }
    x = out(l.name);
  }
  nodes.push(node('Softmax', 'softmax', [x], ['probabilities'], [['axis', 1]]));
  for (const n of nodes) graph.message(1, n);
  for (const t of inits) graph.message(5, t);
  graph.message(11, valueInfo('input', ['N', ...config.input]));
  graph.message(12, valueInfo('probabilities', ['N', config.options.classes]));
  return new Writer()
    .int(1, 8)  // IR version 8
    .bytes(2, 'alexnet-native')
    .message(7, graph)
    .message(8, new Writer().bytes(1, '').int(2, 13))
    .finish();
}
