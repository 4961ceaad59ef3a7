// The network is data: a list of layer specs (AlexNet's is below, exactly as the paper gives
// it), from which a Network makes layers with the paper's initialisation. Variants for the
// paper's ablations and for small runs come from ModelOptions, not from code. Pure: shapes
// and parameter counts without allocating anything.
import { ArgumentError, describe } from '../core/errors';
import { outputSize } from '../core/geometry';

/** Per sample: (C, H, W) for maps, (F) for vectors. */
export type SampleShape = readonly number[];

export type LayerSpec =
  | { type: 'conv'; name: string; out: number; kernel: number; stride: number; padding: number; groups: number; biasInit: number }
  | { type: 'lrn'; name: string; size: number; alpha: number; beta: number; k: number; groups: number }
  | { type: 'maxpool'; name: string; kernel: number; stride: number }
  | { type: 'relu' | 'tanh'; name: string }
  /**
   * style: 'paper' (the default; training keeps values unscaled, test multiplies by 1 - p) or
   * 'inverted' (torchvision's: training scales kept values by 1 / (1 - p), test is the identity)
   */
  | { type: 'dropout'; name: string; p: number; style?: DropoutStyle }
  | { type: 'flatten'; name: string }
  | { type: 'fc'; name: string; out: number; biasInit: number };

export type DropoutStyle = 'paper' | 'inverted';

export interface ModelOptions {
  /** the layer layout: the paper's (default) or torchvision's (nn/torchvision.ts) */
  arch?: 'alexnet' | 'torchvision';
  /** multiplies every layer's kernel count (1 = the paper's) */
  width: number;
  /** input crop, square (227 gives the paper's 55x55 conv1 map) */
  crop: number;
  classes: number;
  activation: 'relu' | 'tanh';
  lrn: boolean;
  /** 3x3 stride 2 (the paper's) or 2x2 stride 2 */
  overlappingPool: boolean;
  dropout: boolean;
  /** groups in conv2, conv4, conv5 and the LRNs: the paper's two columns on one device */
  columns: 1 | 2;
  /**
   * weights N(0, 0.01) and the paper's biases (1 in conv2, conv4, conv5, fc6, fc7), or 'he':
   * N(0, sqrt(2 / fan-in)) in every layer but the classifier (kept at 0.01) and biases 0,
   * which small and narrow variants need to start learning within a few epochs
   */
  init: 'paper' | 'he';
  /** multiplies the input pixels (0..255 minus the mean image); 1 in the paper */
  inputScale: number;
}

export const paperOptions: ModelOptions = {
  width: 1, crop: 227, classes: 1000, activation: 'relu', lrn: true, overlappingPool: true, dropout: true, columns: 2,
  init: 'paper', inputScale: 1,
};

export interface ModelConfig {
  name: string;
  options: ModelOptions;
  /** (C, H, W) */
  input: [number, number, number];
  layers: LayerSpec[];
}

/** AlexNet (paper section 3.5, figure 2) as layer specs. */
export function alexnet(partial: Partial<ModelOptions> = {}): ModelConfig {
  if (partial.arch === 'torchvision') return torchvisionAlexnet(partial);
  const o = checkOptions({ ...paperOptions, ...partial });
  const g = o.columns;
  // kernel counts scaled by width, kept divisible by the number of columns
  const ch = (n: number) => Math.max(g, Math.round((n * o.width) / g) * g);
  const act = (name: string): LayerSpec => ({ type: o.activation, name });
  const lrn = (name: string): LayerSpec[] => (o.lrn ? [{ type: 'lrn', name, size: 5, alpha: 1e-4, beta: 0.75, k: 2, groups: g }] : []);
  const pool = (name: string): LayerSpec => ({ type: 'maxpool', name, kernel: o.overlappingPool ? 3 : 2, stride: 2 });
  const drop = (name: string): LayerSpec[] => (o.dropout ? [{ type: 'dropout', name, p: 0.5 }] : []);
  const layers: LayerSpec[] = [
    { type: 'conv', name: 'conv1', out: ch(96), kernel: 11, stride: 4, padding: 0, groups: 1, biasInit: 0 },
    act('relu1'), ...lrn('lrn1'), pool('pool1'),
    { type: 'conv', name: 'conv2', out: ch(256), kernel: 5, stride: 1, padding: 2, groups: g, biasInit: 1 },
    act('relu2'), ...lrn('lrn2'), pool('pool2'),
    { type: 'conv', name: 'conv3', out: ch(384), kernel: 3, stride: 1, padding: 1, groups: 1, biasInit: 0 },
    act('relu3'),
    { type: 'conv', name: 'conv4', out: ch(384), kernel: 3, stride: 1, padding: 1, groups: g, biasInit: 1 },
    act('relu4'),
    { type: 'conv', name: 'conv5', out: ch(256), kernel: 3, stride: 1, padding: 1, groups: g, biasInit: 1 },
    act('relu5'), pool('pool5'),
    { type: 'flatten', name: 'flatten' },
    { type: 'fc', name: 'fc6', out: ch(4096), biasInit: 1 }, act('relu6'), ...drop('drop6'),
    { type: 'fc', name: 'fc7', out: ch(4096), biasInit: 1 }, act('relu7'), ...drop('drop7'),
    { type: 'fc', name: 'fc8', out: o.classes, biasInit: 0 },
  ];
  return { name: 'alexnet', options: o, input: [3, o.crop, o.crop], layers };
}

