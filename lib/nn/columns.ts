// The paper's two columns on two devices (section 3.2, figure 2): column A holds half of the
// kernels of every layer on the first device, column B the other half on the second, and they
// talk only where the paper says:
//   conv1          each column: half of the kernels over the whole image
//   conv2/4/5, LRN each column: its own half, reading only its own column (groups 2 on one device)
//   conv3, fc6/7   each column: half of the kernels over BOTH columns' maps; the other
//                  column's maps are copied over, and the layer is computed as
//                  own block * own maps + other block * copied maps (+ bias)
//   fc8            the figure's one 1000-way layer, reading all of fc7: each column multiplies
//                  its own half of fc7 by its half of fc8's weight columns; B's partial logits
//                  are copied to A and added there, with the bias (N x classes crosses instead
//                  of N x 2048 fc7 activations). The logits and the loss live on A.
// This is the same function as the single-device model with groups 2 (lib/nn/model.ts), up to
// the order of float32 sums; convertParams() maps one parameter set onto the other, so
// checkpoints are always written in the single-device layout. Which columns a layer reads
// comes from the layer specs (groups), not from layer names.
import { NamedArray } from '../checkpoint';
import { Device, DeviceLike } from '../device';
import { ArgumentError, describe } from '../errors';
import * as ops from '../ops';
import { Sgd } from '../optim';
import { Tensor } from '../tensor';
import {
  Activation, Context, Conv2d, Dropout, Flatten, Layer, Linear, Lrn, MaxPool2d, Param, SampleShape,
} from './layers';
import { inferShapes, LayerSpec, ModelConfig, Network } from './model';

type ConvSpec = Extract<LayerSpec, { type: 'conv' }>;
type FcSpec = Extract<LayerSpec, { type: 'fc' }>;
type Column = 0 | 1;
const COLUMNS: readonly Column[] = [0, 1];
const LABEL = ['a', 'b'] as const;

// ---------------------------------------------------------------- the plan

/**
 * How one layer spec runs on two columns:
 *   local  each column applies it to its own input (its half, or the whole image before conv1)
 *   cross  each column computes half of the outputs from both columns' inputs
 *   merge  the last fc: partial sums of both columns added on column A
 */
export interface ColumnStep {
  kind: 'local' | 'cross' | 'merge';
  spec: LayerSpec;
  /** per column: (C, H, W) or (F); the whole input while the columns still share the image */
  input: SampleShape;
  /** per column; for merge, the logits (classes) on column A */
  output: SampleShape;
  /** true when both columns get the whole image as input (up to the first conv or fc) */
  replicated: boolean;
  /** the single-device layer's input, (C, H, W) or (F) */
  fullInput: SampleShape;
}

const half = (s: SampleShape): SampleShape => [s[0] / 2, ...s.slice(1)];

/** Each layer's place on the two columns; throws for a model that does not split in two. */
export function columnPlan(config: ModelConfig): ColumnStep[] {
  if (config.options.columns !== 2)
    throw new Error(`two columns on two devices need a model with columns 2 (groups 2 in conv2, conv4, conv5 and the LRNs); this one has columns ${config.options.columns}`);
  const shapes = inferShapes(config);
  const last = config.layers.length - 1;
  let replicated = true;
  const steps = config.layers.map((l, i): ColumnStep => {
    const fullInput = i === 0 ? config.input : shapes[i - 1];
    const before = replicated;
    const input = before ? fullInput : half(fullInput);
    const cannot = (why: string) => new Error(`${l.name}: cannot split into two columns: ${why}`);
    let kind: ColumnStep['kind'] = 'local';
    if (l.type === 'conv' || l.type === 'fc') {
      const groups = l.type === 'conv' ? l.groups : 1;
      if (l.type === 'fc' && i === last) {
        if (replicated) throw cannot('the classifier needs the columns to have split before it');
        kind = 'merge';
      } else if (groups === 2) {
        if (replicated) throw cannot('groups 2 before any layer has split the columns');
        if (l.out % 2) throw cannot(`${l.out} kernels do not halve`);
      } else if (groups === 1) {
        if (l.out % 2) throw cannot(`${l.out} kernels do not halve`);
        kind = replicated ? 'local' : 'cross';
        replicated = false;
      } else throw cannot(`groups ${groups} (only 1 or 2 map onto two columns)`);
    } else if (l.type === 'lrn' && !replicated && l.groups !== 2) {
      throw cannot(`an LRN window over both columns (groups ${l.groups}; the paper's is 2)`);
    }
    if (!before && fullInput[0] % 2) throw cannot(`its ${fullInput[0]} input channels do not halve`);
    const output = kind === 'merge' ? shapes[i] : replicated ? shapes[i] : half(shapes[i]);
    return { kind, spec: l, input, output, replicated: before, fullInput };
  });
  if (steps[last]?.kind !== 'merge') throw new Error('two columns need the model to end in a fully connected classifier');
  return steps;
}

