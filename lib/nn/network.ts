// The network on one device: the layers a config's specs describe, in order, with the
// paper's initialisation drawn from one Philox stream per parameter.
import { Device, DeviceLike } from '../core/device';
import { Tensor } from '../core/tensor';
import { NamedArray } from '../io/safetensors';
import { dropoutStreams, fuseByDefault, fusedRelus, makeLayer } from './factory';
import { Context, Conv2d, Layer, Linear, Param } from './layers';
import { expectArray, Model } from './model';
import { inferShapes, ModelConfig, SampleShape, weightShape } from './spec';

export interface BuildOptions {
  /** initialisation seed */
  seed: number;
  device?: DeviceLike;
  /**
   * each ReLU right after a conv or fc layer is applied by that layer's forward (the same
   * result; one pass and one activation fewer); default: on, unless ALEXNET_FUSE=0
   */
  fuse?: boolean;
}

/** A network built from its config on one device: layers in order, softmax cross-entropy applied by the trainer. */
export class Network implements Model {
  readonly layers: Layer[];
  readonly device: Device;
  private activations: Tensor[] = [];

  constructor(readonly config: ModelConfig, build: BuildOptions) {
    const shapes = inferShapes(config);
    const device = (this.device = Device.parse(build.device ?? Device.cpu, 'Network'));
    const stream = dropoutStreams(config.layers);
    let paramIndex = 0;
    // each parameter draws from its own Philox stream of the seed
    const last = config.layers.length - 1;
    const normal = (shape: number[], layer: number) => {
      const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
      // 'he' keeps the classifier at the paper's 0.01 so that the first logits are near 0
      const std = config.options.init === 'he' && layer !== last ? Math.sqrt(2 / fanIn) : 0.01;
      return Tensor.randn(shape, { seed: build.seed, offset: paramIndex++, std, device });
    };
    // the paper's biases of 1 keep ReLUs alive under its tiny weights; with 'he' weights they
    // would add up layer after layer and blow the first logits up, so 'he' starts them at 0
    const bias = (paper: number) => (config.options.init === 'he' ? 0 : paper);
    const fused = fusedRelus(config.layers, build.fuse ?? fuseByDefault());
    this.layers = config.layers.map((l, i) => {
      const input = i === 0 ? config.input : shapes[i - 1];
      const w = weightShape(l, input);
      if (w && (l.type === 'conv' || l.type === 'fc'))
        return makeLayer(l, input, { weight: normal(w, i), bias: Tensor.full([l.out], bias(l.biasInit), device), relu: fused[i + 1] });
      if (l.type === 'relu') return makeLayer(l, input, { applied: fused[i] });
      return makeLayer(l, input, l.type === 'dropout' ? { dropout: stream(i) } : {});
    });
  }

  get inputDevice(): Device {
    return this.device;
  }

  get inputShape(): SampleShape {
    return this.config.input;
  }

  get outputShape(): SampleShape {
    return this.layers[this.layers.length - 1].outputShape;
  }

  params(): Param[] {
    return this.layers.flatMap((l) => l.params());
  }

  parameterCount(): number {
    return this.params().reduce((n, p) => n + p.value.size, 0);
  }

  /**
   * Logits (N, classes) for x (N, C, H, W); the caller owns them. In training the layers'
   * inputs are kept for backward(); in evaluation each is freed as soon as it is used. A fused
   * ReLU returns its input: that tensor lives on as its output.
   */
  forward(x: Tensor, ctx: Context): Tensor {
    this.release();
    let h = x;
    for (const layer of this.layers) {
      const out = layer.forward(h, ctx);
      if (h !== x && out !== h) {
        if (ctx.training) this.activations.push(h);
        else h.dispose();
      }
      h = out;
    }
    return h;
  }

  /** The output of layer `name` (inclusive), in evaluation mode: features for retrieval. */
  forwardTo(x: Tensor, name: string): Tensor {
    const end = this.layers.findIndex((l) => l.name === name);
    if (end < 0) throw new Error(`no layer named ${JSON.stringify(name)}; this model's layers are ${this.layers.map((l) => l.name).join(', ')}`);
    this.release();
    let h = x;
    const ctx = { training: false, seed: 0, step: 0 };
    for (let i = 0; i <= end; i++) {
      const layer = this.layers[i];
      // a conv or fc layer's own output is the one before the ReLU it applies for the next layer
      const out = i === end && (layer instanceof Conv2d || layer instanceof Linear) ? layer.forward(h, ctx, false) : layer.forward(h, ctx);
      if (h !== x && out !== h) h.dispose();
      h = out;
    }
    return h;
  }

  /**
   * Back-propagates dlogits through every layer, setting each parameter's gradient; with
   * inputGrad, also returns the gradient of the input image (the caller owns it).
   */
  backward(dlogits: Tensor, inputGrad = false): Tensor | null {
    let g = dlogits;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const next = this.layers[i].backward(g, i > 0 || inputGrad);
      if (g !== dlogits) g.dispose();
      if (!next) break;
      g = next;
    }
    this.release();
    return inputGrad ? g : null;
  }

  /** Frees the activations kept by the last training forward. */
  release(): void {
    for (const t of this.activations) t.dispose();
    this.activations = [];
  }

  toSingleDevice(pick: (p: Param) => Tensor): Map<string, NamedArray> {
    return new Map(this.params().map((p) => [p.name, { shape: [...p.value.shape], data: pick(p).toFloat32Array() }]));
  }

  fromSingleDevice(arrays: ReadonlyMap<string, NamedArray>, pick: (p: Param) => Tensor, source = 'parameters'): void {
    for (const p of this.params()) pick(p).write(expectArray(arrays, p.name, p.value.shape, source));
  }

  dispose(): void {
    this.release();
    for (const l of this.layers) l.dispose();
  }
}