/**
 * torchvision's AlexNet (torchvision.models.alexnet, from "One weird trick", Krizhevsky 2014):
 * 64/192/384/256/256 kernels, conv1 padded by 2, no LRN, no groups, dropout before fc6 and
 * fc7 (the inverted kind), 224x224 input. Layer names are ours (conv1 ... fc8); nn/pretrained.ts
 * maps torchvision's state_dict names (features.0.weight ...) onto them. At 224 the last pool
 * gives 6x6, so torchvision's AdaptiveAvgPool2d((6, 6)) is the identity and is left out.
 */
export function torchvisionAlexnet(partial: Partial<ModelOptions> = {}): ModelConfig {
  // one column, no LRN, overlapping pooling: torchvision's, whatever was asked of the paper's model
  const o = checkOptions({
    ...paperOptions, crop: 224, init: 'he', inputScale: TORCHVISION_INPUT_SCALE, ...partial,
    arch: 'torchvision', lrn: false, columns: 1, overlappingPool: true,
  });
  const ch = (n: number) => Math.max(1, Math.round(n * o.width));
  const act = (name: string): LayerSpec => ({ type: o.activation, name });
  const pool = (name: string): LayerSpec => ({ type: 'maxpool', name, kernel: 3, stride: 2 });
  const drop = (name: string): LayerSpec[] => (o.dropout ? [{ type: 'dropout', name, p: 0.5, style: 'inverted' }] : []);
  const conv = (name: string, out: number, kernel: number, stride: number, padding: number): LayerSpec =>
    ({ type: 'conv', name, out: ch(out), kernel, stride, padding, groups: 1, biasInit: 0 });
  const layers: LayerSpec[] = [
    conv('conv1', 64, 11, 4, 2), act('relu1'), pool('pool1'),
    conv('conv2', 192, 5, 1, 2), act('relu2'), pool('pool2'),
    conv('conv3', 384, 3, 1, 1), act('relu3'),
    conv('conv4', 256, 3, 1, 1), act('relu4'),
    conv('conv5', 256, 3, 1, 1), act('relu5'), pool('pool5'),
    { type: 'flatten', name: 'flatten' },
    ...drop('drop6'), { type: 'fc', name: 'fc6', out: ch(4096), biasInit: 0 }, act('relu6'),
    ...drop('drop7'), { type: 'fc', name: 'fc7', out: ch(4096), biasInit: 0 }, act('relu7'),
    { type: 'fc', name: 'fc8', out: o.classes, biasInit: 0 },
  ];
  return { name: 'torchvision-alexnet', options: o, input: [3, o.crop, o.crop], layers };
}

/**
 * torchvision's input is (pixels / 255 - mean_c) / std_c with std (0.229, 0.224, 0.225); ours
 * is (pixels - mean) * inputScale, one scale for all channels: 1 / (255 * 0.226), the mean std.
 * Imported weights absorb the rest per channel into conv1 (nn/pretrained.ts).
 */
export const TORCHVISION_INPUT_SCALE = 1 / (255 * 0.226);