// ---------------------------------------------------------------- parameter layout

/** One column's block of a single-device parameter. */
export interface ParamPiece {
  /** the split parameter, e.g. 'conv3.a.weight.from_b' */
  name: string;
  column: Column;
  /** the single-device parameter it is a block of, e.g. 'conv3.weight' */
  of: string;
  /** the single-device parameter's shape */
  shape: number[];
  /** [start, end) along dim 0 (output units) and dim 1 (inputs); the other dims whole */
  rows: [number, number];
  cols: [number, number];
}

/** Which block of which single-device parameter every split parameter is. */
export function paramPieces(config: ModelConfig): ParamPiece[] {
  const pieces: ParamPiece[] = [];
  for (const step of columnPlan(config)) {
    const l = step.spec;
    if (l.type !== 'conv' && l.type !== 'fc') continue;
    const inputs = l.type === 'conv' ? step.fullInput[0] / l.groups : step.fullInput[0];
    const wshape = l.type === 'conv' ? [l.out, inputs, l.kernel, l.kernel] : [l.out, inputs];
    const halfOf = (n: number, c: Column): [number, number] => [(c * n) / 2, ((c + 1) * n) / 2];
    const all = (n: number): [number, number] => [0, n];
    for (const c of COLUMNS) {
      const col = `${l.name}.${LABEL[c]}`;
      const w = (name: string, rows: [number, number], cols: [number, number]) =>
        pieces.push({ name, column: c, of: `${l.name}.weight`, shape: wshape, rows, cols });
      const b = (rows: [number, number]) => pieces.push({ name: `${col}.bias`, column: c, of: `${l.name}.bias`, shape: [l.out], rows, cols: [0, 1] });
      if (step.kind === 'local') {
        w(`${col}.weight`, halfOf(l.out, c), all(inputs));
        b(halfOf(l.out, c));
      } else if (step.kind === 'cross') {
        const other = (1 - c) as Column;
        w(`${col}.weight`, halfOf(l.out, c), halfOf(inputs, c));
        w(`${col}.weight.from_${LABEL[other]}`, halfOf(l.out, c), halfOf(inputs, other));
        b(halfOf(l.out, c));
      } else {
        w(`${col}.weight`, all(l.out), halfOf(inputs, c));
        if (c === 0) b(all(l.out));  // the bias is added once, where the logits are summed
      }
    }
  }
  return pieces;
}

function pieceShape(p: ParamPiece): number[] {
  const rest = p.shape.length === 1 ? [] : [p.cols[1] - p.cols[0], ...p.shape.slice(2)];
  return [p.rows[1] - p.rows[0], ...rest];
}

/**
 * The single-device parameter set as the two columns' (to = 'columns'), or back (to =
 * 'single'): the one mapping behind building, checkpoints and the equivalence tests. Works
 * for anything laid out like the parameters (SGD velocities too). `source` names the origin
 * in errors (a checkpoint file).
 */
