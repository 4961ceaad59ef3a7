// The one interface every network implements (the single-device Network, the paper's two
// columns, ...): what the training loop, checkpoints, evaluation, prediction and the
// benchmarks use, so that none of them branches on the kind of network.
import { Device } from '../core/device';
import { Tensor } from '../core/tensor';
import { NamedArray } from '../io/safetensors';
import { Context, Param } from './layers';
import { ModelConfig, SampleShape } from './spec';

export interface Model {
  readonly config: ModelConfig;
  /** where forward()'s input belongs (an input elsewhere is copied there) */
  readonly inputDevice: Device;
  readonly inputShape: SampleShape;
  readonly outputShape: SampleShape;
  /** every parameter, each on its own device */
  params(): Param[];
  parameterCount(): number;
  /**
   * Logits (N, classes) for x (N, C, H, W), on inputDevice; the caller owns them. In training
   * what backward() needs is kept; in evaluation it is freed as soon as it is used.
   */
  forward(x: Tensor, ctx: Context): Tensor;
  /** Sets every parameter's gradient; with inputGrad, returns the input image's gradient. */
  backward(dlogits: Tensor, inputGrad?: boolean): Tensor | null;
  /** Frees what the last training forward kept. */
  release(): void;
  dispose(): void;
  /**
   * Tensors laid out like params() (the values, or an optimizer's velocities: `pick` says
   * which) as host arrays in the single-device layout, the layout checkpoints hold.
   */
  toSingleDevice(pick: (p: Param) => Tensor): Map<string, NamedArray>;
  /** Writes single-device arrays into the tensors `pick` gives; `source` names them in errors. */
  fromSingleDevice(arrays: ReadonlyMap<string, NamedArray>, pick: (p: Param) => Tensor, source?: string): void;
}

/** The single-device array of `name`, checked against the shape the model expects. */
export function expectArray(arrays: ReadonlyMap<string, NamedArray>, name: string, shape: readonly number[], source: string): Float32Array {
  const a = arrays.get(name);
  if (!a) throw new Error(`${source}: no tensor ${name} for this model`);
  if (a.shape.join(',') !== shape.join(',')) throw new Error(`${source}: ${name} has shape [${a.shape}] but the model expects [${shape}]`);
  return a.data;
}
