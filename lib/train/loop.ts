// The training loop, as small named functions (pytorch/examples' imagenet/main.py shape):
// trainStep / trainEpoch / evaluate / checkpoint, and fit() around them. Every network is a
// Model (nn/model.ts), so nothing here knows whether it runs on one device or two.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Device, DeviceLike, parseDevices } from '../core/device';
import { Tensor } from '../core/tensor';
import { PreparedData, openPrepared } from '../data/format';
import { EventWriter } from '../io/tfevents';
import { Batch, DataLoader } from '../data/loader';
import { buildNetwork } from '../nn/build';
import { SoftmaxCrossEntropy } from '../nn/layers';
import { Model } from '../nn/model';
import { alexnet, ModelConfig, ModelOptions } from '../nn/spec';
import { Checkpoint, InputSpec, loadCheckpoint, restore, RunState, runFiles, saveCheckpoint } from './checkpoint';
import { evaluate } from './evaluate';
import { FineTuneOptions, initFrom, layerLr } from './finetune';
import { appendMetrics, EpochMetrics, tensorboardScalars, formatDuration, formatEpoch, topkErrors } from './metrics';
import { Sgd } from './optim';
import { nextSchedule, plateauSchedule, stepSchedule } from './schedule';

export interface FitOptions extends FineTuneOptions {
  /** a prepared folder (lib/data) */
  data: string;
  /** where checkpoints and metrics.jsonl go */
  out: string;
  model: Partial<ModelOptions>;
  batchSize: number;
  epochs: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: 'plateau' | 'step' | 'fixed';
  /** plateau: epochs without improvement before dividing the lr by 10 */
  patience: number;
  /** step: divide the lr by 10 every this many epochs */
  stepEvery: number;
  /**
   * one device, or two: the paper's two columns, one per device (a list, or the text form
   * 'cuda:0,cuda:1')
   */
  device: DeviceLike | readonly DeviceLike[];
  seed: number;
  resume: boolean;
  /** start afresh in an out folder that already holds a run (its checkpoints are replaced) */
  overwrite?: boolean;
  tenCrop: boolean;
  /** data worker threads (0: in this thread) */
  workers: number;
  /** stop training after this many batches per epoch (0: all); for quick runs */
  maxBatches: number;
  /** draw the progress bar */
  progress: boolean;
  /** stop after the current batch, save and return (Ctrl-C) */
  signal?: AbortSignal;
  /** called after every optimizer step with the number of steps taken */
  onStep?: (step: number) => void;
  log: (line: string) => void;
}

export { EpochMetrics, RunState };

export interface FitResult {
  state: RunState;
  metrics: EpochMetrics[];
  interrupted: boolean;
  lastCheckpoint: string;
  bestCheckpoint: string;
  metricsFile: string;
}

/** One SGD step on a batch already on the network's input device. Returns the loss and top-1 misses. */
export function trainStepOn(net: Model, sgd: Sgd, xent: SoftmaxCrossEntropy, x: Tensor, labels: Int32Array,
  o: { seed: number; step: number; lr: number }): { loss: number; top1Errors: number } {
  const logits = net.forward(x, { training: true, seed: o.seed, step: o.step });
  const loss = xent.forward(logits, labels);
  const classes = logits.shape[1];
  const { top1 } = topkErrors(xent.probabilities().toFloat32Array(), classes, labels);
  if (Number.isFinite(loss)) {
    const dlogits = xent.backward();
    net.backward(dlogits);
    dlogits.dispose();
    sgd.step(o.lr);
  } else {
    net.release();
  }
  logits.dispose();
  return { loss, top1Errors: top1 };
}

/** One SGD step on one batch: forward, loss, backward, update. Returns the loss and top-1 misses. */
export function trainStep(net: Model, sgd: Sgd, xent: SoftmaxCrossEntropy, batch: Batch,
  o: { device?: DeviceLike; seed: number; step: number; lr: number }): { loss: number; top1Errors: number } {
  const x = Tensor.fromArray(batch.images, batch.shape, o.device ?? net.inputDevice);
  try {
    return trainStepOn(net, sgd, xent, x, batch.labels, o);
  } finally {
    x.dispose();
  }
}

/** Everything one run of fit() works with. */
export interface Run {
  opts: FitOptions;
  files: ReturnType<typeof runFiles>;
  state: RunState;
  net: Model;
  sgd: Sgd;
  xent: SoftmaxCrossEntropy;
  train: DataLoader;
  val: DataLoader;
  input: InputSpec;
  /** TensorBoard's event file in the run folder */
  events: EventWriter;
}

