// The learning-rate schedules: the paper's (divide by 10 on a validation plateau), a fixed
// step, or none. Pure values: the run state stores them in checkpoints.

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
