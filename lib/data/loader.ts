// Batches from a prepared folder: the paper's training augmentation or its test crops, shuffled
// per epoch, made by worker threads ahead of the caller through a bounded prefetch queue.
//
//   const train = new DataLoader('data/prepared', { split: 'train', batchSize: 128, seed: 1 });
//   for (let epoch = 0; epoch < 90; epoch++)
//     for await (const batch of train.epoch(epoch)) {
//       const x = batchToTensor(batch);
//       train.release(batch);
//       step(x, batch.labels);
//     }
//   await train.close();
//
// Output buffers are recycled when the caller hands a batch back with release(batch) (after
// copying it into a Tensor, say): fresh 80 MB buffers cost more in page faults than the
// augmentation itself. A batch never released is simply garbage-collected.
//
// Breaking out of the loop (or throwing inside it) stops the epoch: results still in flight are
// dropped, and the workers stay ready for the next epoch until close(). Idle workers do not keep
// the process alive, so a forgotten close() never hangs the exit.
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { ArgumentError, describe } from '../core/errors';
import { AugmentConfig, AugmentMode, ShardReader, cropsPerImage, fillBatch } from './augment';
import { PreparedData, SplitIndex, openPrepared, readLabels } from './format';
import { epochPermutation } from './rng';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker';

export interface LoaderOptions {
  /** Which split to read (default 'train'). */
  split?: 'train' | 'val';
  /** 'train' (random crop, flip, lighting), 'center' or 'tencrop'. Default: train for the train split, center otherwise. */
  mode?: AugmentMode;
  /** Images per batch (default 128). A tencrop batch holds 10 crops of each image. */
  batchSize?: number;
  /** Crop side (default 227). */
  crop?: number;
  /** Seed of the shuffle and the augmentation (default 0). */
  seed?: number;
  /** Reshuffle every epoch (default: true in train mode). */
  shuffle?: boolean;
  /** Random horizontal flips (default true; train mode only). */
  flip?: boolean;
  /** Standard deviation of the PCA lighting alphas (default 0.1; 0 = off; train mode only). */
  lighting?: number;
  /** Subtract the per-pixel mean image (default true). */
  subtractMean?: boolean;
  /** Multiplies the output (default 1: 0..255 units minus the mean). */
  scale?: number;
  /** The last partial batch: 'keep' it (smaller) or 'drop' it. Default: drop in train mode, keep otherwise. */
  lastBatch?: 'keep' | 'drop';
  /** Worker threads (default: CPUs - 1, at least 1, at most 8); 0 makes batches in the calling thread. */
  workers?: number;
  /** Batches made ahead of the caller, in flight or waiting (default 2 per worker, at least 2). */
  prefetch?: number;
}

export interface Batch {
  /** float32 NCHW, shape[0] * 3 * crop * crop values. */
  images: Float32Array;
  shape: [number, number, number, number];
  /** One label per image (not per crop). */
  labels: Int32Array;
  /** The images' indices in the split. */
  indices: Int32Array;
  epoch: number;
  /** The batch's number within the epoch. */
  batch: number;
}

interface Job {
  resolve(images: Float32Array): void;
  reject(err: Error): void;
  worker: WorkerSlot;
}

interface WorkerSlot {
  worker: Worker;
  outstanding: number;
}

const OP = 'DataLoader';

function positiveInt(name: string, value: unknown, min = 1): number {
  if (!Number.isSafeInteger(value) || (value as number) < min)
    throw new ArgumentError(OP, name, min === 0 ? 'a non-negative integer' : `an integer >= ${min}`, describe(value));
  return value as number;
}

export class DataLoader {
  readonly data: PreparedData;
  readonly split: 'train' | 'val';
  readonly config: AugmentConfig;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly lastBatch: 'keep' | 'drop';
  readonly workerCount: number;
  readonly prefetch: number;
  /** Labels of every image of the split. */
  readonly labels: Int32Array;
  /** Images in the split. */
  readonly count: number;
  private readonly splitIndex: SplitIndex;
  private slots: WorkerSlot[] | null = null;
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private closed = false;
  private failure: Error | null = null;
  private active = false;
  private localReader: ShardReader | null = null;
  /** Released full-size output buffers, and every buffer this loader made (to refuse strangers). */
  private readonly pool: Float32Array[] = [];
  private readonly own = new WeakSet<ArrayBufferLike>();
  private readonly pooled = new WeakSet<ArrayBufferLike>();
  private readonly released = new WeakSet<Batch>();

