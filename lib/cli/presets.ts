// The training recipes' defaults, in one place: the paper's, and the built-in run's (a small
// AlexNet on the built-in synthetic set, in minutes on a CPU). The flag help is made from these.
import type { ModelOptions } from '../nn/spec';

export interface Recipe {
  model: Partial<ModelOptions>;
  batchSize: number;
  epochs: number;
  lr: number;
  schedule: 'plateau' | 'step' | 'fixed';
  /** step schedule: epochs between divisions by 10 */
  stepEvery: number;
}

/** The paper's: batch 128, lr 0.01 divided by 10 on validation plateaus, about 90 epochs. */
export const PAPER: Recipe = { model: {}, batchSize: 128, epochs: 90, lr: 0.01, schedule: 'plateau', stepEvery: 30 };

/** With no --data: a quarter-width AlexNet on 67x67 crops, He init and scaled inputs so it learns fast; lr / 10 after epoch 20, so the run's length is known in advance. */
export const BUILTIN: Recipe = {
  model: { width: 0.25, crop: 67, init: 'he', inputScale: 1 / 64 },
  batchSize: 32,
  epochs: 30,
  lr: 0.01,
  schedule: 'step',
  stepEvery: 20,
};