export function convertParams(config: ModelConfig, arrays: ReadonlyMap<string, NamedArray>, to: 'columns' | 'single', source = 'parameters'): Map<string, NamedArray> {
  const pieces = paramPieces(config);
  const out = new Map<string, NamedArray>();
  const get = (name: string, shape: number[]) => {
    const a = arrays.get(name);
    if (!a) throw new Error(`${source}: no tensor ${name} for this model`);
    if (a.shape.join(',') !== shape.join(',')) throw new Error(`${source}: ${name} has shape [${a.shape}] but the model expects [${shape}]`);
    return a.data;
  };
  for (const p of pieces) {
    const shape = pieceShape(p);
    const whole = p.shape.length === 1 ? 1 : p.shape[1];
    const inner = p.shape.slice(2).reduce((a, b) => a * b, 1);
    const width = (p.cols[1] - p.cols[0]) * inner;
    // rows of the block are runs of `width` values in the single-device tensor
    const offset = (r: number) => (r * whole + (p.shape.length === 1 ? 0 : p.cols[0])) * inner;
    if (to === 'columns') {
      const src = get(p.of, p.shape);
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let r = p.rows[0]; r < p.rows[1]; r++) data.set(src.subarray(offset(r), offset(r) + width), (r - p.rows[0]) * width);
      out.set(p.name, { shape, data });
    } else {
      const src = get(p.name, shape);
      if (!out.has(p.of)) out.set(p.of, { shape: [...p.shape], data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)) });
      const dst = out.get(p.of)!.data;
      for (let r = p.rows[0]; r < p.rows[1]; r++) dst.set(src.subarray((r - p.rows[0]) * width, (r - p.rows[0] + 1) * width), offset(r));
    }
  }
  return out;
}

// ---------------------------------------------------------------- devices

/**
 * A --device value: one device ('cpu', 'cuda:1': the single-device model) or two separated by
 * a comma ('cpu,cpu', 'cuda:0,cuda:1': the two columns). Returns the canonical names.
 */
export function parseDeviceList(spec: string): string[] {
  if (typeof spec !== 'string') throw new ArgumentError('device list', 'device', 'a string such as cpu or cuda:0,cuda:1', describe(spec));
  const parts = spec.split(',').map((s) => s.trim());
  if (parts.some((p) => p === ''))
    throw new Error(`device list ${JSON.stringify(spec)} has an empty entry: give one device, or two separated by a comma (cpu,cpu or cuda:0,cuda:1)`);
  if (parts.length > 2)
    throw new Error(`device list ${JSON.stringify(spec)} names ${parts.length} devices: the model splits into two columns, so give one device, or two (one per column)`);
  return parts.map((p) => Device.parse(p, 'device list').toString());
}

// ---------------------------------------------------------------- bytes between the columns

export interface Traffic {
  /** activations (and fc8's partial logits) sent to the other column in the forward pass */
  forward: number;
  /** their gradients, sent back in the backward pass */
  backward: number;
}

export interface TrafficRow extends Traffic {
  layer: string;
  what: string;
}

/**
 * The bytes a training step on a batch of n must move between the columns, from the paper's
 * connectivity alone: for conv3, fc6 and fc7 each column sends its whole input half to the
 * other (2 x N x half); for fc8 column B sends its partial logits (N x classes) to A. The
 * backward pass returns a gradient of the same size for each. float32: 4 bytes a value.
 */
