// Layers: thin classes over the ops. Each keeps what its backward needs from its forward
// (references only: the Network owns and frees activations), and sets its parameters'
// gradients in backward. Shapes are per sample: (C, H, W) for maps, (F) for vectors.
// A conv or fc layer followed by a ReLU may apply that ReLU itself (relu: the op's fused
// epilogue); the ReLU layer then runs 'applied': its forward returns its input, the same
// tensor (a network must not free it as the ReLU's input), and its backward is unchanged.
import { outputSize } from '../core/geometry';
import * as ops from '../core/ops';
import { Tensor } from '../core/tensor';
import { DropoutStyle, SampleShape } from './spec';

export { SampleShape };

export interface Param {
  /** e.g. 'conv1.weight' */
  name: string;
  value: Tensor;
  grad: Tensor | null;
}

export interface Context {
  training: boolean;
  /** dropout key */
  seed: number;
  /** global step: with the layer's index it picks a fresh Philox stream per step */
  step: number;
  /**
   * Data-parallel training: this batch is rows [start, start + N) of a global batch of `total`
   * images. Dropout then draws the global batch's mask and keeps these rows, so that an image's
   * mask depends on its place in the global batch, never on the number of ranks.
   */
  rows?: { start: number; total: number };
}

export abstract class Layer {
  constructor(
    readonly name: string,
    readonly inputShape: SampleShape,
    readonly outputShape: SampleShape,
  ) {}

  params(): Param[] {
    return [];
  }

  abstract forward(x: Tensor, ctx: Context): Tensor;

  /** Returns dx (null when inputGrad is false); sets the parameters' gradients. */
  abstract backward(dy: Tensor, inputGrad: boolean): Tensor | null;

  /** Frees parameters and gradients. */
  dispose(): void {
    for (const p of this.params()) {
      p.value.dispose();
      p.grad?.dispose();
      p.grad = null;
    }
  }
}

function setGrad(p: Param, g: Tensor | undefined): void {
  p.grad?.dispose();
  p.grad = g ?? null;
}

/** A layer with a weight and a bias, whose backward sets both gradients. */
abstract class WeightedLayer extends Layer {
  readonly weight: Param;
  readonly bias: Param;
  protected x: Tensor | null = null;

  constructor(name: string, inputShape: SampleShape, outputShape: SampleShape, weight: Tensor, bias: Tensor) {
    super(name, inputShape, outputShape);
    this.weight = { name: `${name}.weight`, value: weight, grad: null };
    this.bias = { name: `${name}.bias`, value: bias, grad: null };
  }

  override params(): Param[] {
    return [this.weight, this.bias];
  }

  protected setGrads(g: { dx?: Tensor; dweight: Tensor; dbias?: Tensor }): Tensor | null {
    setGrad(this.weight, g.dweight);
    setGrad(this.bias, g.dbias);
    return g.dx ?? null;
  }
}

export class Conv2d extends WeightedLayer {
  /** relu: the output is max(0, conv + bias), the ReLU layer after this one being 'applied' */
  constructor(
    name: string,
    inputShape: SampleShape,
    readonly options: { out: number; kernel: number; stride: number; padding: number; groups: number },
    weight: Tensor,
    bias: Tensor,
    readonly relu = false,
  ) {
    const [, h, w] = inputShape;
    const { out, kernel, stride, padding } = options;
    super(name, inputShape, [out, outputSize(h, kernel, stride, padding), outputSize(w, kernel, stride, padding)], weight, bias);
  }

  /** relu: whether to apply the fused ReLU (false: the layer's own output, for features) */
  forward(x: Tensor, _ctx?: Context, relu = this.relu): Tensor {
    this.x = x;
    const { stride, padding, groups } = this.options;
    return ops.conv2d(x, this.weight.value, this.bias.value, { stride, padding, groups, relu });
  }

