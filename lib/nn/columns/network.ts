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
// This is the same function as the single-device model with groups 2 (nn/network.ts), up to
// the order of float32 sums; the plan (columns/plan.ts) maps one parameter set onto the
// other, so checkpoints are always written in the single-device layout.
import { Device, DeviceLike } from '../../core/device';
import { ArgumentError, describe } from '../../core/errors';
import * as ops from '../../core/ops';
import { Tensor } from '../../core/tensor';
import { NamedArray } from '../../io/safetensors';
import { dropoutStreams, fuseByDefault, fusedRelus, makeLayer } from '../factory';
import { Context, Conv2d, Layer, Linear, Param } from '../layers';
import { Model } from '../model';
import { Network } from '../network';
import { LayerSpec, ModelConfig, SampleShape } from '../spec';
import { Column, COLUMNS, ColumnStep, columnPlan, convertParams, LABEL, paramPieces, Traffic } from './plan';

type ConvSpec = Extract<LayerSpec, { type: 'conv' }>;
type FcSpec = Extract<LayerSpec, { type: 'fc' }>;

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
  /**
   * a ReLU right after a conv or fc layer that each column computes alone (a local stage) is
   * applied by that layer (Network's fuse); after a cross stage it stays a layer of its own,
   * since it follows the sum of both columns' blocks. Default: on, unless ALEXNET_FUSE=0
   */
  fuse?: boolean;
}

/**
 * The two-column network: the single-device Network's interface (forward, backward, params,
 * release, dispose), with column A's parameters on devices[0] and column B's on devices[1].
 * The logits are on column A's device.
 */
export class ColumnNetwork implements Model {
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
    const stream = dropoutStreams(config.layers, 2);
    const fused = fusedRelus(config.layers, build.fuse ?? fuseByDefault(), (i) => this.plan[i].kind === 'local');
    this.stages = [];
    let merge: MergeStage | null = null;
    this.plan.forEach((s, i) => {
      const l = s.spec;
      const n = (c: Column) => `${l.name}.${LABEL[c]}`;
      if (s.kind === 'merge') {
        const fc = l as FcSpec;
        merge = new MergeStage(l.name, new Linear(n(0), s.input, fc.out, tensor(`${n(0)}.weight`, 0), tensor(`${n(0)}.bias`, 0)),
          new Unbiased(`${n(1)}.weight`, s.input, s.output, tensor(`${n(1)}.weight`, 1), null), send);
      } else if (s.kind === 'cross') {
        const conv = l.type === 'conv' ? columnSpec(l) : null;
        const own = COLUMNS.map((c) => makeLayer(columnSpec(l as ConvSpec | FcSpec), s.input, { name: n(c), weight: tensor(`${n(c)}.weight`, c), bias: tensor(`${n(c)}.bias`, c) })) as [Conv2d | Linear, Conv2d | Linear];
        const from = COLUMNS.map((c) => {
          const name = `${n(c)}.weight.from_${LABEL[1 - c]}`;
          return new Unbiased(name, s.input, s.output, tensor(name, c), conv);
        }) as [Unbiased, Unbiased];
        this.stages.push(new CrossStage(l.name, own, from, send));
      } else {
        const layer = (c: Column): Layer => {
          if (l.type === 'conv' || l.type === 'fc')
            return makeLayer(columnSpec(l), s.input, { name: n(c), weight: tensor(`${n(c)}.weight`, c), bias: tensor(`${n(c)}.bias`, c), relu: fused[i + 1] });
          if (l.type === 'relu') return makeLayer(l, s.input, { name: n(c), applied: fused[i] });
          // within a column an LRN window is already confined to it; each column draws its own dropout masks
          if (l.type === 'lrn') return makeLayer({ ...l, groups: s.replicated ? l.groups : 1 }, s.input, { name: n(c) });
          return makeLayer(l, s.input, { name: n(c), dropout: l.type === 'dropout' ? stream(i, c) : undefined });
        };
        this.stages.push(new LocalStage(l.name, [layer(0), layer(1)]));
      }
    });
    this.merge = merge!;
  }

  /** column A's device: the logits are there, and an input there is not copied for A */
  get inputDevice(): Device {
    return this.devices[0];
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
    // a stage's inputs, once it has run: kept for backward or freed, except x and any input
    // that is also an output (a fused ReLU returns its input)
    const done = (p: Pair, out: readonly Tensor[]) => {
      for (const t of new Set(p)) {
        if (t === x || out.includes(t)) continue;
        if (ctx.training) this.activations.push(t);
        else t.dispose();
      }
    };
    for (const stage of this.stages) {
      const out = stage.forward(h, ctx);
      done(h, out);
      h = out;
    }
    const logits = this.merge.forward(h);
    done(h, [logits]);
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

  toSingleDevice(pick: (p: Param) => Tensor): Map<string, NamedArray> {
    return convertParams(this.config, arrays(this.params(), pick), 'single');
  }

  fromSingleDevice(source: ReadonlyMap<string, NamedArray>, pick: (p: Param) => Tensor, name = 'parameters'): void {
    const split = convertParams(this.config, source, 'columns', name);
    for (const p of this.params()) pick(p).write(split.get(p.name)!.data);
  }

  /** The parameters in the single-device layout (what checkpoints hold). */
  singleDeviceParams(): Map<string, NamedArray> {
    return this.toSingleDevice((p) => p.value);
  }

  /** An optimizer's velocities in the single-device layout. */
  singleDeviceVelocity(sgd: { velocity: ReadonlyMap<string, Tensor> }): Map<string, NamedArray> {
    return this.toSingleDevice((p) => sgd.velocity.get(p.name)!);
  }

  dispose(): void {
    this.release();
    for (const s of this.stages) s.dispose();
    this.merge.dispose();
  }
}

/** Either network (kept for callers of the earlier API; new code takes a Model). */
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

/** A column's own share of a conv or fc layer: half of its kernels, reading one column (groups 1). */
function columnSpec<S extends ConvSpec | FcSpec>(l: S): S {
  return l.type === 'conv' ? { ...l, out: l.out / 2, groups: 1 } : { ...l, out: l.out / 2 };
}