export function columnTraffic(config: ModelConfig, n: number): { rows: TrafficRow[]; forward: number; backward: number; total: number } {
  const rows: TrafficRow[] = [];
  for (const s of columnPlan(config)) {
    const size = (shape: SampleShape) => shape.reduce((a, b) => a * b, 1);
    if (s.kind === 'cross') {
      const bytes = 2 * n * size(s.input) * 4;
      rows.push({ layer: s.spec.name, what: `each column's input (${s.input.join('x')}) to the other`, forward: bytes, backward: bytes });
    } else if (s.kind === 'merge') {
      const bytes = n * size(s.output) * 4;
      rows.push({ layer: s.spec.name, what: `column B's partial logits (${s.output.join('x')}) to A`, forward: bytes, backward: bytes });
    }
  }
  const forward = rows.reduce((a, r) => a + r.forward, 0), backward = rows.reduce((a, r) => a + r.backward, 0);
  return { rows, forward, backward, total: forward + backward };
}

// ---------------------------------------------------------------- the stages

type Pair = [Tensor, Tensor];
/** A copy to another column's device, counted. */
type Send = (t: Tensor, to: Column, pass: keyof Traffic) => Tensor;

/** y += t, same shape, same device. */
function addInto(y: Tensor, t: Tensor): void {
  ops.add(y, t, y);
}

/** A conv or fc weight block without a bias: the part of a layer that reads the other column. */
class Unbiased extends Layer {
  readonly weight: Param;
  private x: Tensor | null = null;

  constructor(name: string, input: SampleShape, output: SampleShape, weight: Tensor, readonly conv: ops.Conv2dOptions | null) {
    super(name, input, output);
    this.weight = { name, value: weight, grad: null };
  }

  override params(): Param[] {
    return [this.weight];
  }

  forward(x: Tensor): Tensor {
    this.x = x;
    return this.conv ? ops.conv2d(x, this.weight.value, null, this.conv) : ops.linear(x, this.weight.value, null);
  }

  backward(dy: Tensor, inputGrad: boolean): Tensor | null {
    const want = { inputGrad, biasGrad: false };
    const g = this.conv ? ops.conv2dBackward(this.x!, this.weight.value, dy, this.conv, want) : ops.linearBackward(this.x!, this.weight.value, dy, want);
    this.weight.grad?.dispose();
    this.weight.grad = g.dweight;
    return g.dx ?? null;
  }
}

interface Stage {
  readonly name: string;
  params(): Param[];
  forward(h: Pair, ctx: Context): Pair;
  /** gradients of the stage's inputs, or null when inputGrad is false */
  backward(g: Pair, inputGrad: boolean): Pair | null;
  /** frees what forward kept for backward (copies of the other column's maps) */
  release(): void;
  dispose(): void;
}

/** Each column runs its own layer on its own input. */
class LocalStage implements Stage {
  constructor(readonly name: string, private readonly layers: [Layer, Layer]) {}

  params(): Param[] {
    return this.layers.flatMap((l) => l.params());
  }

  forward(h: Pair, ctx: Context): Pair {
    return [this.layers[0].forward(h[0], ctx), this.layers[1].forward(h[1], ctx)];
  }

  backward(g: Pair, inputGrad: boolean): Pair | null {
    const a = this.layers[0].backward(g[0], inputGrad), b = this.layers[1].backward(g[1], inputGrad);
    return a && b ? [a, b] : null;
  }

  release(): void {}

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}

/** Each column computes its half of the outputs from its own maps and a copy of the other's. */
class CrossStage implements Stage {
  private copies: Tensor[] = [];

  constructor(
    readonly name: string,
    /** per column: its own block (with the bias) and the block over the other column */
    private readonly own: [Conv2d | Linear, Conv2d | Linear],
    private readonly from: [Unbiased, Unbiased],
    private readonly send: Send,
  ) {}

  params(): Param[] {
    return [...this.own[0].params(), this.from[0].weight, ...this.own[1].params(), this.from[1].weight];
  }

  forward(h: Pair, ctx: Context): Pair {
    this.release();
    const out = COLUMNS.map((c) => {
      const copy = this.send(h[1 - c], c, 'forward');
      const y = this.own[c].forward(h[c]);
      const t = this.from[c].forward(copy);
      addInto(y, t);
      t.dispose();
      if (ctx.training) this.copies.push(copy);
      else copy.dispose();
      return y;
    }) as Pair;
    return out;
  }