  constructor(source: string | PreparedData, options: LoaderOptions = {}) {
    this.data = typeof source === 'string' ? openPrepared(source) : source;
    const split = options.split ?? 'train';
    if (split !== 'train' && split !== 'val') throw new ArgumentError(OP, 'split', "'train' or 'val'", describe(split));
    const splitIndex = this.data.index.splits[split];
    if (!splitIndex) throw new Error(`${OP}: prepared folder ${this.data.dir} has no ${split} split`);
    this.split = split;
    this.splitIndex = splitIndex;
    const mode = options.mode ?? (split === 'train' ? 'train' : 'center');
    if (!['train', 'center', 'tencrop'].includes(mode)) throw new ArgumentError(OP, 'mode', "'train', 'center' or 'tencrop'", describe(mode));
    const size = this.data.size;
    const crop = positiveInt('crop', options.crop ?? Math.min(227, size));
    if (crop > size) throw new ArgumentError(OP, 'crop', `a crop side <= the stored image side ${size}`, describe(crop));
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ArgumentError(OP, 'seed', 'a non-negative integer below 2^53', describe(seed));
    const lighting = options.lighting ?? 0.1;
    if (typeof lighting !== 'number' || !(lighting >= 0)) throw new ArgumentError(OP, 'lighting', 'a number >= 0', describe(lighting));
    const scale = options.scale ?? 1;
    if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new ArgumentError(OP, 'scale', 'a finite number', describe(scale));
    this.config = {
      mode, size, crop, seed,
      flip: options.flip ?? true,
      lighting,
      subtractMean: options.subtractMean ?? true,
      scale,
      pca: this.data.pca,
    };
    this.batchSize = positiveInt('batchSize', options.batchSize ?? 128);
    this.shuffle = options.shuffle ?? mode === 'train';
    const last = options.lastBatch ?? (mode === 'train' ? 'drop' : 'keep');
    if (last !== 'keep' && last !== 'drop') throw new ArgumentError(OP, 'lastBatch', "'keep' or 'drop'", describe(last));
    this.lastBatch = last;
    this.workerCount = positiveInt('workers', options.workers ?? Math.min(8, Math.max(1, os.cpus().length - 1)), 0);
    this.prefetch = positiveInt('prefetch', options.prefetch ?? Math.max(2, 2 * this.workerCount));
    this.labels = readLabels(this.data.dir, splitIndex);
    this.count = splitIndex.count;
  }

  /** Batches per epoch, after the last-batch rule. */
  get batchesPerEpoch(): number {
    return this.lastBatch === 'drop' ? Math.floor(this.count / this.batchSize) : Math.ceil(this.count / this.batchSize);
  }

  /** The image order of an epoch (a seeded permutation when shuffling, else 0..n-1). */
  order(epoch: number): Int32Array {
    if (this.shuffle) return epochPermutation(this.count, this.config.seed, epoch);
    return Int32Array.from({ length: this.count }, (_, i) => i);
  }

  /** The batches of one epoch, in order. Only one epoch may be iterated at a time. */
  async *epoch(epoch: number): AsyncGenerator<Batch, void, undefined> {
    positiveInt('epoch', epoch, 0);
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error(`${OP}: epoch() called after close()`);
    if (this.active) throw new Error(`${OP}: epoch() called while another epoch is still being iterated`);
    this.active = true;
    const order = this.order(epoch);
    const batches = this.batchesPerEpoch;
    const slice = (b: number) => order.subarray(b * this.batchSize, Math.min(this.count, (b + 1) * this.batchSize));
    const make = (b: number, images: Float32Array): Batch => {
      const indices = Int32Array.from(slice(b));
      const labels = new Int32Array(indices.length);
      for (let k = 0; k < indices.length; k++) labels[k] = this.labels[indices[k]];
      const n = indices.length * cropsPerImage(this.config.mode);
      this.own.add(images.buffer);
      const used = n * 3 * this.config.crop ** 2;
      return { images: images.length === used ? images : images.subarray(0, used), shape: [n, 3, this.config.crop, this.config.crop], labels, indices, epoch, batch: b };
    };
    try {
      if (this.workerCount === 0) {
        for (let b = 0; b < batches; b++) yield make(b, this.makeLocal(epoch, slice(b)));
        return;
      }
      const pending: Promise<Float32Array>[] = [];
      let dispatched = 0;
      let consumed = 0;
      const fill = () => {
        while (dispatched < batches && dispatched - consumed < this.prefetch) {
          const p = this.submit(epoch, Int32Array.from(slice(dispatched)));
          p.catch(() => {}); // awaited in order below; this keeps a dropped one from being "unhandled"
          pending[dispatched++] = p;
        }
      };
      for (let b = 0; b < batches; b++) {
        fill();
        const images = await pending[b];
        delete pending[b];
        consumed++;
        fill();
        yield make(b, images);
      }
    } finally {
      this.active = false;
    }
  }

