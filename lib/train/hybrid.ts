// Hybrid parallel training, Krizhevsky's "one weird trick" (2014): the convolutional layers
// (most of the compute, few of the parameters) data-parallel as in distributed.ts, the fully
// connected ones (few of the compute, most of the parameters) model-parallel. Rank r holds
// rows [r*k, (r+1)*k) of each fc layer's weight (k = out / ranks, padded where it does not
// divide, see HeadStep) and computes those neurons for the whole global batch:
//   forward:  conv5 features of the rank's images (n, D) -> allgather -> (N, D)
//             fc6 slice (N, k6) -> allgather -> (N, 4096) -> fc7 slice -> ... -> fc8 slice
//             -> allgather -> logits (N, classes); the rank keeps its own rows (n, classes)
//   backward: dlogits (n, classes) -> allgather -> (N, classes) -> fc8 slice's gradients
//             (exact: the whole batch) and a partial dx (N, 4096) -> reduce-scatter by column
//             block -> this rank's (N, k7) -> ... -> fc6's partial dx (N, D) -> reduce-scatter
//             by row block -> the rank's (n, D) -> conv backward -> conv gradients summed over
//             the ranks, bucket by bucket, during the rest of backward.
// Forward and backward talk in the middle, so they are async (Model.forwardAsync).
import { Communicator } from '../core/comm';
import { Device } from '../core/device';
import * as ops from '../core/ops';
import { Tensor } from '../core/tensor';
import { NamedArray } from '../io/safetensors';
import { Activation, Context, Dropout, Layer, Linear, Param } from '../nn/layers';
import { expectArray, Model } from '../nn/model';
import { Network } from '../nn/network';
import { ModelConfig, SampleShape } from '../nn/spec';
import { Sgd } from './optim';

// An fc layer of F neurons gives each rank k = ceil(F / P) of them: rank r holds neurons
// [r k, min(F, (r+1) k)) and, where F does not divide, zero "padding" neurons after them.
// Their weights and bias are 0, and so is everything they send on (relu(0) = tanh(0) = 0)
// and every gradient they get (the next layer's weight columns for them are 0 too), so they
// stay 0: the gathered (N, P k) activations are the real (N, F) ones followed by zeros.
type HeadStep =
  | { kind: 'fc'; layer: Linear; out: number; k: number; inReal: number }
  | { kind: 'act'; layer: Activation }
  | { kind: 'drop'; layer: Dropout; out: number };

/** Rank r's padded (k, inPad) slice of a real (out, inReal) weight, or (k) of a bias (inReal 1). */
function padSlice(real: Float32Array, out: number, inReal: number, r: number, k: number, inPad: number): Float32Array {
  const slice = new Float32Array(k * inPad);
  for (let i = 0; i < k && r * k + i < out; i++) slice.set(real.subarray((r * k + i) * inReal, (r * k + i + 1) * inReal), i * inPad);
  return slice;
}

/** The real (rows, cols) top-left corner of a (_, stride) row-major matrix. */
function corner(a: Float32Array, stride: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) out.set(a.subarray(i * stride, i * stride + cols), i * cols);
  return out;
}

/** (P, N, k) blocks, rank-major -> (N, P*k) rows. */
function blocksToRows(blocks: Float32Array, P: number, N: number, k: number): Float32Array {
  const out = new Float32Array(blocks.length);
  for (let p = 0; p < P; p++) for (let n = 0; n < N; n++) out.set(blocks.subarray((p * N + n) * k, (p * N + n + 1) * k), n * P * k + p * k);
  return out;
}

/** (N, P*k) rows -> (P, N, k) blocks, rank-major. */
function rowsToBlocks(rows: Float32Array, P: number, N: number, k: number): Float32Array {
  const out = new Float32Array(rows.length);
  for (let p = 0; p < P; p++) for (let n = 0; n < N; n++) out.set(rows.subarray(n * P * k + p * k, n * P * k + (p + 1) * k), (p * N + n) * k);
  return out;
}