  backward(g: Pair, inputGrad: boolean): Pair | null {
    const own = COLUMNS.map((c) => this.own[c].backward(g[c], inputGrad));
    const other = COLUMNS.map((c) => this.from[c].backward(g[c], inputGrad));
    this.release();
    if (!inputGrad) return null;
    // column c's maps were read by both columns: its gradient is the sum of both reads
    for (const c of COLUMNS) {
      const back = this.send(other[1 - c]!, c, 'backward');
      other[1 - c]!.dispose();
      addInto(own[c]!, back);
      back.dispose();
    }
    return own as Pair;
  }

  release(): void {
    for (const t of this.copies) t.dispose();
    this.copies = [];
  }

  dispose(): void {
    this.release();
    for (const l of [...this.own, ...this.from]) l.dispose();
  }
}

/** The classifier: partial logits of both columns, summed on column A with the bias. */
class MergeStage {
  constructor(
    readonly name: string,
    private readonly a: Linear,
    private readonly b: Unbiased,
    private readonly send: Send,
  ) {}

  params(): Param[] {
    return [...this.a.params(), this.b.weight];
  }

  forward(h: Pair): Tensor {
    const logits = this.a.forward(h[0]);
    const partial = this.b.forward(h[1]);
    const copy = this.send(partial, 0, 'forward');
    partial.dispose();
    addInto(logits, copy);
    copy.dispose();
    return logits;
  }

  backward(dlogits: Tensor): Pair {
    const dB = this.send(dlogits, 1, 'backward');
    const grads: Pair = [this.a.backward(dlogits, true)!, this.b.backward(dB, true)!];
    dB.dispose();
    return grads;
  }

  dispose(): void {
    this.a.dispose();
    this.b.dispose();
  }
}

// ---------------------------------------------------------------- the network

export interface ColumnBuildOptions {
  /** initialisation seed: the same weights as Network with this seed */
  seed: number;
  /** column A's device, column B's device (may be the same: two logical devices) */
  devices: readonly [DeviceLike, DeviceLike];
  /** single-device parameters to start from instead of the seed's (e.g. a checkpoint's) */
  params?: ReadonlyMap<string, NamedArray>;
}

/**
 * The two-column network: the single-device Network's interface (forward, backward, params,
 * release, dispose), with column A's parameters on devices[0] and column B's on devices[1].
 * The logits are on column A's device.
 */
export class ColumnNetwork {
  readonly devices: readonly [Device, Device];
  private readonly stages: Stage[];
  private readonly merge: MergeStage;
  private readonly plan: ColumnStep[];
  private activations: Tensor[] = [];
  private traffic: Traffic & { input: number } = { forward: 0, backward: 0, input: 0 };

