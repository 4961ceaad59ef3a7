// The training loop, as small named functions (pytorch/examples' imagenet/main.py shape):
// trainEpoch / evaluate / topk errors / checkpoint save and load, and fit() around them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSafetensors, NamedArray, readSafetensorsFile, writeFileAtomic } from './checkpoint';
import { openPrepared } from './data/format';
import { Batch, DataLoader } from './data/loader';
import { alexnet, ModelConfig, ModelOptions, Network } from './nn/model';
import { AnyNetwork, ColumnNetwork, parseDeviceList } from './nn/columns';
import { SoftmaxCrossEntropy } from './nn/layers';
import { nextSchedule, plateauSchedule, ScheduleState, Sgd, stepSchedule } from './optim';
import { Tensor } from './tensor';

export interface FitOptions {
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
  /** one device, or two separated by a comma ('cpu,cpu', 'cuda:0,cuda:1'): the paper's two columns, one per device */
  device: string;
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

export interface EpochMetrics {
  epoch: number;
  lr: number;
  train_loss: number;
  train_top1_error: number;
  val_top1_error: number;
  val_top5_error: number;
  images_per_second: number;
  seconds: number;
  data_seconds: number;
  compute_seconds: number;
}

export interface RunState {
  /** epochs completed */
  epoch: number;
  /** batches of the current epoch completed (non-zero only for an interrupted epoch) */
  batchInEpoch: number;
  /** optimizer steps taken: with the seed, the dropout RNG's position */
  step: number;
  seed: number;
  schedule: ScheduleState;
  bestValTop1: number;
  /** running sums of the interrupted epoch, so that its metrics come out whole */
  partial: { loss: number; errors: number; images: number; seconds: number; dataSeconds: number };
}

export interface FitResult {
  state: RunState;
  metrics: EpochMetrics[];
  interrupted: boolean;
  lastCheckpoint: string;
  bestCheckpoint: string;
  metricsFile: string;
}

/** Top-1 and top-5 misses of probs (N, classes) against labels. */
export function topkErrors(probs: Float32Array, classes: number, labels: Int32Array): { top1: number; top5: number } {
  let top1 = 0, top5 = 0;
  for (let n = 0; n < labels.length; n++) {
    const row = probs.subarray(n * classes, (n + 1) * classes);
    const p = row[labels[n]];
    // rank of the true class: how many classes score strictly higher (ties count for it)
    let higher = 0;
    for (let c = 0; c < classes; c++) if (row[c] > p) higher++;
    if (higher >= 1) top1++;
    if (higher >= 5) top5++;
  }
  return { top1, top5 };
}

/** Averages groups of `crops` consecutive rows of probs (N * crops, classes): the 10-crop test. */
export function averageCrops(probs: Float32Array, classes: number, crops: number): Float32Array {
  if (crops === 1) return probs;
  const n = probs.length / classes / crops;
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < crops; k++)
      for (let c = 0; c < classes; c++) out[i * classes + c] += probs[(i * crops + k) * classes + c] / crops;
  return out;
}

/** Validation top-1 and top-5 error (centre crop, or the paper's 10 crops averaged). */
export async function evaluate(net: AnyNetwork, loader: DataLoader, device: string): Promise<{ top1: number; top5: number; count: number }> {
  const classes = net.outputShape[0];
  const crops = loader.config.mode === 'tencrop' ? 10 : 1;
  const xent = new SoftmaxCrossEntropy();
  let top1 = 0, top5 = 0, count = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const x = Tensor.fromArray(batch.images, batch.shape, device);
      const logits = net.forward(x, { training: false, seed: 0, step: 0 });
      const repeated = crops === 1 ? batch.labels : Int32Array.from({ length: batch.labels.length * crops }, (_, i) => batch.labels[Math.floor(i / crops)]);
      xent.forward(logits, repeated);
      const probs = averageCrops(xent.probabilities().toFloat32Array(), classes, crops);
      const e = topkErrors(probs, classes, batch.labels);
      top1 += e.top1;
      top5 += e.top5;
      count += batch.labels.length;
      x.dispose();
      logits.dispose();
      loader.release(batch);
    }
  } finally {
    xent.dispose();
  }
  return { top1: count ? top1 / count : NaN, top5: count ? top5 / count : NaN, count };
}

