// One factory from a layer spec to a layer, used by every kind of network (one device, the
// two columns), and the one rule for which Philox stream each dropout layer draws from.
import { Tensor } from '../core/tensor';
import { Activation, Conv2d, Dropout, Flatten, Layer, Linear, Lrn, MaxPool2d } from './layers';
import { LayerSpec, SampleShape } from './spec';

/** A dropout layer's Philox stream: index among `streams` drawn per step. */
export interface DropoutStream {
  index: number;
  streams: number;
}

export interface LayerParts {
  /** the layer's name (default: the spec's) */
  name?: string;
  /** conv and fc: the parameters, already initialised and on their device */
  weight?: Tensor;
  bias?: Tensor;
  /** dropout: its stream (see dropoutStreams) */
  dropout?: DropoutStream;
  /** conv and fc: apply the ReLU layer that follows in this layer's forward (see fusedRelus) */
  relu?: boolean;
  /** relu: the layer before applies it (its forward then returns its input; see fusedRelus) */
  applied?: boolean;
}

/** The layer a spec describes, reading `input` (per sample). */
export function makeLayer(spec: LayerSpec, input: SampleShape, parts: LayerParts = {}): Layer {
  const name = parts.name ?? spec.name;
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${name}: a ${spec.type} layer needs ${what}`);
    return v;
  };
  switch (spec.type) {
    case 'conv':
      return new Conv2d(name, input, spec, need(parts.weight, 'a weight'), need(parts.bias, 'a bias'), parts.relu ?? false);
    case 'fc':
      return new Linear(name, input, spec.out, need(parts.weight, 'a weight'), need(parts.bias, 'a bias'), parts.relu ?? false);
    case 'lrn':
      return new Lrn(name, input, spec);
    case 'maxpool':
      return new MaxPool2d(name, input, spec);
    case 'relu':
    case 'tanh':
      return new Activation(name, input, spec.type, parts.applied ?? false);
    case 'dropout': {
      const s = need(parts.dropout, 'a dropout stream');
      return new Dropout(name, input, spec.p, s.index, s.streams, spec.style ?? 'paper');
    }
    case 'flatten':
      return new Flatten(name, input);
  }
}

/**
 * The streams of a network's dropout layers: with D dropout layers, each present in `copies`
 * copies (the two columns draw their masks separately), copy c of the d-th dropout layer draws
 * stream d * copies + c of the D * copies a step uses. Call with the layer's index in `specs`.
 */
export function dropoutStreams(specs: readonly LayerSpec[], copies = 1): (specIndex: number, copy?: number) => DropoutStream {
  const order = specs.map((l, i) => (l.type === 'dropout' ? i : -1)).filter((i) => i >= 0);
  return (specIndex, copy = 0) => {
    const d = order.indexOf(specIndex);
    if (d < 0) throw new Error(`layer ${specs[specIndex]?.name ?? specIndex} is not a dropout layer`);
    return { index: d * copies + copy, streams: order.length * copies };
  };
}

/**
 * Whether networks fuse a ReLU into the conv or fc layer before it when their build options
 * do not say: ALEXNET_FUSE=0 turns it off (to compare, e.g. in a benchmark), unset or 1 on.
 */
export function fuseByDefault(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.ALEXNET_FUSE;
  if (v === undefined || v === '' || v === '1') return true;
  if (v === '0') return false;
  throw new Error(`ALEXNET_FUSE must be 0 (no fused ReLUs) or 1 (the default), not ${JSON.stringify(v)}`);
}

/**
 * The ReLUs a network fuses: true at index i where specs[i] is a 'relu' layer right after a
 * conv or fc layer that may apply it (canFuse(i - 1), default every one). That layer is then
 * built with relu and this one 'applied' (makeLayer's parts). The specs stay as they are: the
 * function computed is the same, bit for bit, and the ReLU's own output tensor is not made.
 */
export function fusedRelus(specs: readonly LayerSpec[], fuse: boolean, canFuse: (index: number) => boolean = () => true): boolean[] {
  return specs.map((l, i) => {
    const before = specs[i - 1];
    return fuse && l.type === 'relu' && i > 0 && (before.type === 'conv' || before.type === 'fc') && canFuse(i - 1);
  });
}