export interface HybridTimes {
  /** seconds the collectives took on the communicator's thread */
  comm: number;
  /** the part of it this thread waited for */
  exposed: number;
  /** each rank's payload sent and received by the collectives this step */
  bytes: number;
}

export class HybridParallel implements Model {
  private readonly conv: Layer[];
  private readonly head: HeadStep[] = [];
  private readonly P: number;
  private readonly rank: number;
  /** conv parameters in buckets, in the order backward completes them */
  private readonly buckets: Param[][] = [];
  private readonly closes = new Map<number, number>();
  private kept: Tensor[] = [];
  private masks: Tensor[] = [];
  private gathered = false;
  private localRows = 0;
  private inFlight: Promise<number>[] = [];
  /** full fc tensors gathered for a checkpoint, by the slice they were gathered from */
  private readonly full = new Map<Tensor, Float32Array>();
  times: HybridTimes = { comm: 0, exposed: 0, bytes: 0 };

  constructor(private readonly net: Network, readonly comm: Communicator, bucketBytes = 4 << 20) {
    this.P = comm.size;
    this.rank = comm.rank;
    const flat = net.layers.findIndex((l) => l.name === 'flatten' || l instanceof Linear);
    if (flat < 0 || !(net.layers[flat + 1] instanceof Linear)) throw new Error('--parallel hybrid: the model has no flatten layer followed by fully connected layers');
    this.conv = net.layers.slice(0, flat + 1);
    for (const l of net.layers.slice(flat + 1)) {
      if (l instanceof Linear) {
        const out = l.outputShape[0], k = Math.ceil(out / this.P);
        const inReal = l.inputShape[0];
        const prev = this.head.some((t) => t.kind === 'fc');
        const inPad = prev ? this.P * this.lastK() : inReal;
        // this rank's rows of the single-process weight: the same initial values as one process
        const w = Tensor.fromArray(padSlice(l.weight.value.toFloat32Array(), out, inReal, this.rank, k, inPad), [k, inPad], net.device);
        const b = Tensor.fromArray(padSlice(l.bias.value.toFloat32Array(), out, 1, this.rank, k, 1), [k], net.device);
        l.dispose();
        // a fused ReLU stays fused: it is elementwise, so each rank applies it to its own slice
        this.head.push({ kind: 'fc', layer: new Linear(l.name, [inPad], k, w, b, l.relu), out, k, inReal });
      } else if (l instanceof Activation) {
        this.head.push({ kind: 'act', layer: new Activation(l.name, [this.lastK()], l.kind, l.applied) });
      } else if (l instanceof Dropout) {
        this.head.push({ kind: 'drop', layer: l, out: this.lastOut() });
      } else {
        throw new Error(`--parallel hybrid: cannot split a ${l.constructor.name} layer (${l.name}) after the fully connected layers start`);
      }
    }
    let bucket: Param[] = [], bytes = 0;
    for (let i = this.conv.length - 1; i >= 0; i--) {
      const ps = this.conv[i].params();
      if (!ps.length) continue;
      bucket.push(...ps);
      bytes += ps.reduce((n, p) => n + 4 * p.value.size, 0);
      if (bytes >= bucketBytes || !this.conv.slice(0, i).some((l) => l.params().length)) {
        this.closes.set(i, this.buckets.length);
        this.buckets.push(bucket);
        bucket = [];
        bytes = 0;
      }
    }
  }

  private lastK(): number {
    const fc = [...this.head].reverse().find((s) => s.kind === 'fc') as { k: number } | undefined;
    return fc!.k;
  }

  private lastOut(): number {
    const fc = [...this.head].reverse().find((s) => s.kind === 'fc') as { out: number } | undefined;
    return fc!.out;
  }

  get config(): ModelConfig { return this.net.config; }
  get inputDevice(): Device { return this.net.device; }
  get inputShape(): SampleShape { return this.net.inputShape; }
  get outputShape(): SampleShape { return this.net.outputShape; }

