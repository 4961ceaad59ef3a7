// A network as an ONNX model: layers map to Conv (with group), LRN (split per group, alpha
// converted to ONNX's alpha / size convention), MaxPool, Relu / Tanh, Flatten, Gemm, the
// paper's test-time dropout as Mul by (1 - p), and a final Softmax.
import { encodeModel, INT64, onnxNode, OnnxAttr, onnxTensor, Writer } from '../io/onnx';
import { NamedArray, writeFileAtomic } from '../io/safetensors';
import { ModelConfig } from '../nn/spec';
import { centerOffset } from '../data/augment';
import { InputSpec, loadCheckpoint } from '../train/checkpoint';

export interface ExportOptions {
  /** the training data's classes and mean image: written into metadata_props */
  input?: InputSpec;
  /**
   * put the mean subtraction and the input scaling inside the graph, so that the model takes
   * the 0..255 RGB centre crop (N, 3, crop, crop); needs `input`
   */
  withPreprocessing?: boolean;
}

/**
 * The ONNX model of `config` with `weights` (name -> array): input "input" (N, 3, crop, crop),
 * minus the mean image and scaled as in training (or, withPreprocessing, the raw 0..255 crop);
 * output "probabilities" (N, classes). metadata_props say how to make the input.
 */
export function exportOnnx(config: ModelConfig, weights: Map<string, NamedArray>, o: ExportOptions = {}): Buffer {
  const nodes: Writer[] = [];
  const inits: Writer[] = [];
  const { crop, inputScale } = config.options;
  const meanCrop = o.input ? centreCropOfMean(o.input, crop) : null;
  let x = 'input';
  if (o.withPreprocessing) {
    if (!meanCrop) throw new Error('export --with-preprocessing: the checkpoint has no mean image (it predates them); train again');
    // (pixels - mean crop) * inputScale, exactly as predict's centre crop
    inits.push(onnxTensor('preprocess.mean', [1, 3, crop, crop], meanCrop), onnxTensor('preprocess.scale', [], Float32Array.of(inputScale)));
    nodes.push(onnxNode('Sub', 'preprocess_mean', ['input', 'preprocess.mean'], ['preprocess_centred']));
    nodes.push(onnxNode('Mul', 'preprocess_scale', ['preprocess_centred', 'preprocess.scale'], ['preprocess_out']));
    x = 'preprocess_out';
  }
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
        // the paper's test-time dropout multiplies by (1 - p); the inverted kind is the identity
        if (l.style === 'inverted') nodes.push(onnxNode('Identity', l.name, [x], [out(l.name)]));
        else {
          inits.push(onnxTensor(`${l.name}.scale`, [], Float32Array.of(1 - l.p)));
          nodes.push(onnxNode('Mul', l.name, [x, `${l.name}.scale`], [out(l.name)]));
        }
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
  return encodeModel(config.name, nodes, inits, { name: 'input', dims: ['N', ...config.input] }, { name: 'probabilities', dims: ['N', config.options.classes] },
    onnxMetadata(config, o, meanCrop));
}

/** The mean image's centre crop (3, crop, crop): what predict subtracts from a centre crop. */
function centreCropOfMean(input: InputSpec, crop: number): Float32Array {
  const size = input.size, c = centerOffset(size, crop);
  if (crop > size) throw new Error(`export: the crop ${crop} is larger than the stored images (${size})`);
  const out = new Float32Array(3 * crop * crop);
  for (let ch = 0; ch < 3; ch++)
    for (let y = 0; y < crop; y++)
      for (let xx = 0; xx < crop; xx++) out[(ch * crop + y) * crop + xx] = input.mean[ch * size * size + (y + c) * size + xx + c];
  return out;
}

/** What using the model needs, as metadata_props: classes, input rule, mean, scale, resize and crop. */
function onnxMetadata(config: ModelConfig, o: ExportOptions, meanCrop: Float32Array | null): Record<string, string> {
  const { crop, inputScale } = config.options;
  const m: Record<string, string> = {
    model: config.name, layout: 'NCHW, RGB', crop: String(crop), input_scale: String(inputScale),
    output: 'probabilities: softmax over the classes',
    preprocessing_in_graph: o.withPreprocessing ? 'true' : 'false',
    input: o.withPreprocessing
      ? `the 0..255 RGB centre crop (N, 3, ${crop}, ${crop}) as float; the graph subtracts the mean image's centre crop and multiplies by input_scale`
      : `(pixels - mean image's centre crop) * input_scale, pixels the 0..255 RGB centre crop (N, 3, ${crop}, ${crop})`,
  };
  if (o.input) {
    const size = o.input.size, plane = size * size;
    m.classes = JSON.stringify(o.input.classes);
    if (o.input.names) m.class_names = JSON.stringify(o.input.names);
    m.image_size = String(size);
    m.resize = `resize so the shorter side is ${size} and centre-crop to ${size}x${size} (EXIF rotation applied, alpha removed, sRGB), then take the centre ${crop}x${crop}`;
    m.mean_rgb = JSON.stringify([0, 1, 2].map((c) => o.input!.mean.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane));
    // the exact mean the model was trained with, centre-cropped: float32 little-endian, (3, crop, crop)
    m.mean_image_f32le_base64 = Buffer.from(meanCrop!.buffer, meanCrop!.byteOffset, meanCrop!.byteLength).toString('base64');
    m.mean_image_shape = JSON.stringify([3, crop, crop]);
  }
  return m;
}

/** A checkpoint's network written as an ONNX file; returns its config and the file's size. */
export function exportCheckpoint(checkpoint: string, onnxFile: string, o: { withPreprocessing?: boolean } = {}): { config: ModelConfig; bytes: number } {
  const ck = loadCheckpoint(checkpoint);
  if (o.withPreprocessing && !ck.input) throw new Error(`${checkpoint}: export --with-preprocessing needs the checkpoint's mean image, which it does not hold (it predates them)`);
  const bytes = exportOnnx(ck.config, ck.weights, { input: ck.input, withPreprocessing: o.withPreprocessing });
  writeFileAtomic(onnxFile, bytes);
  return { config: ck.config, bytes: bytes.length };
}
