// The paper's optimizer (section 5) and its learning-rate schedules.
//   v <- momentum v - weightDecay lr w - lr grad;  w <- w + v   (every parameter)
import { ArgumentError, describe } from './errors';
import { Param } from './nn/layers';
import * as ops from './ops';
import { Tensor } from './tensor';

export interface SgdConfig {
  lr: number;
  momentum: number;
  weightDecay: number;
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
    for (const p of params) this.velocity.set(p.name, Tensor.zeros(p.value.shape, p.value.device));
  }

  /** One update of every parameter that has a gradient, at learning rate lr. */
  step(lr: number): void {
    for (const p of this.params) {
      if (!p.grad) continue;
      ops.sgdUpdate(p.value, p.grad, this.velocity.get(p.name)!, { lr, momentum: this.config.momentum, weightDecay: this.config.weightDecay });
    }
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}

export type ScheduleState =
  | { kind: 'plateau'; lr: number; best: number; sinceBest: number; drops: number; patience: number; maxDrops: number; factor: number }
  | { kind: 'step'; lr: number; base: number; every: number; factor: number }
  | { kind: 'fixed'; lr: number };

/**
 * The paper's schedule: divide by `factor` (10) when the validation error has not improved
 * for `patience` epochs, at most `maxDrops` (3) times.
 */
export function plateauSchedule(lr: number, patience = 2, maxDrops = 3, factor = 10): ScheduleState {
  return { kind: 'plateau', lr, best: Infinity, sinceBest: 0, drops: 0, patience, maxDrops, factor };
}

/** Divide by `factor` every `every` epochs. */
export function stepSchedule(lr: number, every: number, factor = 10): ScheduleState {
  return { kind: 'step', lr, base: lr, every, factor };
}

/** The schedule after `epoch` (1-based) ended with validation error `valError`. Pure. */
export function nextSchedule(s: ScheduleState, epoch: number, valError: number): ScheduleState {
  switch (s.kind) {
    case 'fixed':
      return s;
    case 'step':
      return { ...s, lr: s.base / s.factor ** Math.floor(epoch / s.every) };
    case 'plateau': {
      if (valError < s.best) return { ...s, best: valError, sinceBest: 0 };
      const sinceBest = s.sinceBest + 1;
      if (sinceBest >= s.patience && s.drops < s.maxDrops)
        return { ...s, lr: s.lr / s.factor, drops: s.drops + 1, sinceBest: 0 };
      return { ...s, sinceBest };
    }
  }
}