  /** This rank's parameters: every conv parameter, and its slice of each fc layer. */
  params(): Param[] {
    return [...this.conv.flatMap((l) => l.params()), ...this.head.flatMap((s) => (s.kind === 'fc' ? s.layer.params() : []))];
  }

  /** The whole model's parameter count (every rank's slices together). */
  parameterCount(): number {
    return this.conv.flatMap((l) => l.params()).reduce((n, p) => n + p.value.size, 0) +
      this.head.reduce((n, s) => n + (s.kind === 'fc' ? s.out * (s.inReal + 1) : 0), 0);
  }

  forward(): Tensor {
    throw new Error('HybridParallel: forward and backward talk to the other ranks; use forwardAsync and backwardAsync');
  }

  backward(): Tensor | null {
    throw new Error('HybridParallel: forward and backward talk to the other ranks; use forwardAsync and backwardAsync');
  }

  private async collective(p: Promise<number>, bytes: number): Promise<void> {
    const start = performance.now();
    this.times.comm += await p;
    this.times.exposed += (performance.now() - start) / 1000;
    this.times.bytes += bytes;
  }

  /** (N, k) slices of every rank -> (N, P*k). */
  private async gatherColumns(y: Tensor): Promise<Tensor> {
    const [N, k] = y.shape;
    const blocks = Tensor.empty([this.P * N * k], y.device);
    await this.collective(this.comm.allgather(y, blocks), 4 * this.P * N * k);
    const rows = blocksToRows(blocks.toFloat32Array(), this.P, N, k);
    blocks.dispose();
    return Tensor.fromArray(rows, [N, this.P * k], y.device);
  }

  /**
   * Training: x is this rank's shard (rows ctx.rows of the global batch); the logits returned
   * are its rows. Evaluation (no ctx.rows): every rank passes the same whole batch.
   */
  async forwardAsync(x: Tensor, ctx: Context): Promise<Tensor> {
    this.release();
    this.times = { comm: 0, exposed: 0, bytes: 0 };
    const keep = (t: Tensor) => (ctx.training ? this.kept.push(t) : t.dispose());
    let h = x;
    for (const l of this.conv) {
      const out = l.forward(h, ctx);
      if (h !== x && out !== h) keep(h);  // a fused ReLU's output is its input
      h = out;
    }
    const n = h.shape[0];
    this.localRows = n;
    this.gathered = ctx.rows !== undefined;
    if (this.gathered) {
      if (ctx.rows!.start !== this.rank * n || ctx.rows!.total !== this.P * n)
        throw new Error(`--parallel hybrid: rank ${this.rank} holds rows ${ctx.rows!.start}.. of ${ctx.rows!.total}, not an equal share of the batch`);
      const all = Tensor.empty([this.P * n, h.shape[1]], h.device);
      await this.collective(this.comm.allgather(h, all), 4 * all.size);
      keep(h);
      h = all;
    }
    const N = h.shape[0];
    for (let i = 0; i < this.head.length; i++) {
      const s = this.head[i];
      let out: Tensor;
      if (s.kind === 'fc') {
        out = s.layer.forward(h);
        // the next fc (or the loss) needs every rank's neurons
        const next = this.head.slice(i + 1).find((t) => t.kind === 'fc');
        if (!next) {
          keep(h);
          h = out;
          break;
        }
      } else if (s.kind === 'act') {
        out = s.layer.forward(h);
      } else if (!ctx.training) {
        out = s.layer.forward(h, ctx);
      } else {
        // the single-process mask of the global batch (see Dropout), this rank's columns
        const k = h.shape[1];
        const ones = Tensor.full([N, s.out], 1, h.device);
        const whole = ops.dropout(ones, { p: s.layer.p, training: true, seed: ctx.seed, offset: ctx.step * s.layer.streams + s.layer.index });
        const g = whole.mask!.toFloat32Array();
        const m = new Float32Array(N * k);
        const real = Math.max(0, Math.min(k, s.out - this.rank * k));
        for (let r = 0; r < N; r++) m.set(g.subarray(r * s.out + this.rank * k, r * s.out + this.rank * k + real), r * k);
        // inverted dropout keeps the same elements, scaled by 1 / (1 - p) (see Dropout)
        if (s.layer.style === 'inverted') for (let i = 0; i < m.length; i++) m[i] *= 1 / (1 - s.layer.p);
        for (const t of [ones, whole.y, whole.mask!]) t.dispose();
        const mask = Tensor.fromArray(m, [N, k], h.device);
        this.masks.push(mask);
        out = ops.dropoutBackward(h, mask);
      }
      if (out !== h) keep(h);  // a fused ReLU's output is its input
      h = out;
      // after the last elementwise layer of a block, gather the block's columns for the next fc
      const nextStep = this.head[i + 1];
      if (nextStep?.kind === 'fc') {
        const full = await this.gatherColumns(h);
        keep(h);
        h = full;
      }
    }
    const padded = await this.gatherColumns(h);
    keep(h);
    const classes = this.outputShape[0];
    const logits = padded.shape[1] === classes ? padded : Tensor.fromArray(corner(padded.toFloat32Array(), padded.shape[1], N, classes), [N, classes], h.device);
    if (logits !== padded) padded.dispose();
    if (!this.gathered) return logits;
    const mine = Tensor.fromArray(logits.toFloat32Array().subarray(this.rank * n * logits.shape[1], (this.rank + 1) * n * logits.shape[1]), [n, logits.shape[1]], logits.device);
    logits.dispose();
    return mine;
  }

