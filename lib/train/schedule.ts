// The learning-rate schedules: the paper's (divide by 10 on a validation plateau), a fixed
// step, or none. Pure values: the run state stores them in checkpoints.

export type ScheduleState =
  | { kind: 'plateau'; lr: number; best: number; sinceBest: number; drops: number; patience: number; maxDrops: number; factor: number; minSteps?: number }
  | { kind: 'step'; lr: number; base: number; every: number; factor: number }
  | { kind: 'fixed'; lr: number };

/**
 * Optimizer steps before the plateau schedule may divide the rate. Validation error over a
 * handful of steps is noise, not a plateau: on a small data set at the paper's batch size an
 * epoch can be one step, and patience 2 would cut the rate three times in eight steps. At
 * ImageNet scale (10,000 steps an epoch) this never binds.
 */
export const PLATEAU_MIN_STEPS = 500;

/**
 * The paper's schedule: divide by `factor` (10) when the validation error has not improved
 * for `patience` epochs, at most `maxDrops` (3) times, and never before `minSteps` steps.
 */
export function plateauSchedule(lr: number, patience = 2, maxDrops = 3, factor = 10, minSteps = PLATEAU_MIN_STEPS): ScheduleState {
  return { kind: 'plateau', lr, best: Infinity, sinceBest: 0, drops: 0, patience, maxDrops, factor, minSteps };
}

/** Divide by `factor` every `every` epochs. */
export function stepSchedule(lr: number, every: number, factor = 10): ScheduleState {
  return { kind: 'step', lr, base: lr, every, factor };
}

/** The schedule after `epoch` (1-based) ended with validation error `valError`, `steps` optimizer steps into the run. Pure. */
export function nextSchedule(s: ScheduleState, epoch: number, valError: number, steps = Infinity): ScheduleState {
  switch (s.kind) {
    case 'fixed':
      return s;
    case 'step':
      return { ...s, lr: s.base / s.factor ** Math.floor(epoch / s.every) };
    case 'plateau': {
      if (valError < s.best) return { ...s, best: valError, sinceBest: 0 };
      const sinceBest = s.sinceBest + 1;
      if (sinceBest >= s.patience && s.drops < s.maxDrops && steps >= (s.minSteps ?? 0))
        return { ...s, lr: s.lr / s.factor, drops: s.drops + 1, sinceBest: 0 };
      return { ...s, sinceBest };
    }
  }
}