// ---------------------------------------------------------------- checkpoints

/** What prediction needs of the training data: its classes, image side and mean image. */
export interface InputSpec {
  classes: string[];
  /** side of the stored square images the crops are taken from */
  size: number;
  /** (3, size, size) in 0..255 units */
  mean: Float32Array;
  /** the prepared folder the network was trained on, where known */
  data?: string;
}

export interface Checkpoint {
  config: ModelConfig;
  state: RunState;
  weights: Map<string, NamedArray>;
  velocity: Map<string, NamedArray>;
  input?: InputSpec;
}

export function saveCheckpoint(file: string, net: AnyNetwork, sgd: Sgd | null, state: RunState, input?: InputSpec): void {
  const tensors = new Map<string, NamedArray>();
  if (net instanceof ColumnNetwork) {
    // the single-device layout, so that either network loads it
    for (const [name, t] of net.singleDeviceParams()) tensors.set(name, t);
    if (sgd) for (const [name, t] of net.singleDeviceVelocity(sgd)) tensors.set(`velocity/${name}`, t);
  } else {
    for (const p of net.params()) tensors.set(p.name, { shape: [...p.value.shape], data: p.value.toFloat32Array() });
    if (sgd) for (const [name, v] of sgd.velocity) tensors.set(`velocity/${name}`, { shape: [...v.shape], data: v.toFloat32Array() });
  }
  const metadata: Record<string, string> = { format: 'alexnet-native-checkpoint-1', config: JSON.stringify(net.config), state: JSON.stringify(state) };
  if (input) {
    tensors.set('input/mean', { shape: [3, input.size, input.size], data: input.mean });
    metadata.classes = JSON.stringify(input.classes);
    if (input.data) metadata.data = input.data;
  }
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function loadCheckpoint(file: string): Checkpoint {
  const st = readSafetensorsFile(file);
  if (st.metadata.format !== 'alexnet-native-checkpoint-1')
    throw new Error(`${file}: not an alexnet-native checkpoint (metadata format ${JSON.stringify(st.metadata.format)})`);
  const weights = new Map<string, NamedArray>(), velocity = new Map<string, NamedArray>();
  for (const [name, t] of st.tensors) {
    if (name.startsWith('velocity/')) velocity.set(name.slice('velocity/'.length), t);
    else if (!name.startsWith('input/')) weights.set(name, t);
  }
  const mean = st.tensors.get('input/mean');
  const input = mean && st.metadata.classes
    ? { classes: JSON.parse(st.metadata.classes), size: mean.shape[1], mean: mean.data, data: st.metadata.data }
    : undefined;
  return { config: JSON.parse(st.metadata.config), state: JSON.parse(st.metadata.state), weights, velocity, input };
}

/** Copies checkpoint weights (and velocities) into a network built from the same config. */
export function restore(net: AnyNetwork, sgd: Sgd | null, ck: Checkpoint, file: string): void {
  if (net instanceof ColumnNetwork) return net.load(ck.weights, ck.velocity, sgd, file);
  for (const p of net.params()) {
    const w = ck.weights.get(p.name);
    if (!w) throw new Error(`${file}: no tensor ${p.name} for this model`);
    if (w.shape.join(',') !== p.value.shape.join(','))
      throw new Error(`${file}: ${p.name} has shape [${w.shape}] but the model expects [${p.value.shape}]`);
    p.value.write(w.data);
    const v = ck.velocity.get(p.name);
    if (sgd && v) sgd.velocity.get(p.name)!.write(v.data);
  }
}

/** A network with a checkpoint's config and weights, for evaluation and prediction. */
export function networkFromCheckpoint(file: string, device = 'cpu'): Network {
  return buildFromCheckpoint(loadCheckpoint(file), file, device);
}

/** A network with an already loaded checkpoint's config and weights (`file` names it in errors). */
export function buildFromCheckpoint(ck: Checkpoint, file: string, device = 'cpu'): Network {
  const net = new Network(ck.config, { seed: ck.state.seed, device });
  restore(net, null, ck, file);
  return net;
}

// ---------------------------------------------------------------- the loop

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Trains for opts.epochs epochs (continuing a run with resume), validating after each. */
export async function fit(opts: FitOptions): Promise<FitResult> {
  const lastCheckpoint = path.join(opts.out, 'last.safetensors');
  const bestCheckpoint = path.join(opts.out, 'best.safetensors');
  const metricsFile = path.join(opts.out, 'metrics.jsonl');
  fs.mkdirSync(opts.out, { recursive: true });

  const prepared = openPrepared(opts.data);  // read once, shared by both loaders
  let config = alexnet({ ...opts.model, classes: prepared.classes.length });
  let state: RunState = {
    epoch: 0, batchInEpoch: 0, step: 0, seed: opts.seed, bestValTop1: Infinity,
    schedule: opts.schedule === 'plateau' ? plateauSchedule(opts.lr, opts.patience)
      : opts.schedule === 'step' ? stepSchedule(opts.lr, opts.stepEvery) : { kind: 'fixed', lr: opts.lr },
    partial: { loss: 0, errors: 0, images: 0, seconds: 0, dataSeconds: 0 },
  };
  let ck: Checkpoint | null = null;
  if (!opts.resume && !opts.overwrite && fs.existsSync(lastCheckpoint))
    throw new Error(`${opts.out} already holds a run (${lastCheckpoint}): use --resume to continue it, --overwrite to start it again, or another --out`);
  if (opts.resume) {
    if (!fs.existsSync(lastCheckpoint)) throw new Error(`--resume: no checkpoint to resume from at ${lastCheckpoint}`);
    ck = loadCheckpoint(lastCheckpoint);
    if (JSON.stringify(ck.config.options) !== JSON.stringify(config.options))
      throw new Error(`--resume: the checkpoint's model (${JSON.stringify(ck.config.options)}) differs from the one asked for (${JSON.stringify(config.options)})`);
    config = ck.config;
    state = ck.state;
    opts.log(`resuming from ${lastCheckpoint}: epoch ${state.epoch}${state.batchInEpoch ? `, batch ${state.batchInEpoch}` : ''}, step ${state.step}`);
  }
  const { crop, inputScale: scale } = config.options;
  const train = new DataLoader(prepared, { split: 'train', batchSize: opts.batchSize, crop, scale, seed: state.seed, workers: opts.workers });
  const val = new DataLoader(prepared, { split: 'val', mode: opts.tenCrop ? 'tencrop' : 'center', batchSize: opts.batchSize, crop, scale, workers: opts.workers });
  const input: InputSpec = { classes: prepared.classes, size: prepared.size, mean: prepared.mean, data: path.resolve(opts.data) };
  const net = buildNetwork(config, state.seed, opts.device);
  const device = net instanceof ColumnNetwork ? net.devices[0].toString() : opts.device;  // where batches go
  const sgd = new Sgd(net.params(), { lr: state.schedule.lr, momentum: opts.momentum, weightDecay: opts.weightDecay });
  if (ck) restore(net, sgd, ck, lastCheckpoint);
  if (!opts.resume && fs.existsSync(metricsFile)) fs.rmSync(metricsFile);

  const xent = new SoftmaxCrossEntropy();
  const metrics: EpochMetrics[] = [];
  let interrupted = false;
  if (state.epoch >= opts.epochs)
    opts.log(`${opts.out} has already trained ${state.epoch} of ${opts.epochs} epochs: nothing to do (raise --epochs to continue)`);
  try {
    while (state.epoch < opts.epochs && !interrupted) {
      if (opts.signal?.aborted) {
        // stopped between epochs (e.g. during validation): the epoch's checkpoint is saved
        interrupted = true;
        opts.log(`interrupted after epoch ${state.epoch}: ${lastCheckpoint} is up to date; continue with --resume`);
        break;
      }
      const epoch = state.epoch;  // 0-based here, 1-based in what is printed and recorded
      const lr = state.schedule.lr;
      const batches = opts.maxBatches ? Math.min(opts.maxBatches, train.batchesPerEpoch) : train.batchesPerEpoch;
      const sums = { ...state.partial };
      const started = Date.now();
      let waitStart = Date.now();
      let dataSeconds = 0, shown = 0;
      for await (const batch of train.epoch(epoch)) {
        if (batch.batch >= batches) break;
        if (batch.batch < state.batchInEpoch) continue;  // done before the interruption
        dataSeconds += (Date.now() - waitStart) / 1000;
        const loss = trainStep(net, sgd, xent, batch, { device, seed: state.seed, step: state.step, lr });
        train.release(batch);
        if (!Number.isFinite(loss.loss)) {
          throw new Error(`training diverged: the loss is ${loss.loss} at epoch ${epoch + 1}, batch ${batch.batch + 1} ` +
            `(lr ${lr}); the last good checkpoint is ${fs.existsSync(lastCheckpoint) ? lastCheckpoint : 'not written yet'}. Try a lower --lr.`);
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
      if (interrupted && state.batchInEpoch < batches) {
        state.partial = sums;
        saveCheckpoint(lastCheckpoint, net, sgd, state, input);
        opts.log(`interrupted: saved ${lastCheckpoint} at epoch ${epoch + 1}, batch ${state.batchInEpoch}; continue with --resume`);
        break;
      }
      const v = await evaluate(net, val, device);
      const m: EpochMetrics = {
        epoch: epoch + 1, lr, train_loss: sums.loss / sums.images, train_top1_error: sums.errors / sums.images,
        val_top1_error: v.top1, val_top5_error: v.top5, images_per_second: sums.images / sums.seconds,
        seconds: sums.seconds, data_seconds: sums.dataSeconds, compute_seconds: sums.seconds - sums.dataSeconds,
      };
      metrics.push(m);
      fs.appendFileSync(metricsFile, JSON.stringify(m) + '\n');
      opts.log(`epoch ${m.epoch}/${opts.epochs}: lr ${lr} loss ${m.train_loss.toFixed(4)} train top-1 err ${(100 * m.train_top1_error).toFixed(1)}% ` +
        `val top-1 err ${(100 * v.top1).toFixed(1)}% top-5 err ${(100 * v.top5).toFixed(1)}% ` +
        `${m.images_per_second.toFixed(0)} img/s (data ${m.data_seconds.toFixed(1)}s, compute ${m.compute_seconds.toFixed(1)}s)`);
      state.epoch = epoch + 1;
      state.batchInEpoch = 0;
      state.partial = { loss: 0, errors: 0, images: 0, seconds: 0, dataSeconds: 0 };
      state.schedule = nextSchedule(state.schedule, state.epoch, v.top1);
      if (state.schedule.lr !== lr) opts.log(`learning rate ${lr} -> ${state.schedule.lr}`);
      const best = v.top1 < state.bestValTop1;
      if (best) state.bestValTop1 = v.top1;
      saveCheckpoint(lastCheckpoint, net, sgd, state, input);
      if (best) fs.copyFileSync(lastCheckpoint, bestCheckpoint);
    }
  } finally {
    xent.dispose();
    sgd.dispose();
    net.dispose();
    await Promise.all([train.close(), val.close()]);
  }
  return { state, metrics, interrupted, lastCheckpoint, bestCheckpoint, metricsFile };
}

/** The single-device network on one device, or the two columns on two ('cpu,cpu', 'cuda:0,cuda:1'). */
export function buildNetwork(config: ModelConfig, seed: number, device: string): AnyNetwork {
  const devices = parseDeviceList(device);
  if (devices.length === 1) return new Network(config, { seed, device: devices[0] });
  if (config.options.columns !== 2)
    throw new Error(`device ${device}: two devices hold the paper's two columns, one each, which needs a model with columns 2 (this one has columns ${config.options.columns})`);
  return new ColumnNetwork(config, { seed, devices: [devices[0], devices[1]] });
}

/** One SGD step on one batch: forward, loss, backward, update. Returns the loss and top-1 misses. */
export function trainStep(net: AnyNetwork, sgd: Sgd, xent: SoftmaxCrossEntropy, batch: Batch,
  o: { device: string; seed: number; step: number; lr: number }): { loss: number; top1Errors: number } {
  const x = Tensor.fromArray(batch.images, batch.shape, o.device);
  const logits = net.forward(x, { training: true, seed: o.seed, step: o.step });
  const loss = xent.forward(logits, batch.labels);
  const classes = logits.shape[1];
  const { top1 } = topkErrors(xent.probabilities().toFloat32Array(), classes, batch.labels);
  if (Number.isFinite(loss)) {
    const dlogits = xent.backward();
    net.backward(dlogits);
    dlogits.dispose();
    sgd.step(o.lr);
  } else {
    net.release();
  }
  x.dispose();
  logits.dispose();
  return { loss, top1Errors: top1 };
}
