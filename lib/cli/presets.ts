// The training recipes' defaults, in one place: the paper's, the small-data one, and the
// built-in run's (a small AlexNet on the built-in synthetic set, in minutes on a CPU). The flag
// help is made from these, and chooseRecipe() picks one from the data (--recipe auto).
import type { ModelOptions } from '../nn/spec';

export interface Recipe {
  name: 'paper' | 'small' | 'builtin';
  model: Partial<ModelOptions>;
  batchSize: number;
  epochs: number;
  lr: number;
  schedule: 'plateau' | 'step' | 'fixed';
  /** step schedule: epochs between divisions by 10 */
  stepEvery: number;
}

/** The paper's: batch 128, lr 0.01 divided by 10 on validation plateaus, about 90 epochs. */
export const PAPER: Recipe = { name: 'paper', model: {}, batchSize: 128, epochs: 90, lr: 0.01, schedule: 'plateau', stepEvery: 30 };

/** With no --data: a quarter-width AlexNet on 67x67 crops, He init and scaled inputs so it learns fast; lr / 10 after epoch 20, so the run's length is known in advance. */
export const BUILTIN: Recipe = {
  name: 'builtin',
  model: { width: 0.25, crop: 67, init: 'he', inputScale: 1 / 64 },
  batchSize: 32,
  epochs: 30,
  lr: 0.01,
  schedule: 'step',
  stepEvery: 20,
};

/**
 * Below SMALL_DATA images: He init, inputs scaled by 1/64 and batch 32, which learn on a few
 * hundred photos where the paper's N(0, 0.01) init, 0..255 inputs and batch 128 do not (one
 * step an epoch, the loss rising). The paper's recipe is for ImageNet's 1.2 million images.
 */
export const SMALL: Recipe = {
  name: 'small',
  model: { init: 'he', inputScale: 1 / 64 },
  batchSize: 32,
  epochs: 30,
  lr: 0.01,
  schedule: 'step',
  stepEvery: 20,
};

/** Training images below which --recipe auto picks SMALL. */
export const SMALL_DATA = 20_000;

export const RECIPES = { paper: PAPER, small: SMALL, builtin: BUILTIN } as const;

/**
 * The recipe for a run: the one asked for, or (auto) the built-in run's on the built-in set,
 * the small-data one under SMALL_DATA training images, else the paper's. `why` says why, for
 * the line the run starts with.
 */
export function chooseRecipe(asked: 'auto' | 'paper' | 'small', data: { builtIn: boolean; trainImages: number }): { recipe: Recipe; why: string } {
  if (asked !== 'auto') return { recipe: RECIPES[asked], why: `--recipe ${asked}` };
  if (data.builtIn) return { recipe: BUILTIN, why: 'the built-in data set' };
  const n = data.trainImages.toLocaleString('en-US');
  if (data.trainImages < SMALL_DATA) return { recipe: SMALL, why: `small data set: ${n} training images, under ${SMALL_DATA.toLocaleString('en-US')}` };
  return { recipe: PAPER, why: `${n} training images, ${SMALL_DATA.toLocaleString('en-US')} or more` };
}

/** "He init, input scale 1/64, batch 32, lr 0.01 divided by 10 every 20 epochs". */
export function describeRecipe(r: Recipe): string {
  const init = r.model.init === 'he' ? 'He init' : 'N(0, 0.01) init';
  const scale = r.model.inputScale && r.model.inputScale !== 1 ? `input scale 1/${Math.round(1 / r.model.inputScale)}` : 'inputs in 0..255';
  const schedule = r.schedule === 'step' ? `divided by 10 every ${r.stepEvery} epochs`
    : r.schedule === 'plateau' ? 'divided by 10 on validation plateaus' : 'fixed';
  const shape = r.model.width !== undefined ? `width ${r.model.width}, crop ${r.model.crop}, ` : '';
  return `${shape}${init}, ${scale}, batch ${r.batchSize}, lr ${r.lr} ${schedule}, ${r.epochs} epochs`;
}