  /** Values in a full batch's images. */
  private get fullLength(): number {
    return this.batchSize * cropsPerImage(this.config.mode) * 3 * this.config.crop ** 2;
  }

  /**
   * Hands a batch's image buffer back for reuse by a later batch. Call it once the images are
   * no longer needed (after batchToTensor, which copies them); the batch must not be read after.
   */
  release(batch: Batch): void {
    if (this.released.has(batch)) return;
    this.released.add(batch);
    const buffer = batch.images.buffer;
    if (!this.own.has(buffer) || this.pooled.has(buffer) || buffer.byteLength !== 4 * this.fullLength) return;
    if (this.pool.length >= this.prefetch + 2) return;
    this.pooled.add(buffer);
    this.pool.push(new Float32Array(buffer));
  }

  private takeBuffer(): Float32Array | null {
    const b = this.pool.pop() ?? null;
    if (b) this.pooled.delete(b.buffer);
    return b;
  }

  /** Stops the workers (waiting for them to exit). Safe to call more than once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.localReader?.close();
    const slots = this.slots ?? [];
    this.slots = null;
    this.rejectAll(new Error(`${OP}: closed`));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private makeLocal(epoch: number, indices: Int32Array): Float32Array {
    if (!this.localReader) this.localReader = new ShardReader(this.data.dir, this.data.index, this.splitIndex);
    const reader = this.localReader;
    const out = this.takeBuffer() ?? new Float32Array(this.fullLength);
    fillBatch(this.config, epoch, indices, (i) => reader.read(i), this.data.mean, out);
    return out;
  }

  private startWorkers(): WorkerSlot[] {
    const init: WorkerInit = { dir: this.data.dir, split: this.split, cfg: this.config };
    const slots: WorkerSlot[] = [];
    for (let k = 0; k < this.workerCount; k++) {
      const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: init });
      const slot: WorkerSlot = { worker, outstanding: 0 };
      worker.unref();
      worker.on('message', (reply: WorkerReply) => this.onReply(reply));
      worker.on('error', (err) => this.onWorkerFailure(err));
      worker.on('exit', (code) => {
        if (!this.closed) this.onWorkerFailure(new Error(`${OP}: a worker thread exited with code ${code}`));
      });
      slots.push(slot);
    }
    return slots;
  }

  private submit(epoch: number, indices: Int32Array): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error(`${OP}: closed`));
    if (!this.slots) this.slots = this.startWorkers();
    const slot = this.slots.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, worker: slot });
      if (slot.outstanding++ === 0) slot.worker.ref(); // keep the process alive while work is owed
      const out = this.takeBuffer();
      const req: WorkerRequest = { id, epoch, indices, out, length: this.fullLength };
      const transfer = [indices.buffer as ArrayBuffer];
      if (out) transfer.push(out.buffer as ArrayBuffer);
      slot.worker.postMessage(req, transfer);
    });
  }

  private settle(id: number): Job | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    this.jobs.delete(id);
    if (--job.worker.outstanding === 0) job.worker.worker.unref();
    return job;
  }

  private onReply(reply: WorkerReply): void {
    const job = this.settle(reply.id);
    if (!job) return;
    if ('error' in reply) job.reject(new Error(reply.error));
    else job.resolve(reply.images);
  }

  private onWorkerFailure(err: Error): void {
    if (this.closed) return;
    this.failure ??= new Error(`${OP}: a worker thread failed: ${err.message}`);
    this.rejectAll(this.failure);
    // One broken worker breaks the loader: stop the others rather than leak them.
    void this.close();
  }

  private rejectAll(err: Error): void {
    for (const id of [...this.jobs.keys()]) this.settle(id)?.reject(err);
  }
}

/** A batch's images as a Tensor (float32 NCHW) on `device`, through Tensor.fromArray. */
export function batchToTensor(batch: Batch, device?: string): import('../core/tensor').Tensor {
  // Required lazily so that the data pipeline works (and is testable) without the native addon.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Tensor } = require('../core/tensor') as typeof import('../core/tensor');
  return Tensor.fromArray(batch.images, batch.shape, device);
}

/** A training loader and (where the prepared folder has one) a validation loader. */
export function openLoaders(
  dir: string,
  options: { train?: LoaderOptions; val?: LoaderOptions } = {},
): { train: DataLoader; val: DataLoader | null; data: PreparedData } {
  const data = openPrepared(dir);
  const train = new DataLoader(data, { ...options.train, split: 'train' });
  const val = data.index.splits.val ? new DataLoader(data, { ...options.val, split: 'val' }) : null;
  return { train, val, data };
}
