// Data-parallel training over a Communicator (lib/core/comm.ts), one process per rank under
// mpirun or srun. Every rank holds the whole network; --batch-size stays the global batch and
// each rank computes its share of it (lib/data/loader.ts `shard`). During backward, as soon as
// the gradients of a bucket of layers are set, one allreduce averages them over the ranks on
// the communicator's thread while the JavaScript thread goes on with the layers below: the
// communication hides behind the rest of backward. The ranks then take identical SGD steps.
import { Communicator } from '../core/comm';
import { Device } from '../core/device';
import * as ops from '../core/ops';
import { Tensor } from '../core/tensor';
import { Batch, DataLoader } from '../data/loader';
import { NamedArray } from '../io/safetensors';
import { Context, Param, SoftmaxCrossEntropy } from '../nn/layers';
import { Model } from '../nn/model';
import { Network } from '../nn/network';
import { ModelConfig, SampleShape } from '../nn/spec';
import { evaluate } from './evaluate';
import { topkErrors } from './metrics';
import { HybridParallel } from './hybrid';
import { Sgd } from './optim';

/** Where a step's time went on this rank (seconds) and what it sent. */
export interface StepTimes {
  /** forward + backward + update on this thread */
  compute: number;
  /** the collectives' time on the communicator's thread */
  comm: number;
  /** the part of it the step waited for after backward (the rest was hidden behind backward) */
  exposed: number;
  /** gradient bytes allreduced (each rank's payload) */
  bytes: number;
}

/**
 * A Network replicated on every rank, whose backward sums its gradients over the ranks bucket
 * by bucket: give it dlogits scaled to this rank's share of the global batch (n / N, as
 * trainStepDistributed does), and every rank ends with the global batch's gradient.
 */
export class DataParallel implements Model {
  /** buckets of parameters, in the order backward completes them (the last layers first) */
  readonly buckets: Param[][] = [];
  /** layer index -> the bucket whose gradients are all set once that layer's backward ran */
  private readonly closes = new Map<number, number>();
  private inFlight: Promise<number>[] = [];
  private launched = new Set<number>();

  /** bucketBytes: gradients per allreduce, at least (whole layers; the last bucket may be smaller) */
  constructor(readonly net: Network, readonly comm: Communicator, readonly bucketBytes = 4 << 20) {
    let bucket: Param[] = [], bytes = 0;
    for (let i = net.layers.length - 1; i >= 0; i--) {
      const ps = net.layers[i].params();
      if (!ps.length) continue;
      bucket.push(...ps);
      bytes += ps.reduce((n, p) => n + 4 * p.value.size, 0);
      if (bytes >= bucketBytes || !net.layers.slice(0, i).some((l) => l.params().length)) {
        this.closes.set(i, this.buckets.length);
        this.buckets.push(bucket);
        bucket = [];
        bytes = 0;
      }
    }
  }

  get config(): ModelConfig { return this.net.config; }
  get inputDevice(): Device { return this.net.inputDevice; }
  get inputShape(): SampleShape { return this.net.inputShape; }
  get outputShape(): SampleShape { return this.net.outputShape; }
  params(): Param[] { return this.net.params(); }
  parameterCount(): number { return this.net.parameterCount(); }
  forward(x: Tensor, ctx: Context): Tensor { return this.net.forward(x, ctx); }
  release(): void { this.net.release(); }
  dispose(): void { this.net.dispose(); }
  toSingleDevice(pick: (p: Param) => Tensor): Map<string, NamedArray> { return this.net.toSingleDevice(pick); }
  fromSingleDevice(arrays: ReadonlyMap<string, NamedArray>, pick: (p: Param) => Tensor, source?: string): void {
    this.net.fromSingleDevice(arrays, pick, source);
  }

  /** Network.backward, starting each bucket's allreduce (sum) the moment its gradients are set. */
  backward(dlogits: Tensor, inputGrad = false): Tensor | null {
    const layers = this.net.layers;
    this.inFlight = [];
    this.launched = new Set();
    let g = dlogits;
    for (let i = layers.length - 1; i >= 0; i--) {
      const next = layers[i].backward(g, i > 0 || inputGrad);
      if (g !== dlogits) g.dispose();
      const b = this.closes.get(i);
      if (b !== undefined) this.launch(b);
      if (!next) break;
      g = next;
    }
    for (let b = 0; b < this.buckets.length; b++) this.launch(b);
    this.net.release();
    return inputGrad ? g : null;
  }

  private launch(b: number): void {
    if (this.launched.has(b)) return;
    this.launched.add(b);
    this.inFlight.push(this.comm.allreduce(this.buckets[b].map((p) => p.grad!), 'sum'));
  }