/** The state of a run that starts now. */
function freshState(opts: FitOptions): RunState {
  return {
    epoch: 0, batchInEpoch: 0, step: 0, seed: opts.seed, bestValTop1: Infinity,
    schedule: opts.schedule === 'plateau' ? plateauSchedule(opts.lr, opts.patience)
      : opts.schedule === 'step' ? stepSchedule(opts.lr, opts.stepEvery) : { kind: 'fixed', lr: opts.lr },
    partial: { loss: 0, errors: 0, images: 0, seconds: 0, dataSeconds: 0 },
  };
}

/** The checkpoint to resume from (null for a fresh run); refuses to overwrite a run by accident. */
function checkpointToResume(opts: FitOptions, last: string, config: ModelConfig): Checkpoint | null {
  if (!opts.resume && !opts.overwrite && fs.existsSync(last))
    throw new Error(`${opts.out} already holds a run (${last}): use --resume to continue it, --overwrite to start it again, or another --out`);
  if (!opts.resume) return null;
  if (!fs.existsSync(last)) throw new Error(`--resume: no checkpoint to resume from at ${last}`);
  const ck = loadCheckpoint(last);
  if (JSON.stringify(ck.config.options) !== JSON.stringify(config.options))
    throw new Error(`--resume: the checkpoint's model (${JSON.stringify(ck.config.options)}) differs from the one asked for (${JSON.stringify(config.options)})`);
  return ck;
}

/** The network, optimizer and loaders of a fresh or resumed run. */
function openRun(opts: FitOptions, devices: Device[], prepared: PreparedData): Run {
  const files = runFiles(opts.out);
  fs.mkdirSync(opts.out, { recursive: true });
  let config = alexnet({ ...opts.model, classes: prepared.classes.length });
  let state = freshState(opts);
  const ck = checkpointToResume(opts, files.last, config);
  if (ck) {
    config = ck.config;
    state = ck.state;
    opts.log(`resuming from ${files.last}: epoch ${state.epoch}${state.batchInEpoch ? `, batch ${state.batchInEpoch}` : ''}, step ${state.step}`);
  }
  const { crop, inputScale: scale } = config.options;
  const train = new DataLoader(prepared, { split: 'train', batchSize: opts.batchSize, crop, scale, seed: state.seed, workers: opts.workers });
  const val = new DataLoader(prepared, { split: 'val', mode: opts.tenCrop ? 'tencrop' : 'center', batchSize: opts.batchSize, crop, scale, workers: opts.workers });
  const input: InputSpec = { classes: prepared.classes, size: prepared.size, mean: prepared.mean, data: path.resolve(opts.data),
    ...(prepared.index.classNames ? { names: prepared.index.classNames } : {}) };
  const net = buildNetwork(config, state.seed, devices);
  const sgd = new Sgd(net.params(), { lr: state.schedule.lr, momentum: opts.momentum, weightDecay: opts.weightDecay, layerLr: layerLr(config, opts) });
  if (ck) restore(net, sgd, ck, files.last);
  else if (opts.initFrom) initFrom(net, opts.initFrom, opts.log);
  if (!opts.resume && fs.existsSync(files.metrics)) fs.rmSync(files.metrics);
  const events = new EventWriter(opts.out, { fresh: !opts.resume });
  return { opts, files, state, net, sgd, xent: new SoftmaxCrossEntropy(), train, val, input, events };
}

/**
 * Trains one epoch (or what is left of an interrupted one) at the schedule's rate. Returns the
 * epoch's sums, and whether it stopped early on the signal.
 */