function checkOptions(o: ModelOptions): ModelOptions {
  const op = 'alexnet';
  if (!(typeof o.width === 'number' && o.width > 0 && o.width <= 16)) throw new ArgumentError(op, 'width', 'a number in (0, 16]', describe(o.width));
  if (!Number.isInteger(o.crop) || o.crop < 1) throw new ArgumentError(op, 'crop', 'a positive integer', describe(o.crop));
  if (!Number.isInteger(o.classes) || o.classes < 2) throw new ArgumentError(op, 'classes', 'an integer >= 2', describe(o.classes));
  if (o.activation !== 'relu' && o.activation !== 'tanh') throw new ArgumentError(op, 'activation', "'relu' or 'tanh'", describe(o.activation));
  if (o.arch !== undefined && o.arch !== 'alexnet' && o.arch !== 'torchvision') throw new ArgumentError(op, 'arch', "'alexnet' or 'torchvision'", describe(o.arch));
  if (o.columns !== 1 && o.columns !== 2) throw new ArgumentError(op, 'columns', '1 or 2', describe(o.columns));
  if (o.init !== 'paper' && o.init !== 'he') throw new ArgumentError(op, 'init', "'paper' or 'he'", describe(o.init));
  if (!(typeof o.inputScale === 'number' && o.inputScale > 0 && Number.isFinite(o.inputScale)))
    throw new ArgumentError(op, 'inputScale', 'a finite number > 0', describe(o.inputScale));
  return o;
}

/** Per-sample output shapes of every layer; throws naming the layer where the map vanishes. */
export function inferShapes(config: ModelConfig): SampleShape[] {
  const shapes: SampleShape[] = [];
  let s: SampleShape = config.input;
  for (const l of config.layers) {
    const [c, h, w] = s;
    const spatial = (k: number, stride: number, pad: number) => {
      if (s.length !== 3) throw new Error(`${l.name}: needs a (C, H, W) input but receives (${s.join(', ')})`);
      const oh = outputSize(h, k, stride, pad), ow = outputSize(w, k, stride, pad);
      if (oh < 1 || ow < 1)
        throw new Error(`${l.name}: a ${k}x${k} window does not fit its ${h}x${w} input (crop ${config.input[1]} is too small for this model)`);
      return [oh, ow];
    };
    switch (l.type) {
      case 'conv': {
        if (c % l.groups || l.out % l.groups) throw new Error(`${l.name}: ${c} input and ${l.out} output channels must divide by groups ${l.groups}`);
        s = [l.out, ...spatial(l.kernel, l.stride, l.padding)];
        break;
      }
      case 'maxpool':
        s = [c, ...spatial(l.kernel, l.stride, 0)];
        break;
      case 'flatten':
        s = [s.reduce((a, b) => a * b, 1)];
        break;
      case 'fc':
        if (s.length !== 1) throw new Error(`${l.name}: needs a flat input; add a flatten layer before it`);
        s = [l.out];
        break;
      default:
        break;
    }
    shapes.push(s);
  }
  return shapes;
}

/** The weight's shape of a conv (K, C / groups, KH, KW) or fc (OUT, IN) layer; null for the rest. */
export function weightShape(l: LayerSpec, input: SampleShape): number[] | null {
  if (l.type === 'conv') return [l.out, input[0] / l.groups, l.kernel, l.kernel];
  if (l.type === 'fc') return [l.out, input[0]];
  return null;
}

export interface SummaryRow {
  name: string;
  type: string;
  output: SampleShape;
  params: number;
}

/** Each layer's output shape and parameter count, without allocating anything. */
export function summarize(config: ModelConfig): { rows: SummaryRow[]; total: number } {
  const shapes = inferShapes(config);
  const rows = config.layers.map((l, i) => {
    const input = i === 0 ? config.input : shapes[i - 1];
    const w = weightShape(l, input);
    const params = w ? w.reduce((a, b) => a * b, 1) + w[0] : 0;  // weights and biases
    return { name: l.name, type: l.type, output: shapes[i], params };
  });
  return { rows, total: rows.reduce((n, r) => n + r.params, 0) };
}

export function formatSummary(config: ModelConfig): string {
  const { rows, total } = summarize(config);
  const shape = (s: SampleShape) => (s.length === 3 ? `${s[1]}x${s[2]}x${s[0]}` : String(s[0]));
  const lines = [`${config.name} (input ${shape(config.input)})`, `${'layer'.padEnd(10)}${'type'.padEnd(9)}${'output'.padStart(14)}${'parameters'.padStart(14)}`];
  for (const r of rows) lines.push(`${r.name.padEnd(10)}${r.type.padEnd(9)}${shape(r.output).padStart(14)}${(r.params ? r.params.toLocaleString('en-US') : '').padStart(14)}`);
  lines.push(`${'total'.padEnd(33)}${total.toLocaleString('en-US').padStart(14)}`);
  return lines.join('\n');
}
