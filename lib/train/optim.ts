// The paper's optimizer (section 5); its learning-rate schedules are in schedule.ts.
//   v <- momentum v - weightDecay lr w - lr grad;  w <- w + v   (every parameter)
import { ArgumentError, describe } from '../core/errors';
import { Param } from '../nn/layers';
import * as ops from '../core/ops';
import { Tensor } from '../core/tensor';

export interface SgdConfig {
  lr: number;
  momentum: number;
  weightDecay: number;
  /**
   * learning-rate multipliers by layer name (as cuda-convnet's epsW and Caffe's lr_mult): a
   * layer's parameters step at lr times its multiplier; 0 freezes the layer (no update, no
   * weight decay). Layers not named step at lr.
   */
  layerLr?: Record<string, number>;
}

export class Sgd {
  /** velocity per parameter name, on the parameter's device */
  readonly velocity = new Map<string, Tensor>();

  constructor(
    readonly params: Param[],
    public config: SgdConfig,
  ) {
    const op = 'Sgd';
    if (!(Number.isFinite(config.lr) && config.lr >= 0)) throw new ArgumentError(op, 'lr', 'a finite number >= 0', describe(config.lr));
    if (!(Number.isFinite(config.momentum) && config.momentum >= 0 && config.momentum < 1))
      throw new ArgumentError(op, 'momentum', 'a number in [0, 1)', describe(config.momentum));
    if (!(Number.isFinite(config.weightDecay) && config.weightDecay >= 0))
      throw new ArgumentError(op, 'weightDecay', 'a finite number >= 0', describe(config.weightDecay));
    for (const [layer, m] of Object.entries(config.layerLr ?? {}))
      if (!(Number.isFinite(m) && m >= 0)) throw new ArgumentError(op, `layerLr.${layer}`, 'a finite number >= 0', describe(m));
    for (const p of params) this.velocity.set(p.name, Tensor.zeros(p.value.shape, p.value.device));
  }

  /** One update of every parameter that has a gradient, at learning rate lr. */
  step(lr: number): void {
    for (const p of this.params) {
      const mult = this.config.layerLr?.[p.name.split('.')[0]] ?? 1;  // 'conv2.weight', or a column's 'conv2.A.weight'
      if (!p.grad || mult === 0) continue;
      ops.sgdUpdate(p.value, p.grad, this.velocity.get(p.name)!, { lr: lr * mult, momentum: this.config.momentum, weightDecay: this.config.weightDecay });
    }
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}