export async function trainEpoch(run: Run): Promise<{ sums: RunState['partial']; interrupted: boolean; batches: number }> {
  const { opts, state, train } = run;
  const epoch = state.epoch;  // 0-based here, 1-based in what is printed and recorded
  const lr = state.schedule.lr;
  const batches = opts.maxBatches ? Math.min(opts.maxBatches, train.batchesPerEpoch) : train.batchesPerEpoch;
  const sums = { ...state.partial };
  const started = Date.now();
  let waitStart = Date.now();
  let dataSeconds = 0, shown = 0, interrupted = false;
  for await (const batch of train.epoch(epoch)) {
    if (batch.batch >= batches) break;
    if (batch.batch < state.batchInEpoch) continue;  // done before the interruption
    dataSeconds += (Date.now() - waitStart) / 1000;
    const loss = trainStep(run.net, run.sgd, run.xent, batch, { seed: state.seed, step: state.step, lr });
    train.release(batch);
    if (!Number.isFinite(loss.loss)) {
      throw new Error(`training diverged: the loss is ${loss.loss} at epoch ${epoch + 1}, batch ${batch.batch + 1} ` +
        `(lr ${lr}); the last good checkpoint is ${fs.existsSync(run.files.last) ? run.files.last : 'not written yet'}. Try a lower --lr.`);
    }
    state.step++;
    state.batchInEpoch = batch.batch + 1;
    opts.onStep?.(state.step);
    sums.loss += loss.loss * batch.labels.length;
    sums.errors += loss.top1Errors;
    sums.images += batch.labels.length;
    if (opts.progress && Date.now() - shown > 200) {
      shown = Date.now();
      const seconds = sums.seconds + (Date.now() - started) / 1000;
      const rate = sums.images / seconds;
      const eta = ((batches - state.batchInEpoch) * opts.batchSize) / rate;
      process.stderr.write(`\repoch ${epoch + 1}/${opts.epochs} ${state.batchInEpoch}/${batches} loss ${(sums.loss / sums.images).toFixed(4)} ` +
        `${rate.toFixed(0)} img/s data ${(sums.dataSeconds + dataSeconds).toFixed(1)}s compute ${(seconds - sums.dataSeconds - dataSeconds).toFixed(1)}s ETA ${formatDuration(eta)}\x1b[K`);
    }
    if (opts.signal?.aborted) {
      interrupted = true;
      break;
    }
    waitStart = Date.now();
  }
  if (opts.progress) process.stderr.write('\r\x1b[K');
  sums.seconds += (Date.now() - started) / 1000;
  sums.dataSeconds += dataSeconds;
  return { sums, interrupted, batches };
}

/** Validates after an epoch, records its metrics, steps the schedule and saves the checkpoints. */
async function endEpoch(run: Run, sums: RunState['partial']): Promise<EpochMetrics> {
  const { opts, state, files } = run;
  const lr = state.schedule.lr;
  const v = await evaluate(run.net, run.val);
  const m: EpochMetrics = {
    epoch: state.epoch + 1, lr, train_loss: sums.loss / sums.images, train_top1_error: sums.errors / sums.images,
    val_top1_error: v.top1, val_top5_error: v.top5, images_per_second: sums.images / sums.seconds,
    seconds: sums.seconds, data_seconds: sums.dataSeconds, compute_seconds: sums.seconds - sums.dataSeconds,
  };
  appendMetrics(files.metrics, m);
  run.events.scalars(state.step, tensorboardScalars(m));
  opts.log(formatEpoch(m, opts.epochs));
  state.epoch += 1;
  state.batchInEpoch = 0;
  state.partial = { loss: 0, errors: 0, images: 0, seconds: 0, dataSeconds: 0 };
  state.schedule = nextSchedule(state.schedule, state.epoch, v.top1);
  if (state.schedule.lr !== lr) opts.log(`learning rate ${lr} -> ${state.schedule.lr}`);
  const best = v.top1 < state.bestValTop1;
  if (best) state.bestValTop1 = v.top1;
  saveCheckpoint(files.last, run.net, run.sgd, state, run.input);
  if (best) fs.copyFileSync(files.last, files.best);
  return m;
}

/** Trains for opts.epochs epochs (continuing a run with resume), validating after each. */
export async function fit(opts: FitOptions): Promise<FitResult> {
  const devices = parseDevices(opts.device);
  const run = openRun(opts, devices, openPrepared(opts.data));  // the prepared data is read once, shared by both loaders
  const { state, files } = run;
  const metrics: EpochMetrics[] = [];
  let interrupted = false;
  if (state.epoch >= opts.epochs)
    opts.log(`${opts.out} has already trained ${state.epoch} of ${opts.epochs} epochs: nothing to do (raise --epochs to continue)`);
  try {
    while (state.epoch < opts.epochs) {
      if (opts.signal?.aborted) {
        // stopped between epochs (e.g. during validation): the epoch's checkpoint is saved
        interrupted = true;
        opts.log(`interrupted after epoch ${state.epoch}: ${files.last} is up to date; continue with --resume`);
        break;
      }
      const epoch = await trainEpoch(run);
      if (epoch.interrupted && state.batchInEpoch < epoch.batches) {
        interrupted = true;
        state.partial = epoch.sums;
        saveCheckpoint(files.last, run.net, run.sgd, state, run.input);
        opts.log(`interrupted: saved ${files.last} at epoch ${state.epoch + 1}, batch ${state.batchInEpoch}; continue with --resume`);
        break;
      }
      metrics.push(await endEpoch(run, epoch.sums));
      if (epoch.interrupted) {
        interrupted = true;
        break;
      }
    }
  } finally {
    run.xent.dispose();
    run.sgd.dispose();
    run.net.dispose();
    await Promise.all([run.train.close(), run.val.close()]);
  }
  return { state, metrics, interrupted, lastCheckpoint: files.last, bestCheckpoint: files.best, metricsFile: files.metrics };
}