  constructor(readonly config: ModelConfig, build: ColumnBuildOptions) {
    this.plan = columnPlan(config);
    const devices = build.devices;
    if (!Array.isArray(devices) || devices.length !== 2)
      throw new ArgumentError('ColumnNetwork', 'devices', 'two devices, one per column', describe(devices));
    this.devices = [Device.parse(devices[0], 'ColumnNetwork'), Device.parse(devices[1], 'ColumnNetwork')];
    const single = build.params ?? initialParams(config, build.seed);
    const split = convertParams(config, single, 'columns');
    const tensor = (name: string, c: Column) => {
      const a = split.get(name)!;
      return Tensor.fromArray(a.data, a.shape, this.devices[c]);
    };
    const send: Send = (t, to, pass) => {
      this.traffic[pass] += t.size * 4;
      return t.to(this.devices[to]);
    };
    const dropouts = config.layers.filter((l) => l.type === 'dropout').length;
    let dropoutIndex = 0;
    this.stages = [];
    let merge: MergeStage | null = null;
    for (const s of this.plan) {
      const l = s.spec;
      const n = (c: Column) => `${l.name}.${LABEL[c]}`;
      if (s.kind === 'merge') {
        const fc = l as FcSpec;
        merge = new MergeStage(l.name, new Linear(n(0), s.input, fc.out, tensor(`${n(0)}.weight`, 0), tensor(`${n(0)}.bias`, 0)),
          new Unbiased(`${n(1)}.weight`, s.input, s.output, tensor(`${n(1)}.weight`, 1), null), send);
      } else if (s.kind === 'cross') {
        const conv = l.type === 'conv' ? convOptions(l) : null;
        const own = COLUMNS.map((c) => weighted(l as ConvSpec | FcSpec, n(c), s.input, s.output, tensor(`${n(c)}.weight`, c), tensor(`${n(c)}.bias`, c))) as [Conv2d | Linear, Conv2d | Linear];
        const from = COLUMNS.map((c) => {
          const name = `${n(c)}.weight.from_${LABEL[1 - c]}`;
          return new Unbiased(name, s.input, s.output, tensor(name, c), conv);
        }) as [Unbiased, Unbiased];
        this.stages.push(new CrossStage(l.name, own, from, send));
      } else {
        const layer = (c: Column): Layer => {
          switch (l.type) {
            case 'conv':
            case 'fc':
              return weighted(l, n(c), s.input, s.output, tensor(`${n(c)}.weight`, c), tensor(`${n(c)}.bias`, c));
            case 'lrn':
              // within a column the window is already confined to it
              return new Lrn(n(c), s.input, { ...l, groups: s.replicated ? l.groups : 1 });
            case 'maxpool':
              return new MaxPool2d(n(c), s.input, l);
            case 'relu':
            case 'tanh':
              return new Activation(n(c), s.input, l.type);
            case 'dropout':
              // each column draws its own masks: its own Philox stream per dropout layer
              return new Dropout(n(c), s.input, l.p, 2 * dropoutIndex + c, 2 * dropouts);
            case 'flatten':
              return new Flatten(n(c), s.input);
          }
        };
        this.stages.push(new LocalStage(l.name, [layer(0), layer(1)]));
        if (l.type === 'dropout') dropoutIndex++;
      }
    }
    this.merge = merge!;
  }

  get inputShape(): SampleShape {
    return this.config.input;
  }

  get outputShape(): SampleShape {
    return this.plan[this.plan.length - 1].output;
  }

  /** Every parameter: per layer, column A's then column B's. */
  params(): Param[] {
    return [...this.stages.flatMap((s) => s.params()), ...this.merge.params()];
  }

  /** The parameters of one column (0: A, 1: B), all on that column's device. */
  columnParams(column: Column): Param[] {
    const pieces = new Map(paramPieces(this.config).map((p) => [p.name, p.column]));
    return this.params().filter((p) => pieces.get(p.name) === column);
  }

  parameterCount(): number {
    return this.params().reduce((n, p) => n + p.value.size, 0);
  }

  /**
   * Bytes copied between the columns since the last forward began: forward activations and
   * backward gradients (the count columnTraffic() predicts), and the input image copied to
   * a column on another device (0 when x is on both columns' device).
   */
  get copiedBytes(): Traffic & { input: number; total: number } {
    return { ...this.traffic, total: this.traffic.forward + this.traffic.backward };
  }

  /** Logits (N, classes) on column A's device for x (N, C, H, W) on any device; the caller owns them. */
  forward(x: Tensor, ctx: Context): Tensor {
    this.release();
    this.traffic = { forward: 0, backward: 0, input: 0 };
    // both columns read the whole image; it is copied only to a column on another device
    const onto = (c: Column) => {
      if (x.device.equals(this.devices[c])) return x;
      this.traffic.input += x.size * 4;
      return x.to(this.devices[c]);
    };
    let h: Pair = [onto(0), onto(1)];
    const done = (p: Pair) => {
      for (const t of new Set(p)) {
        if (t === x) continue;
        if (ctx.training) this.activations.push(t);
        else t.dispose();
      }
    };
    for (const stage of this.stages) {
      const out = stage.forward(h, ctx);
      done(h);
      h = out;
    }
    const logits = this.merge.forward(h);
    done(h);
    return logits;
  }

