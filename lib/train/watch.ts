// Warnings when a run is not learning, so that a run that goes nowhere does not pass for one
// that trains. Two signs, checked after every epoch:
//  - the epoch's mean training loss is above the loss of the run's first step (by more than
//    LOSS_MARGIN, so that the noise of a short epoch is not taken for divergence);
//  - from epoch CHANCE_EPOCHS on, validation top-1 accuracy is at chance: below
//    CHANCE_FACTOR / classes (for 10 classes, under 15%).
// Each is said once per process: a run that goes on regardless is not told every epoch.
import { RunState } from './checkpoint';
import { EpochMetrics } from './metrics';

export const LOSS_MARGIN = 1.1;
export const CHANCE_EPOCHS = 3;
export const CHANCE_FACTOR = 1.5;

const said = new WeakMap<RunState, Set<string>>();

/** The warnings (without the "warning: " prefix) that epoch `m` of the run in `state` calls for. */
export function learningWarnings(state: RunState, m: EpochMetrics, classes: number): string[] {
  const out: string[] = [];
  const seen = said.get(state) ?? new Set<string>();
  said.set(state, seen);
  const hint = 'lower --lr, or try --recipe small (He init, input scale 1/64, batch 32)';
  if (state.startLoss !== undefined && m.train_loss > LOSS_MARGIN * state.startLoss && !seen.has('loss')) {
    seen.add('loss');
    out.push(`not learning: the training loss of epoch ${m.epoch} (${m.train_loss.toFixed(3)}) is above the loss at the start ` +
      `(${state.startLoss.toFixed(3)}); ${hint}`);
  }
  const accuracy = 1 - m.val_top1_error;
  if (m.epoch >= CHANCE_EPOCHS && accuracy < CHANCE_FACTOR / classes && !seen.has('chance')) {
    seen.add('chance');
    out.push(`not learning: validation top-1 accuracy after ${m.epoch} epochs is ${(100 * accuracy).toFixed(1)}%, ` +
      `chance level for ${classes} classes (${(100 / classes).toFixed(1)}%); ${hint}`);
  }
  return out;
}
