// The training loop, as small named functions (pytorch/examples' imagenet/main.py shape):
// trainStep / trainEpoch / evaluate / checkpoint, and fit() around them. Every network is a
// Model (nn/model.ts), so nothing here knows whether it runs on one device or two.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Communicator } from '../core/comm';
import { Device, DeviceLike, parseDevices } from '../core/device';
import { Tensor } from '../core/tensor';
import { PreparedData, openPrepared } from '../data/format';
import { EventWriter } from '../io/tfevents';
import { Batch, DataLoader } from '../data/loader';
import { buildNetwork } from '../nn/build';
import { SoftmaxCrossEntropy } from '../nn/layers';
import { Model } from '../nn/model';
import { Network } from '../nn/network';
import { alexnet, ModelConfig, ModelOptions } from '../nn/spec';
import { Checkpoint, InputSpec, loadCheckpoint, restore, RunState, runFiles, saveCheckpoint } from './checkpoint';
import { DataParallel, DistributedStep, evaluateDistributed, trainStepDistributed, trainStepHybrid } from './distributed';
import { HybridParallel } from './hybrid';
import { evaluate } from './evaluate';
import { learningWarnings } from './watch';
import { acquireRunLock } from './lock';
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
  /**
   * distributed training (mpirun): this rank's communicator. --batch-size stays the global
   * batch, each rank trains on its share of it; rank 0 alone writes checkpoints and metrics.
   */
  comm?: Communicator;
  /** with comm: 'data' (default) or 'hybrid' (conv layers data-parallel, fc layers split over the ranks) */
  parallel?: 'data' | 'hybrid';
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
  /** TensorBoard's event file in the run folder (rank 0 alone writes it) */
  events: EventWriter | null;
}

/** Whether this process writes the run folder (rank 0 of a distributed run). */
function writes(opts: FitOptions): boolean {
  return !opts.comm || opts.comm.rank === 0;
}

/** The state of a run that starts now. */
function freshState(opts: FitOptions): RunState {
  return {
    epoch: 0, batchInEpoch: 0, step: 0, seed: opts.seed, bestValTop1: Infinity,
    schedule: opts.schedule === 'plateau' ? plateauSchedule(opts.lr, opts.patience)
      : opts.schedule === 'step' ? stepSchedule(opts.lr, opts.stepEvery) : { kind: 'fixed', lr: opts.lr },
    partial: { loss: 0, errors: 0, images: 0, seconds: 0, dataSeconds: 0 },
    batchSize: opts.batchSize,
    epochs: opts.epochs,
  };
}

/** The checkpoint to resume from (null for a fresh run); refuses to overwrite a run by accident. */
function checkpointToResume(opts: FitOptions, last: string, config: ModelConfig): Checkpoint | null {
  if (!opts.resume && !opts.overwrite && fs.existsSync(last))
    throw new Error(`${opts.out} already holds a run (${last}): use --resume to continue it, --overwrite to start it again, or another --out`);
  if (!opts.resume) return null;
  if (!fs.existsSync(last)) throw new Error(`--resume: no checkpoint to resume from at ${last}`);
  const ck = loadCheckpoint(last);
  // the run goes on with the checkpoint's model; only options asked for explicitly must agree
  const differ = modelDifferences(ck.config, opts.model, config.options.classes);
  if (differ.length) throw new Error(`--resume: ${last} was trained with ${differ.join(', ')}; leave those flags out to continue it as it was`);
  return ck;
}