  /**
   * Back-propagates dlogits (on column A's device), setting every parameter's gradient; with
   * inputGrad, also returns the gradient of the input image on column A's device.
   */
  backward(dlogits: Tensor, inputGrad = false): Tensor | null {
    let g = this.merge.backward(dlogits);
    for (let i = this.stages.length - 1; i >= 0; i--) {
      const next = this.stages[i].backward(g, i > 0 || inputGrad);
      for (const t of g) t.dispose();
      if (!next) break;
      g = next;
    }
    this.release();
    if (!inputGrad) return null;
    // both columns read the image: its gradient is the sum of both
    let fromB = g[1];
    if (!g[1].device.equals(this.devices[0])) {
      this.traffic.input += g[1].size * 4;
      fromB = g[1].to(this.devices[0]);
      g[1].dispose();
    }
    addInto(g[0], fromB);
    fromB.dispose();
    return g[0];
  }

  /** Frees the activations (and copies) kept by the last training forward. */
  release(): void {
    for (const t of this.activations) t.dispose();
    this.activations = [];
    for (const s of this.stages) s.release();
  }

  /** The parameters in the single-device layout (what checkpoints hold). */
  singleDeviceParams(): Map<string, NamedArray> {
    return convertParams(this.config, arrays(this.params(), (p) => p.value), 'single');
  }

  /** The optimizer's velocities in the single-device layout. */
  singleDeviceVelocity(sgd: Sgd): Map<string, NamedArray> {
    return convertParams(this.config, arrays(this.params(), (p) => sgd.velocity.get(p.name)!), 'single');
  }

  /**
   * Overwrites the parameters (and the optimizer's velocities, where given) with single-device
   * ones; `source` names them in errors.
   */
  load(weights: ReadonlyMap<string, NamedArray>, velocity: ReadonlyMap<string, NamedArray> | null, sgd: Sgd | null, source = 'parameters'): void {
    const w = convertParams(this.config, weights, 'columns', source);
    const v = sgd && velocity && velocity.size ? convertParams(this.config, velocity, 'columns', source) : null;
    for (const p of this.params()) {
      p.value.write(w.get(p.name)!.data);
      if (v) sgd!.velocity.get(p.name)!.write(v.get(p.name)!.data);
    }
  }

  dispose(): void {
    this.release();
    for (const s of this.stages) s.dispose();
    this.merge.dispose();
  }
}

/** Either network: what the training loop, evaluation and checkpoints take. */
export type AnyNetwork = Network | ColumnNetwork;

function arrays(params: Param[], tensor: (p: Param) => Tensor): Map<string, NamedArray> {
  return new Map(params.map((p) => [p.name, { shape: [...p.value.shape], data: tensor(p).toFloat32Array() }]));
}

/** The single-device network's initial parameters for the seed (the same Philox streams). */
function initialParams(config: ModelConfig, seed: number): Map<string, NamedArray> {
  const net = new Network(config, { seed, device: 'cpu' });
  try {
    return arrays(net.params(), (p) => p.value);
  } finally {
    net.dispose();
  }
}

function convOptions(l: ConvSpec) {
  return { out: l.out / 2, kernel: l.kernel, stride: l.stride, padding: l.padding, groups: 1 };
}

/** A column's own conv or fc block with its bias; its kernels are half of the layer's. */
function weighted(l: ConvSpec | FcSpec, name: string, input: SampleShape, output: SampleShape, weight: Tensor, bias: Tensor): Conv2d | Linear {
  return l.type === 'conv' ? new Conv2d(name, input, convOptions(l), weight, bias) : new Linear(name, input, output[0], weight, bias);
}