  /** Waits for the last backward's allreduces: the collectives' seconds, and how long this waited. */
  async synchronize(): Promise<{ comm: number; exposed: number; bytes: number }> {
    const start = performance.now();
    const seconds = await Promise.all(this.inFlight);
    this.inFlight = [];
    const bytes = this.buckets.reduce((n, b) => n + b.reduce((m, p) => m + 4 * p.value.size, 0), 0);
    return { comm: seconds.reduce((a, b) => a + b, 0), exposed: (performance.now() - start) / 1000, bytes };
  }
}

export interface DistributedStep {
  /** mean loss over the global batch */
  loss: number;
  top1Errors: number;
  /** images in the global batch */
  images: number;
  /** some rank was asked to stop (Ctrl-C, SIGTERM): every rank stops after this step */
  stop: boolean;
  times: StepTimes;
}

/**
 * One data-parallel SGD step on this rank's share of a global batch. The loss, the top-1
 * misses and the stop request of every rank are summed in one more small allreduce, queued
 * behind the gradients', so every rank makes the same decisions.
 */
export async function trainStepDistributed(dp: DataParallel, sgd: Sgd, xent: SoftmaxCrossEntropy, batch: Batch,
  o: { seed: number; step: number; lr: number; stop: boolean }): Promise<DistributedStep> {
  const started = performance.now();
  const x = Tensor.fromArray(batch.images, batch.shape, dp.inputDevice);
  let logits: Tensor | null = null;
  try {
    logits = dp.forward(x, { training: true, seed: o.seed, step: o.step, rows: batch.rows });
    const n = batch.labels.length;
    const loss = xent.forward(logits, batch.labels);
    const { top1 } = topkErrors(xent.probabilities().toFloat32Array(), logits.shape[1], batch.labels);
    // the gradient of the global batch's mean loss: this rank's images weigh n / N (the shares
    // differ by one image where the batch does not divide over the ranks)
    const dlogits = ops.softmaxCrossEntropyBackward(xent.probabilities(), batch.labels, n / batch.rows.total);
    dp.backward(dlogits);
    dlogits.dispose();
    const totals = dp.comm.sum([loss * n, top1, n, o.stop ? 1 : 0]);
    const backwardEnd = performance.now();
    const sync = await dp.synchronize();
    const [lossSum, errors, images, stops] = await totals;
    const updateStart = performance.now();
    // a non-finite loss anywhere reaches every rank through the sums: none of them steps
    if (Number.isFinite(lossSum)) sgd.step(o.lr);
    const compute = (backwardEnd - started + performance.now() - updateStart) / 1000;
    return { loss: lossSum / images, top1Errors: errors, images, stop: stops > 0, times: { compute, comm: sync.comm, exposed: sync.exposed, bytes: sync.bytes } };
  } finally {
    logits?.dispose();
    x.dispose();
  }
}

/** One hybrid-parallel SGD step ("one weird trick", hybrid.ts) on this rank's share of a global batch. */
export async function trainStepHybrid(hp: HybridParallel, sgd: Sgd, xent: SoftmaxCrossEntropy, batch: Batch,
  o: { seed: number; step: number; lr: number; stop: boolean }): Promise<DistributedStep> {
  const started = performance.now();
  const x = Tensor.fromArray(batch.images, batch.shape, hp.inputDevice);
  let logits: Tensor | null = null;
  try {
    logits = await hp.forwardAsync(x, { training: true, seed: o.seed, step: o.step, rows: batch.rows });
    const n = batch.labels.length;
    const loss = xent.forward(logits, batch.labels);
    const { top1 } = topkErrors(xent.probabilities().toFloat32Array(), logits.shape[1], batch.labels);
    const dlogits = xent.backward();
    await hp.backwardAsync(dlogits);
    dlogits.dispose();
    const totals = hp.comm.sum([loss * n, top1, n, o.stop ? 1 : 0]);
    await hp.synchronize();
    const [lossSum, errors, images, stops] = await totals;
    if (Number.isFinite(lossSum)) sgd.step(o.lr);
    const t = hp.times;
    // the collectives inside forward and backward are waited for on this thread: not compute
    const compute = (performance.now() - started) / 1000 - t.exposed;
    return { loss: lossSum / images, top1Errors: errors, images, stop: stops > 0, times: { compute, comm: t.comm, exposed: t.exposed, bytes: t.bytes } };
  } finally {
    logits?.dispose();
    x.dispose();
  }
}

/** Validation split over the ranks (each evaluates its shard of the loader), then summed. */
export async function evaluateDistributed(net: Model, loader: DataLoader, comm: Communicator): Promise<{ top1: number; top5: number; count: number }> {
  const v = await evaluate(net, loader);
  const local = v.count ? [v.top1 * v.count, v.top5 * v.count, v.count] : [0, 0, 0];
  const [top1, top5, count] = await comm.sum(local);
  return { top1: count ? top1 / count : NaN, top5: count ? top5 / count : NaN, count };
}