  /** Sets this rank's gradients: the fc slices' from the whole batch, the conv ones summed over the ranks. */
  async backwardAsync(dlogits: Tensor): Promise<void> {
    if (!this.gathered) throw new Error('HybridParallel: backward needs a training forward of this rank\'s shard');
    const n = this.localRows, classes = dlogits.shape[1];
    // every rank's dlogits (each a mean over its n images): the whole batch's, as a mean over N
    const all = Tensor.empty([this.P * n, classes], dlogits.device);
    await this.collective(this.comm.allgather(dlogits, all), 4 * all.size);
    const N = this.P * n;
    let lastFc = this.head.length - 1;
    while (this.head[lastFc].kind !== 'fc') lastFc--;
    const k8 = (this.head[lastFc] as { k: number }).k;
    // (N, classes) / P, zero-padded to (N, P k8), then this rank's columns
    const flat = all.toFloat32Array();
    all.dispose();
    const scaled = new Float32Array(N * this.P * k8);
    for (let r = 0; r < N; r++) for (let c = 0; c < classes; c++) scaled[r * this.P * k8 + c] = flat[r * classes + c] / this.P;
    let g = Tensor.fromArray(rowsToBlocks(scaled, this.P, N, k8).subarray(this.rank * N * k8, (this.rank + 1) * N * k8), [N, k8], dlogits.device);
    const firstFc = this.head.findIndex((s) => s.kind === 'fc');
    for (let i = lastFc; i >= 0; i--) {
      const s = this.head[i];
      let next: Tensor;
      if (s.kind === 'fc') {
        const partial = s.layer.backward(g, true)!;  // (N, in): this rank's neurons' share of dx
        if (i === firstFc) {
          // the rows of this rank's images, summed over every rank's neurons
          next = Tensor.empty([n, partial.shape[1]], partial.device);
          await this.collective(this.comm.reduceScatter(partial, next), 4 * partial.size);
        } else {
          const kIn = partial.shape[1] / this.P;
          const blocks = Tensor.fromArray(rowsToBlocks(partial.toFloat32Array(), this.P, N, kIn), [partial.size], partial.device);
          next = Tensor.empty([N, kIn], partial.device);
          await this.collective(this.comm.reduceScatter(blocks, next), 4 * blocks.size);
          blocks.dispose();
        }
        partial.dispose();
      } else if (s.kind === 'act') {
        next = s.layer.backward(g, true)!;
      } else {
        const mask = this.masks.pop()!;
        next = ops.dropoutBackward(g, mask);
        mask.dispose();
      }
      g.dispose();
      g = next;
    }
    // conv layers: this rank's images; each bucket's sum starts as soon as it is complete
    this.inFlight = [];
    const launched = new Set<number>();
    const launch = (b: number) => {
      if (launched.has(b)) return;
      launched.add(b);
      this.inFlight.push(this.comm.allreduce(this.buckets[b].map((p) => p.grad!), 'sum'));
      this.times.bytes += 4 * this.buckets[b].reduce((m, p) => m + p.value.size, 0);
    };
    for (let i = this.conv.length - 1; i >= 0; i--) {
      const next = this.conv[i].backward(g, i > 0);
      g.dispose();
      const b = this.closes.get(i);
      if (b !== undefined) launch(b);
      if (!next) break;
      g = next;
    }
    for (let b = 0; b < this.buckets.length; b++) launch(b);
    this.release();
  }

