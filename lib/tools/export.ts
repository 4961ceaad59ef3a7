// A network as an ONNX model: layers map to Conv (with group), LRN (split per group, alpha
// converted to ONNX's alpha / size convention), MaxPool, Relu / Tanh, Flatten, Gemm, the
// paper's test-time dropout as Mul by (1 - p), and a final Softmax.
import { encodeModel, INT64, onnxNode, OnnxAttr, onnxTensor, Writer } from '../io/onnx';
import { NamedArray, writeFileAtomic } from '../io/safetensors';
import { ModelConfig } from '../nn/spec';
import { loadCheckpoint } from '../train/checkpoint';
/**
 * The ONNX model of `config` with `weights` (name -> array): input "input" (N, 3, crop, crop),
 * minus the mean image and scaled as in training; output "probabilities" (N, classes).
 */
export function exportOnnx(config: ModelConfig, weights: Map<string, NamedArray>): Buffer {
  const nodes: Writer[] = [];
  const inits: Writer[] = [];
  let x = 'input';
  let channels = config.input[0];
  const out = (name: string) => `${name}_out`;
  for (const l of config.layers) {
    switch (l.type) {
      case 'conv': {
        const w = weights.get(`${l.name}.weight`)!, b = weights.get(`${l.name}.bias`)!;
        inits.push(onnxTensor(`${l.name}.weight`, w.shape, w.data), onnxTensor(`${l.name}.bias`, b.shape, b.data));
        nodes.push(onnxNode('Conv', l.name, [x, `${l.name}.weight`, `${l.name}.bias`], [out(l.name)], [
          ['kernel_shape', [l.kernel, l.kernel]], ['strides', [l.stride, l.stride]],
          ['pads', [l.padding, l.padding, l.padding, l.padding]], ['group', l.groups],
        ]));
        channels = l.out;
        break;
      }
      case 'lrn': {
        // ONNX: x / (bias + alpha / size * sum x^2)^beta, over the whole channel axis
        const attrs: OnnxAttr[] = [['alpha', { float: l.alpha * l.size }], ['beta', { float: l.beta }], ['bias', { float: l.k }], ['size', l.size]];
        if (l.groups === 1) nodes.push(onnxNode('LRN', l.name, [x], [out(l.name)], attrs));
        else {
          const parts = Array.from({ length: l.groups }, (_, g) => `${l.name}_part${g}`);
          const split = `${l.name}.split`;
          inits.push(onnxTensor(split, [l.groups], BigInt64Array.from(parts.map(() => BigInt(channels / l.groups))), INT64));
          nodes.push(onnxNode('Split', `${l.name}_split`, [x, split], parts, [['axis', 1]]));
          parts.forEach((p, g) => nodes.push(onnxNode('LRN', `${l.name}_${g}`, [p], [`${p}_lrn`], attrs)));
          nodes.push(onnxNode('Concat', l.name, parts.map((p) => `${p}_lrn`), [out(l.name)], [['axis', 1]]));
        }
        break;
      }
      case 'maxpool':
        nodes.push(onnxNode('MaxPool', l.name, [x], [out(l.name)], [['kernel_shape', [l.kernel, l.kernel]], ['strides', [l.stride, l.stride]]]));
        break;
      case 'relu':
        nodes.push(onnxNode('Relu', l.name, [x], [out(l.name)]));
        break;
      case 'tanh':
        nodes.push(onnxNode('Tanh', l.name, [x], [out(l.name)]));
        break;
      case 'dropout': {
        // the paper's test-time dropout: multiply by (1 - p)
        inits.push(onnxTensor(`${l.name}.scale`, [], Float32Array.of(1 - l.p)));
        nodes.push(onnxNode('Mul', l.name, [x, `${l.name}.scale`], [out(l.name)]));
        break;
      }
      case 'flatten':
        nodes.push(onnxNode('Flatten', l.name, [x], [out(l.name)], [['axis', 1]]));
        break;
      case 'fc': {
        const w = weights.get(`${l.name}.weight`)!, b = weights.get(`${l.name}.bias`)!;
        inits.push(onnxTensor(`${l.name}.weight`, w.shape, w.data), onnxTensor(`${l.name}.bias`, b.shape, b.data));
        nodes.push(onnxNode('Gemm', l.name, [x, `${l.name}.weight`, `${l.name}.bias`], [out(l.name)], [['transB', 1]]));
        break;
      }
    }
    x = out(l.name);
  }
  nodes.push(onnxNode('Softmax', 'softmax', [x], ['probabilities'], [['axis', 1]]));
  return encodeModel(config.name, nodes, inits, { name: 'input', dims: ['N', ...config.input] }, { name: 'probabilities', dims: ['N', config.options.classes] });
}

/** A checkpoint's network written as an ONNX file; returns its config and the file's size. */
export function exportCheckpoint(checkpoint: string, onnxFile: string): { config: ModelConfig; bytes: number } {
  const ck = loadCheckpoint(checkpoint);
  const bytes = exportOnnx(ck.config, ck.weights);
  writeFileAtomic(onnxFile, bytes);
  return { config: ck.config, bytes: bytes.length };
}