  backward(dy: Tensor, inputGrad: boolean): Tensor | null {
    return this.setGrads(ops.conv2dBackward(this.x!, this.weight.value, dy, this.options, { inputGrad }));
  }
}

export class Linear extends WeightedLayer {
  /** relu: the output is max(0, x w^T + bias), the ReLU layer after this one being 'applied' */
  constructor(name: string, inputShape: SampleShape, out: number, weight: Tensor, bias: Tensor, readonly relu = false) {
    super(name, inputShape, [out], weight, bias);
  }

  /** relu: whether to apply the fused ReLU (false: the layer's own output, for features) */
  forward(x: Tensor, _ctx?: Context, relu = this.relu): Tensor {
    this.x = x;
    return ops.linear(x, this.weight.value, this.bias.value, { relu });
  }

  backward(dy: Tensor, inputGrad: boolean): Tensor | null {
    return this.setGrads(ops.linearBackward(this.x!, this.weight.value, dy, { inputGrad }));
  }
}

export class Lrn extends Layer {
  private x: Tensor | null = null;

  constructor(name: string, inputShape: SampleShape, readonly options: ops.LrnOptions) {
    super(name, inputShape, inputShape);
  }

  forward(x: Tensor): Tensor {
    this.x = x;
    return ops.lrn(x, this.options);
  }

  backward(dy: Tensor, inputGrad: boolean): Tensor | null {
    return inputGrad ? ops.lrnBackward(this.x!, dy, this.options) : null;
  }
}

export class MaxPool2d extends Layer {
  private x: Tensor | null = null;
  private y: Tensor | null = null;

  constructor(name: string, inputShape: SampleShape, readonly options: { kernel: number; stride: number }) {
    const [c, h, w] = inputShape;
    super(name, inputShape, [c, outputSize(h, options.kernel, options.stride, 0), outputSize(w, options.kernel, options.stride, 0)]);
  }

  forward(x: Tensor): Tensor {
    this.x = x;
    this.y = ops.maxPool2d(x, this.options);
    return this.y;
  }

  backward(dy: Tensor, inputGrad: boolean): Tensor | null {
    return inputGrad ? ops.maxPool2dBackward(this.x!, this.y!, dy, this.options) : null;
  }
}

export class Activation extends Layer {
  private y: Tensor | null = null;

  /**
   * applied (relu only): the layer before applied this ReLU in its own forward (Conv2d's or
   * Linear's relu), so forward returns its input x itself, already max(0, .): no pass, no
   * copy. backward is the same either way: dx = dy where y > 0, y being that tensor.
   */
  constructor(name: string, inputShape: SampleShape, readonly kind: 'relu' | 'tanh', readonly applied = false) {
    super(name, inputShape, inputShape);
    if (applied && kind !== 'relu') throw new Error(`${name}: only a ReLU can be applied by the layer before it`);
  }

  forward(x: Tensor): Tensor {
    this.y = this.applied ? x : this.kind === 'relu' ? ops.relu(x) : ops.tanh(x);
    return this.y;
  }

  backward(dy: Tensor, inputGrad: boolean): Tensor | null {
    if (!inputGrad) return null;
    return this.kind === 'relu' ? ops.reluBackward(this.y!, dy) : ops.tanhBackward(this.y!, dy);
  }
}

export class Dropout extends Layer {
  private mask: Tensor | null = null;

  /**
   * index: this layer's place among the network's dropout layers (its Philox stream). style
   * 'paper': kept values unscaled in training, (1 - p) at test; 'inverted': kept values times
   * 1 / (1 - p) in training, the identity at test.
   */
  constructor(name: string, inputShape: SampleShape, readonly p: number, readonly index: number, readonly streams: number,
    readonly style: DropoutStyle = 'paper') {
    super(name, inputShape, inputShape);
  }