  /** Waits for the conv gradients' allreduces. */
  async synchronize(): Promise<void> {
    const start = performance.now();
    const s = await Promise.all(this.inFlight);
    this.inFlight = [];
    this.times.comm += s.reduce((a, b) => a + b, 0);
    this.times.exposed += (performance.now() - start) / 1000;
  }

  release(): void {
    for (const t of this.kept) t.dispose();
    for (const t of this.masks) t.dispose();
    this.kept = [];
    this.masks = [];
  }

  dispose(): void {
    this.release();
    for (const l of this.conv) l.dispose();
    for (const s of this.head) s.layer.dispose();
  }

  /**
   * Every rank: gathers the fc slices (values, and velocities of `sgd`) so that
   * toSingleDevice() can give the single-device layout a checkpoint holds.
   */
  async gatherForCheckpoint(sgd: Sgd | null): Promise<void> {
    this.full.clear();
    for (const s of this.head) {
      if (s.kind !== 'fc') continue;
      for (const p of s.layer.params())
        for (const t of sgd ? [p.value, sgd.velocity.get(p.name)!] : [p.value]) {
          const all = Tensor.empty([this.P * t.size], t.device);
          await this.comm.allgather(t, all);
          this.full.set(t, all.toFloat32Array());
          all.dispose();
        }
    }
  }

  toSingleDevice(pick: (p: Param) => Tensor): Map<string, NamedArray> {
    const out = new Map<string, NamedArray>();
    for (const l of this.conv) for (const p of l.params()) out.set(p.name, { shape: [...p.value.shape], data: pick(p).toFloat32Array() });
    for (const s of this.head) {
      if (s.kind !== 'fc') continue;
      for (const p of s.layer.params()) {
        const data = this.full.get(pick(p));
        if (!data) throw new Error('HybridParallel: call gatherForCheckpoint() on every rank before writing a checkpoint');
        const weight = p.name.endsWith('.weight');
        // the gathered (P k, inPad) padded rows -> the real (out, inReal)
        out.set(p.name, weight ? { shape: [s.out, s.inReal], data: corner(data, s.layer.inputShape[0], s.out, s.inReal) } : { shape: [s.out], data: data.subarray(0, s.out) });
      }
    }
    return out;
  }

  fromSingleDevice(arrays: ReadonlyMap<string, NamedArray>, pick: (p: Param) => Tensor, source = 'parameters'): void {
    for (const l of this.conv) for (const p of l.params()) pick(p).write(expectArray(arrays, p.name, p.value.shape, source));
    for (const s of this.head) {
      if (s.kind !== 'fc') continue;
      const w = expectArray(arrays, s.layer.weight.name, [s.out, s.inReal], source);
      pick(s.layer.weight).write(padSlice(w, s.out, s.inReal, this.rank, s.k, s.layer.inputShape[0]));
      const b = expectArray(arrays, s.layer.bias.name, [s.out], source);
      pick(s.layer.bias).write(padSlice(b, s.out, 1, this.rank, s.k, 1));
    }
  }
}