/** The network, optimizer and loaders of a fresh or resumed run (the folder exists and is locked). */
function openRun(opts: FitOptions, devices: Device[], prepared: PreparedData): Run {
  const files = runFiles(opts.out);
  let config = alexnet({ ...opts.model, classes: prepared.classes.length });
  let state = freshState(opts);
  const ck = checkpointToResume(opts, files.last, config);
  if (ck) {
    config = ck.config;
    state = { ...ck.state, batchSize: opts.batchSize, epochs: opts.epochs };
    opts.log(`resuming from ${files.last}: epoch ${state.epoch}${state.batchInEpoch ? `, batch ${state.batchInEpoch}` : ''}, step ${state.step}`);
  }
  const { crop, inputScale: scale } = config.options;
  const comm = opts.comm;
  if (comm && opts.batchSize < comm.size) throw new Error(`--batch-size ${opts.batchSize} is smaller than the ${comm.size} ranks: each needs at least one image per step`);
  if (comm && opts.parallel === 'hybrid' && opts.batchSize % comm.size)
    throw new Error(`--parallel hybrid: --batch-size ${opts.batchSize} does not split evenly over ${comm.size} ranks: use a multiple of ${comm.size}`);
  if (comm && devices.length !== 1) throw new Error(`distributed training runs one device per rank, not ${devices.join(',')}`);
  const shard = comm ? { rank: comm.rank, ranks: comm.size } : undefined;
  const hybrid = comm && opts.parallel === 'hybrid';
  const train = new DataLoader(prepared, { split: 'train', batchSize: opts.batchSize, crop, scale, seed: state.seed, workers: opts.workers, shard });
  // hybrid: the fc layers need every rank in every batch, so each rank validates every image
  const val = new DataLoader(prepared, { split: 'val', mode: opts.tenCrop ? 'tencrop' : 'center', batchSize: opts.batchSize, crop, scale, workers: opts.workers, shard: hybrid ? undefined : shard });
  const input: InputSpec = { classes: prepared.classes, size: prepared.size, mean: prepared.mean, data: path.resolve(opts.data),
    ...(prepared.index.classNames ? { names: prepared.index.classNames } : {}) };
  const base = buildNetwork(config, state.seed, devices);
  // (every rank reads the same file, before a hybrid run splits its fc layers)
  if (!ck && opts.initFrom) initFrom(base, opts.initFrom, opts.log);
  const net = !comm ? base : hybrid ? new HybridParallel(base as Network, comm) : new DataParallel(base as Network, comm);
  const sgd = new Sgd(net.params(), { lr: state.schedule.lr, momentum: opts.momentum, weightDecay: opts.weightDecay, layerLr: layerLr(config, opts) });
  if (ck) restore(net, sgd, ck, files.last);
  if (!opts.resume && writes(opts) && fs.existsSync(files.metrics)) fs.rmSync(files.metrics);
  const events = writes(opts) ? new EventWriter(opts.out, { fresh: !opts.resume }) : null;
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
  const epochsAfter = opts.epochs - epoch - 1;
  let waitStart = Date.now();
  let dataSeconds = 0, shown = 0, interrupted = false;
  for await (const batch of train.epoch(epoch)) {
    if (batch.batch >= batches) break;
    if (batch.batch < state.batchInEpoch) continue;  // done before the interruption
    dataSeconds += (Date.now() - waitStart) / 1000;
    let images = batch.labels.length, stopAll = false;
    let loss: { loss: number; top1Errors: number };
    if (opts.comm) {
      // every rank decides to stop at the same step, on any rank's request
      const o = { seed: state.seed, step: state.step, lr, stop: !!opts.signal?.aborted };
      const r: DistributedStep = run.net instanceof HybridParallel ? await trainStepHybrid(run.net, run.sgd, run.xent, batch, o)
        : await trainStepDistributed(run.net as DataParallel, run.sgd, run.xent, batch, o);
      ({ images, stop: stopAll } = r);
      loss = r;
    } else {
      loss = trainStep(run.net, run.sgd, run.xent, batch, { seed: state.seed, step: state.step, lr });
    }
    train.release(batch);
    if (!Number.isFinite(loss.loss)) {
      throw new Error(`training diverged: the loss is ${loss.loss} at epoch ${epoch + 1}, batch ${batch.batch + 1} ` +
        `(lr ${lr}); the last good checkpoint is ${fs.existsSync(run.files.last) ? run.files.last : 'not written yet'}. Try a lower --lr.`);
    }
    state.startLoss ??= loss.loss;
    state.step++;
    state.batchInEpoch = batch.batch + 1;
    opts.onStep?.(state.step);
    sums.loss += loss.loss * images;
    sums.errors += loss.top1Errors;
    sums.images += images;
    if (opts.progress && Date.now() - shown > 200) {
      shown = Date.now();
      const seconds = sums.seconds + (Date.now() - started) / 1000;
      const rate = sums.images / seconds;
      const eta = ((batches - state.batchInEpoch) * opts.batchSize) / rate;
      const runEta = eta + (epochsAfter * batches * opts.batchSize) / rate;  // training only, not validation
      process.stderr.write(`\repoch ${epoch + 1}/${opts.epochs} ${state.batchInEpoch}/${batches} loss ${(sums.loss / sums.images).toFixed(4)} ` +
        `${rate.toFixed(0)} img/s data ${(sums.dataSeconds + dataSeconds).toFixed(1)}s compute ${(seconds - sums.dataSeconds - dataSeconds).toFixed(1)}s ` +
        `ETA ${formatDuration(eta)}${epochsAfter > 0 ? ` (run ${formatDuration(runEta)})` : ''}\x1b[K`);
    }
    if (opts.comm ? stopAll : opts.signal?.aborted) {
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
  const v = opts.comm && !(run.net instanceof HybridParallel) ? await evaluateDistributed(run.net, run.val, opts.comm) : await evaluate(run.net, run.val);
  const m: EpochMetrics = {
    epoch: state.epoch + 1, lr, train_loss: sums.loss / sums.images, train_top1_error: sums.errors / sums.images,
    val_top1_error: v.top1, val_top5_error: v.top5, images_per_second: sums.images / sums.seconds,
    seconds: sums.seconds, data_seconds: sums.dataSeconds, compute_seconds: sums.seconds - sums.dataSeconds,
  };
  if (writes(opts)) appendMetrics(files.metrics, m);
  run.events?.scalars(state.step, tensorboardScalars(m));
  opts.log(formatEpoch(m, opts.epochs));
  state.epoch += 1;
  state.batchInEpoch = 0;
  state.partial = { loss: 0, errors: 0, images: 0, seconds: 0, dataSeconds: 0 };
  for (const w of learningWarnings(state, m, run.net.outputShape[0])) opts.log(`warning: ${w}`);
  state.schedule = nextSchedule(state.schedule, state.epoch, v.top1, state.step);
  if (state.schedule.lr !== lr) opts.log(`learning rate ${lr} -> ${state.schedule.lr}`);
  const best = v.top1 < state.bestValTop1;
  if (best) state.bestValTop1 = v.top1;
  if (run.net instanceof HybridParallel) await run.net.gatherForCheckpoint(run.sgd);  // every rank
  if (writes(opts)) {
    saveCheckpoint(files.last, run.net, run.sgd, state, run.input);
    if (best) fs.copyFileSync(files.last, files.best);
  }
  return m;
}

/** Trains for opts.epochs epochs (continuing a run with resume), validating after each. */
export async function fit(opts: FitOptions): Promise<FitResult> {
  const devices = parseDevices(opts.device);
  const prepared = openPrepared(opts.data);  // read once, shared by both loaders
  checkValidationSplit(prepared);  // before anything is created
  if (prepared.index.splits.train.count < opts.batchSize)
    throw new Error(`batch size ${opts.batchSize} is more than the ${prepared.index.splits.train.count} training images of ${prepared.dir}: no batch would be full; use a smaller --batch-size`);
  const created = !fs.existsSync(opts.out);
  fs.mkdirSync(opts.out, { recursive: true });
  let run: Run;
  // the run folder's writer holds its lock (rank 0 of a distributed run)
  const lock = writes(opts) ? acquireRunLock(opts.out, opts.log) : null;
  try {
    run = openRun(opts, devices, prepared);
  } catch (err) {
    lock?.release();
    // a folder this call made and nothing was written to does not stay behind
    if (created && fs.readdirSync(opts.out).length === 0) fs.rmdirSync(opts.out);
    throw err;
  }
  const { state, files } = run;
  const metrics: EpochMetrics[] = [];
  let interrupted = false;
  if (state.epoch >= opts.epochs)
    opts.log(`${opts.out} has already trained ${state.epoch} of ${opts.epochs} epochs: nothing to do (raise --epochs to continue)`);
  try {
    while (state.epoch < opts.epochs) {
      // (distributed: the ranks agree on a stop at the next step instead)
      if (opts.signal?.aborted && !opts.comm) {
        // stopped between epochs (e.g. during validation): the epoch's checkpoint is saved
        interrupted = true;
        opts.log(`interrupted after epoch ${state.epoch}: ${files.last} is up to date; continue with --resume`);
        break;
      }
      const epoch = await trainEpoch(run);
      if (epoch.interrupted && state.batchInEpoch < epoch.batches) {
        interrupted = true;
        state.partial = epoch.sums;
        if (run.net instanceof HybridParallel) await run.net.gatherForCheckpoint(run.sgd);  // every rank
        if (writes(opts)) saveCheckpoint(files.last, run.net, run.sgd, state, run.input);
        opts.log(`interrupted: saved ${files.last} at epoch ${state.epoch + 1}, batch ${state.batchInEpoch}; continue with --resume`);
        break;
      }
      metrics.push(await endEpoch(run, epoch.sums));
      if (epoch.interrupted) {
        // stopped on the epoch's last batch: the epoch was validated and saved whole
        interrupted = true;
        opts.log(`interrupted: saved ${files.last} after epoch ${state.epoch}; continue with --resume`);
        break;
      }
    }
  } finally {
    run.xent.dispose();
    run.sgd.dispose();
    run.net.dispose();
    await Promise.all([run.train.close(), run.val.close()]);
    lock?.release();
  }
  return { state, metrics, interrupted, lastCheckpoint: files.last, bestCheckpoint: files.best, metricsFile: files.metrics };
}

/** Throws unless the prepared data has validation images: a run needs them after every epoch. */
function checkValidationSplit(prepared: PreparedData): void {
  if (!prepared.index.splits.val?.count)
    throw new Error(`${prepared.dir} has no validation images, which training needs after every epoch: ` +
      `prepare the data with a val/<class>/ folder, or with \`prepare --val-split 0.1\` to hold out a tenth of each class`);
}

/** "width 0.25 (asked: 0.5)" for each model option asked for that differs from the checkpoint's. */
export function modelDifferences(config: ModelConfig, asked: Partial<ModelOptions>, classes?: number): string[] {
  const have = config.options as unknown as Record<string, unknown>;
  const want: Record<string, unknown> = { ...asked };
  if (classes !== undefined) want.classes = classes;
  return Object.keys(want).filter((k) => want[k] !== undefined && JSON.stringify(have[k]) !== JSON.stringify(want[k]))
    .map((k) => `${k} ${JSON.stringify(have[k])} (asked: ${JSON.stringify(want[k])})`);
}