  forward(x: Tensor, ctx: Context): Tensor {
    this.mask?.dispose();
    this.mask = null;
    const inverted = this.style === 'inverted';
    // inverted at test: a copy (p 0 multiplies by 1), since the network frees each layer's input
    if (!ctx.training) return ops.dropout(x, { p: inverted ? 0 : this.p, training: false }).y;
    const offset = ctx.step * this.streams + this.index;
    const rows = ctx.rows;
    let mask: Tensor;
    if (rows && (rows.start !== 0 || rows.total !== x.shape[0])) {
      // element i of the global (total, ...) batch draws Philox number i: draw them all, keep ours
      const per = x.size / x.shape[0];
      const ones = Tensor.full([rows.total, ...x.shape.slice(1)], 1, x.device);
      const whole = ops.dropout(ones, { p: this.p, training: true, seed: ctx.seed, offset });
      mask = Tensor.fromArray(whole.mask!.toFloat32Array().subarray(rows.start * per, (rows.start + x.shape[0]) * per), x.shape, x.device);
      for (const t of [ones, whole.y, whole.mask!]) t.dispose();
    } else {
      const { y, mask: m } = ops.dropout(x, { p: this.p, training: true, seed: ctx.seed, offset });
      if (!inverted) {
        this.mask = m!;
        return y;
      }
      y.dispose();
      mask = m!;
    }
    if (!inverted) {
      this.mask = mask;
      return ops.dropoutBackward(x, this.mask);  // x * mask, as the training forward computes it
    }
    // the same 0/1 mask scaled by 1 / (1 - p); dropoutBackward is the elementwise product
    // with a mask, so y = x * mask' and dx = dy * mask' both use it
    const scale = Tensor.full(mask.shape, 1 / (1 - this.p), x.device);
    this.mask = ops.dropoutBackward(scale, mask);
    scale.dispose();
    mask.dispose();
    return ops.dropoutBackward(x, this.mask);
  }

  backward(dy: Tensor, inputGrad: boolean): Tensor | null {
    return inputGrad ? ops.dropoutBackward(dy, this.mask!) : null;
  }

  override dispose(): void {
    this.mask?.dispose();
    this.mask = null;
  }
}

/** (N, C, H, W) -> (N, C*H*W). Copies, so that its output owns its memory. */
export class Flatten extends Layer {
  constructor(name: string, inputShape: SampleShape) {
    super(name, inputShape, [inputShape.reduce((a, b) => a * b, 1)]);
  }

  forward(x: Tensor): Tensor {
    return reshapeCopy(x, [x.shape[0], ...this.outputShape]);
  }

  backward(dy: Tensor, inputGrad: boolean): Tensor | null {
    return inputGrad ? reshapeCopy(dy, [dy.shape[0], ...this.inputShape]) : null;
  }
}

function reshapeCopy(x: Tensor, shape: readonly number[]): Tensor {
  const out = Tensor.empty(shape, x.device);
  const view = out.reshape(x.shape);
  ops.copy(x, view);
  view.dispose();
  return out;
}

/** Softmax + cross-entropy, mean over the batch: the loss at the top of the network. */
export class SoftmaxCrossEntropy {
  private probs: Tensor | null = null;
  private labels: Int32Array | null = null;

  /** Returns the mean loss and keeps the probabilities (read them with probabilities()). */
  forward(logits: Tensor, labels: Int32Array): number {
    this.probs?.dispose();
    const { loss, probs } = ops.softmaxCrossEntropy(logits, labels);
    this.probs = probs;
    this.labels = labels;
    return loss;
  }

  probabilities(): Tensor {
    if (!this.probs) throw new Error('SoftmaxCrossEntropy: forward was not called');
    return this.probs;
  }

  backward(): Tensor {
    if (!this.probs || !this.labels) throw new Error('SoftmaxCrossEntropy: forward was not called');
    return ops.softmaxCrossEntropyBackward(this.probs, this.labels);
  }

  dispose(): void {
    this.probs?.dispose();
    this.probs = null;
  }
}
