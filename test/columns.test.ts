// The paper's two columns on two devices: the split is the paper's, its parameters map onto the
// single-device model's and back, both compute the same function (outputs, input gradients and
// every parameter gradient to float32 rounding), SGD agrees, checkpoints cross over, the
// bytes copied are what the connectivity implies, and `train --device cpu,cpu` runs.
import test, { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NamedArray, readSafetensorsFile } from '../lib/io/safetensors';
import { columnPlan, columnTraffic, convertParams, paramPieces } from '../lib/nn/columns/plan';
import { ColumnNetwork } from '../lib/nn/columns/network';
import { parseDeviceList } from '../lib/core/device';
import { SoftmaxCrossEntropy } from '../lib/nn/layers';
import { alexnet, ModelConfig, ModelOptions } from '../lib/nn/spec';
import { Network } from '../lib/nn/network';
import { Sgd } from '../lib/train/optim';
import { Tensor } from '../lib/core/tensor';
import { fit, FitOptions } from '../lib/train/loop';
import { loadCheckpoint, networkFromCheckpoint, restore, saveCheckpoint } from '../lib/train/checkpoint';
import { backendInfo } from '../lib/core/info';
import { backends, eachBackend } from './_backends';
import { uniform } from './_reference';
import { preparedGradients } from './data/_fixtures';

const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alexnet-columns-${name}-`));

// A narrow AlexNet on 67x67 crops: every layer of the paper's, 12+12 conv1 kernels.
const small = (o: Partial<ModelOptions> = {}) => alexnet({ width: 0.125, crop: 67, classes: 10, dropout: false, init: 'he', ...o });

// The same sums in another order (conv3 and the fc layers add two partial products) differ
// by a few float32 roundings: measured up to 9e-7 of a tensor's largest value. A wrong block
// or a missing term is off by O(1).
const TOL = 1e-5;

/** The largest |a - b| as a fraction of the largest |a|, and where. */
function mismatch(a: Float32Array, b: Float32Array): { worst: number; at: number } {
  let scale = 0;
  for (const v of a) scale = Math.max(scale, Math.abs(v));
  let worst = 0, at = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / (scale || 1);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  return { worst, at };
}

function close(t: ExecutionContext, name: string, a: Float32Array, b: Float32Array): void {
  t.is(b.length, a.length, `${name}: length`);
  const m = mismatch(a, b);
  t.true(m.worst <= TOL, `${name}: differs by ${m.worst.toExponential(2)} of its largest value at element ${m.at} (${a[m.at]} vs ${b[m.at]})`);
}

function named(net: Network | ColumnNetwork, value: (p: { value: Tensor; grad: Tensor | null; name: string }) => Tensor): Map<string, NamedArray> {
  const m = new Map(net.params().map((p) => [p.name, { shape: [...p.value.shape], data: value(p).toFloat32Array() }]));
  return net instanceof ColumnNetwork ? convertParams(net.config, m, 'single') : m;
}

interface Run {
  loss: number;
  logits: Float32Array;
  dx: Float32Array;
  /** parameter gradients in the single-device layout */
  grads: Map<string, NamedArray>;
}

function forwardBackward(net: Network | ColumnNetwork, x: Tensor, labels: Int32Array, step = 0): Run {
  const xent = new SoftmaxCrossEntropy();
  const logits = net.forward(x, { training: true, seed: 5, step });
  const loss = xent.forward(logits, labels);
  const d = xent.backward();
  const dx = net.backward(d, true)!;
  const run = { loss, logits: logits.toFloat32Array(), dx: dx.toFloat32Array(), grads: named(net, (p) => p.grad!) };
  for (const t of [logits, d, dx]) t.dispose();
  xent.dispose();
  return run;
}

/** The single-device model on devices[0] and the columns on devices, compared. */
function sameFunction(t: ExecutionContext, config: ModelConfig, devices: [string, string], n = 3): ColumnNetwork {
  const device = devices[0];
  const single = new Network(config, { seed: 4, device });
  const split = new ColumnNetwork(config, { seed: 4, devices });
  const [c, h, w] = config.input;
  const x = Tensor.randn([n, c, h, w], { seed: 6, std: 40, device });
  const labels = Int32Array.from({ length: n }, (_, i) => (3 * i + 1) % config.options.classes);
  const a = forwardBackward(single, x, labels), b = forwardBackward(split, x, labels);
  t.true(Math.abs(a.loss - b.loss) <= TOL * Math.abs(a.loss), `loss ${a.loss} vs ${b.loss}`);
  close(t, 'logits', a.logits, b.logits);
  close(t, 'input gradient', a.dx, b.dx);
  t.deepEqual([...b.grads.keys()], [...a.grads.keys()]);
  for (const [name, g] of a.grads) close(t, `${name} gradient`, g.data, b.grads.get(name)!.data);
  t.true(a.dx.some((v) => v !== 0) && [...a.grads.values()].every((g) => g.data.some((v) => v !== 0)), 'every gradient is non-zero');
  single.dispose();
  x.dispose();
  return split;
}

// ---------------------------------------------------------------- the split

test("the paper's model splits into the paper's columns, and no parameter is lost or counted twice", (t) => {
  const pieces = paramPieces(alexnet());
  const shapes = Object.fromEntries(pieces.map((p) => [p.name, [p.rows[1] - p.rows[0], ...(p.shape.length > 1 ? [p.cols[1] - p.cols[0], ...p.shape.slice(2)] : [])]]));
  t.deepEqual(shapes, {
    'conv1.a.weight': [48, 3, 11, 11], 'conv1.a.bias': [48], 'conv1.b.weight': [48, 3, 11, 11], 'conv1.b.bias': [48],
    'conv2.a.weight': [128, 48, 5, 5], 'conv2.a.bias': [128], 'conv2.b.weight': [128, 48, 5, 5], 'conv2.b.bias': [128],
    // conv3 reads both columns: a block over its own conv2 maps and one over the other's
    'conv3.a.weight': [192, 128, 3, 3], 'conv3.a.weight.from_b': [192, 128, 3, 3], 'conv3.a.bias': [192],
    'conv3.b.weight': [192, 128, 3, 3], 'conv3.b.weight.from_a': [192, 128, 3, 3], 'conv3.b.bias': [192],
    'conv4.a.weight': [192, 192, 3, 3], 'conv4.a.bias': [192], 'conv4.b.weight': [192, 192, 3, 3], 'conv4.b.bias': [192],
    'conv5.a.weight': [128, 192, 3, 3], 'conv5.a.bias': [128], 'conv5.b.weight': [128, 192, 3, 3], 'conv5.b.bias': [128],
    'fc6.a.weight': [2048, 4608], 'fc6.a.weight.from_b': [2048, 4608], 'fc6.a.bias': [2048],
    'fc6.b.weight': [2048, 4608], 'fc6.b.weight.from_a': [2048, 4608], 'fc6.b.bias': [2048],
    'fc7.a.weight': [2048, 2048], 'fc7.a.weight.from_b': [2048, 2048], 'fc7.a.bias': [2048],
    'fc7.b.weight': [2048, 2048], 'fc7.b.weight.from_a': [2048, 2048], 'fc7.b.bias': [2048],
    // fc8: one 1000-way layer; each column holds the weights over its half of fc7, A the bias
    'fc8.a.weight': [1000, 2048], 'fc8.a.bias': [1000], 'fc8.b.weight': [1000, 2048],
  });
  const count = (column: number) => pieces.filter((p) => p.column === column).reduce((n, p) => n + shapes[p.name].reduce((a, b) => a * b, 1), 0);
  t.is(count(0) + count(1), 60_965_224);
  t.is(count(0) - count(1), 1000);  // fc8's bias
  const kinds = Object.fromEntries(columnPlan(alexnet()).filter((s) => s.kind !== 'local').map((s) => [s.spec.name, s.kind]));
  t.deepEqual(kinds, { conv3: 'cross', fc6: 'cross', fc7: 'cross', fc8: 'merge' });
});

test('width scales both columns as it scales alexnet()', (t) => {
  const pieces = paramPieces(alexnet({ width: 0.5 }));
  const rows = (name: string) => pieces.find((p) => p.name === name)!;
  t.deepEqual(rows('conv1.b.weight').rows, [24, 48]);
  t.deepEqual(rows('conv3.a.weight.from_b').cols, [64, 128]);
  t.deepEqual(rows('fc6.b.weight').cols, [2304, 4608]);
  t.deepEqual(rows('fc8.b.weight').cols, [1024, 2048]);
});

test('convertParams: to the columns and back is exact, and takes the blocks the connectivity says', (t) => {
  const config = alexnet({ width: 0.25, crop: 67, classes: 7 });
  const net = new Network(config, { seed: 1 });
  const single = new Map(net.params().map((p, i) => [p.name, { shape: [...p.value.shape], data: uniform(p.value.size, 100 + i) }]));
  net.dispose();
  const split = convertParams(config, single, 'columns');
  const back = convertParams(config, split, 'single');
  t.deepEqual([...back.keys()], [...single.keys()]);
  for (const [name, v] of single) t.deepEqual(back.get(name), v, name);
  // a few elements by hand: conv1 24 kernels (12 + 12), conv2 64 (32 + 32) over 12 maps each,
  // conv3 96 (48 + 48) over 64 maps, pool5 maps 32 + 32 of 1x1 (crop 67), fc6 1024, fc8 7
  const at = (m: Map<string, NamedArray>, name: string, ...idx: number[]) => {
    const a = m.get(name)!;
    let flat = 0;
    for (let d = 0; d < a.shape.length; d++) flat = flat * a.shape[d] + (idx[d] ?? 0);
    return a.data[flat];
  };
  t.is(at(split, 'conv1.b.weight', 0, 2, 3, 4), at(single, 'conv1.weight', 12, 2, 3, 4));
  t.is(at(split, 'conv2.b.weight', 5, 11, 4, 0), at(single, 'conv2.weight', 37, 11, 4, 0));
  t.is(at(split, 'conv3.a.weight.from_b', 3, 2, 1, 1), at(single, 'conv3.weight', 3, 34, 1, 1));
  t.is(at(split, 'conv3.b.weight', 3, 2, 1, 1), at(single, 'conv3.weight', 51, 34, 1, 1));
  t.is(at(split, 'conv3.b.weight.from_a', 3, 2, 1, 1), at(single, 'conv3.weight', 51, 2, 1, 1));
  t.is(at(split, 'conv3.b.bias', 47), at(single, 'conv3.bias', 95));
  t.is(at(split, 'fc6.b.weight.from_a', 1, 31), at(single, 'fc6.weight', 513, 31));
  t.is(at(split, 'fc6.a.weight.from_b', 1, 0), at(single, 'fc6.weight', 1, 32));
  t.is(at(split, 'fc8.b.weight', 6, 0), at(single, 'fc8.weight', 6, 512));
  t.is(at(split, 'fc8.a.bias', 6), at(single, 'fc8.bias', 6));
  t.false(split.has('fc8.b.bias'));
  single.delete('conv4.bias');
  t.throws(() => convertParams(config, single, 'columns', 'x.safetensors'), { message: 'x.safetensors: no tensor conv4.bias for this model' });
  split.set('fc7.a.weight', { shape: [1, 2], data: new Float32Array(2) });
  t.throws(() => convertParams(config, split, 'single'), { message: /^parameters: fc7\.a\.weight has shape \[1,2\] but the model expects \[512,512\]$/ });
});

test('models that do not split into two columns are a clear error', (t) => {
  t.throws(() => columnPlan(alexnet({ columns: 1 })), { message: /need a model with columns 2 .* this one has columns 1/ });
  const config = alexnet();
  const lrn = { ...config, layers: config.layers.map((l) => (l.name === 'lrn2' && l.type === 'lrn' ? { ...l, groups: 1 } : l)) };
  t.throws(() => columnPlan(lrn), { message: 'lrn2: cannot split into two columns: an LRN window over both columns (groups 1; the paper\'s is 2)' });
  t.throws(() => new ColumnNetwork(small(), { seed: 1, devices: ['cpu'] as unknown as [string, string] }), { message: /Expected two devices, one per column for devices/ });
});

// ---------------------------------------------------------------- the same function

eachBackend('forward and backward on two logical devices equal the single-device model with groups 2', (t, b) => {
  sameFunction(t, small(), [b.device, b.device]).dispose();
});

// Two distinct devices: the copies cross devices, the image is copied to B's and its
// gradient back, and each column's parameters and velocities live on its own device.
const cuda = backends().find((b) => b.name === 'cuda')!;
const gpus = cuda.available ? backendInfo().cuda.devices.length : 0;
const twoGpus = `cuda: cuda:0 and cuda:1 compute the same function, each column's parameters and velocities on its own device`;
if (gpus >= 2)
  test(twoGpus, (t) => {
    const config = small();
    const split = sameFunction(t, config, ['cuda:0', 'cuda:1']);
    const sgd = new Sgd(split.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
    for (const c of [0, 1] as const)
      for (const p of split.columnParams(c)) {
        t.is(p.value.device.toString(), `cuda:${c}`, p.name);
        t.is(p.grad!.device.toString(), `cuda:${c}`, `gradient of ${p.name}`);
        t.is(sgd.velocity.get(p.name)!.device.toString(), `cuda:${c}`, `velocity of ${p.name}`);
      }
    const traffic = columnTraffic(config, 3);
    t.deepEqual(split.copiedBytes, { forward: traffic.forward, backward: traffic.backward, total: traffic.total, input: 2 * 3 * 3 * 67 * 67 * 4 });
    sgd.dispose();
    split.dispose();
  });
else test.skip(`${twoGpus} (skipped: ${cuda.available ? `${gpus} CUDA device` : cuda.reason})`, () => {});

test('the same function for a variant: tanh, no LRN, 2x2 pooling, width 0.25', (t) => {
  sameFunction(t, small({ activation: 'tanh', lrn: false, overlappingPool: false, width: 0.25 }), ['cpu', 'cpu'], 2).dispose();
});

test('with dropout on, evaluation (dropout as x0.5) gives the same logits', (t) => {
  const config = small({ dropout: true });
  const single = new Network(config, { seed: 8 });
  const split = new ColumnNetwork(config, { seed: 8, devices: ['cpu', 'cpu'] });
  const x = Tensor.randn([4, 3, 67, 67], { seed: 2, std: 40 });
  const ctx = { training: false, seed: 0, step: 0 };
  const a = single.forward(x, ctx), b = split.forward(x, ctx);
  close(t, 'logits', a.toFloat32Array(), b.toFloat32Array());
  // in training each column draws its own masks (its own Philox streams): a different but valid draw
  const c = split.forward(x, { training: true, seed: 1, step: 0 });
  t.true(c.toFloat32Array().every(Number.isFinite));
  for (const z of [a, b, c, x, single, split]) z.dispose();
});

test('the comparison fails for a wrong split: conv3 reading the columns the wrong way round', (t) => {
  const config = small();
  const single = new Network(config, { seed: 4 });
  const params = named(single, (p) => p.value);
  // swap conv3's two input halves: the columns would read each other's maps as their own
  const w = params.get('conv3.weight')!;
  const [k, c, kh, kw] = w.shape, area = kh * kw, swapped = new Float32Array(w.data.length);
  for (let o = 0; o < k; o++)
    for (let i = 0; i < c; i++) swapped.set(w.data.subarray((o * c + i) * area, (o * c + i + 1) * area), (o * c + ((i + c / 2) % c)) * area);
  params.set('conv3.weight', { shape: w.shape, data: swapped });
  const split = new ColumnNetwork(config, { seed: 0, devices: ['cpu', 'cpu'], params });
  const x = Tensor.randn([2, 3, 67, 67], { seed: 6, std: 40 });
  const ctx = { training: false, seed: 0, step: 0 };
  const a = single.forward(x, ctx), b = split.forward(x, ctx);
  const m = mismatch(a.toFloat32Array(), b.toFloat32Array());
  t.true(m.worst > 100 * TOL, `a wrong split differs by only ${m.worst}`);
  for (const z of [a, b, x, single, split]) z.dispose();
});

// ---------------------------------------------------------------- training

test('SGD steps: parameters and velocities stay on their column\'s device and agree with the single-device model', (t) => {
  const config = small();
  const devices = ['cpu', 'cpu'] as const;
  const single = new Network(config, { seed: 2 });
  const split = new ColumnNetwork(config, { seed: 2, devices });
  const sgdA = new Sgd(single.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
  const sgdB = new Sgd(split.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
  for (const c of [0, 1] as const)
    for (const p of split.columnParams(c)) {
      t.true(p.value.device.equals(split.devices[c]), `${p.name} on ${p.value.device}`);
      t.true(sgdB.velocity.get(p.name)!.device.equals(split.devices[c]), `velocity of ${p.name}`);
    }
  t.is(split.columnParams(0).length + split.columnParams(1).length, split.params().length);
  t.is(split.parameterCount(), single.parameterCount());
  const n = 4;
  const labels = Int32Array.from([0, 3, 6, 9]);
  for (let step = 0; step < 3; step++) {
    const x = Tensor.randn([n, 3, 67, 67], { seed: 20 + step, std: 40 });
    forwardBackward(single, x, labels, step);
    forwardBackward(split, x, labels, step);
    sgdA.step(0.01);
    sgdB.step(0.01);
    x.dispose();
  }
  const wA = named(single, (p) => p.value), wB = split.singleDeviceParams();
  for (const [name, v] of wA) close(t, name, v.data, wB.get(name)!.data);
  const vA = new Map([...sgdA.velocity].map(([k, v]) => [k, v.toFloat32Array()])), vB = split.singleDeviceVelocity(sgdB);
  for (const [name, v] of vA) close(t, `velocity of ${name}`, v, vB.get(name)!.data);
  for (const z of [sgdA, sgdB, single, split]) z.dispose();
});

// ---------------------------------------------------------------- bytes between the columns

test("the bytes copied per step are what the paper's connectivity implies", (t) => {
  // the paper's model at batch 128, by hand: per image, forward, in floats:
  //   conv3: 2 x 128 x 13 x 13 = 43,264; fc6: 2 x 4,608 = 9,216; fc7: 2 x 2,048 = 4,096;
  //   fc8: 1,000 partial logits; 57,576 floats = 230,304 bytes; the backward pass the same
  const paper = columnTraffic(alexnet(), 128);
  t.is(paper.forward, 29_478_912);
  t.is(paper.backward, 29_478_912);
  t.is(paper.total, 58_957_824);
  t.deepEqual(paper.rows.map((r) => [r.layer, r.forward]), [['conv3', 22_151_168], ['fc6', 4_718_592], ['fc7', 2_097_152], ['fc8', 512_000]]);

  // and the network's own count, for a small model with dropout on
  const config = small({ dropout: true });
  const net = new ColumnNetwork(config, { seed: 1, devices: ['cpu', 'cpu'] });
  const n = 5;
  const x = Tensor.randn([n, 3, 67, 67], { seed: 3, std: 40 });
  forwardBackward(net, x, Int32Array.from([0, 1, 2, 3, 4]));
  const expected = columnTraffic(config, n);
  t.deepEqual(net.copiedBytes, { forward: expected.forward, backward: expected.backward, total: expected.total, input: 0 });
  t.true(expected.total > 0);
  // evaluation copies only forward
  net.forward(x, { training: false, seed: 0, step: 0 }).dispose();
  t.deepEqual(net.copiedBytes, { forward: expected.forward, backward: 0, total: expected.forward, input: 0 });
  x.dispose();
  net.dispose();
});

// ---------------------------------------------------------------- checkpoints and the CLI

test('checkpoints: the split model saves the single-device layout, and each model loads the other\'s', (t) => {
  const dir = tmp('ck');
  const config = small();
  const state = { epoch: 0, batchInEpoch: 0, step: 1, seed: 3, bestValTop1: 1, schedule: { kind: 'fixed' as const, lr: 0.01 }, partial: { loss: 0, errors: 0, images: 0, seconds: 0, dataSeconds: 0 } };
  const x = Tensor.randn([2, 3, 67, 67], { seed: 9, std: 40 });
  const eval0 = { training: false, seed: 0, step: 0 };

  // split -> file -> single
  const split = new ColumnNetwork(config, { seed: 3, devices: ['cpu', 'cpu'] });
  const sgd = new Sgd(split.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
  forwardBackward(split, x, Int32Array.from([1, 2]));
  sgd.step(0.01);  // non-zero velocities
  const fromSplit = path.join(dir, 'split.safetensors');
  saveCheckpoint(fromSplit, split, sgd, state);
  const reference = new Network(config, { seed: 3 });
  const names = reference.params().map((p) => p.name);
  t.deepEqual([...readSafetensorsFile(fromSplit).tensors.keys()], [...names, ...names.map((n) => `velocity/${n}`)]);
  const single = networkFromCheckpoint(fromSplit);
  const a = split.forward(x, eval0), b = single.forward(x, eval0);
  close(t, 'logits of the loaded single-device model', a.toFloat32Array(), b.toFloat32Array());

  // single -> file -> split, velocities included (exact: the mapping only moves values)
  const sgd1 = new Sgd(reference.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
  forwardBackward(reference, x, Int32Array.from([1, 2]));
  sgd1.step(0.01);
  const fromSingle = path.join(dir, 'single.safetensors');
  saveCheckpoint(fromSingle, reference, sgd1, state);
  const ck = loadCheckpoint(fromSingle);
  const split2 = new ColumnNetwork(ck.config, { seed: 99, devices: ['cpu', 'cpu'] });
  const sgd2 = new Sgd(split2.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
  restore(split2, sgd2, ck, fromSingle);
  for (const [name, w] of ck.weights) t.deepEqual(split2.singleDeviceParams().get(name)!.data, w.data, name);
  for (const [name, v] of ck.velocity) t.deepEqual(split2.singleDeviceVelocity(sgd2).get(name)!.data, v.data, `velocity/${name}`);
  for (const z of [a, b, x, split, single, reference, split2, sgd, sgd1, sgd2]) z.dispose();
});

const data = preparedGradients(76, 16, 8, 3);

function options(out: string, extra: Partial<FitOptions> = {}): FitOptions {
  return {
    data, out, model: { width: 0.125, crop: 67, init: 'he', inputScale: 1 / 64, dropout: false }, batchSize: 8, epochs: 1, lr: 0.01, momentum: 0.9,
    weightDecay: 0.0005, schedule: 'fixed', patience: 1, stepEvery: 30, device: 'cpu,cpu', seed: 7, resume: false,
    tenCrop: false, workers: 0, maxBatches: 0, progress: false, log: () => {}, ...extra,
  };
}

test('fit on cpu,cpu trains the same weights as on cpu, and a split run resumes on one device', async (t) => {
  const split = await fit(options(tmp('fit-split'), { epochs: 2 }));
  const single = await fit(options(tmp('fit-single'), { epochs: 2, device: 'cpu' }));
  t.is(split.state.step, 4);
  const a = readSafetensorsFile(single.lastCheckpoint).tensors, b = readSafetensorsFile(split.lastCheckpoint).tensors;
  t.deepEqual([...b.keys()], [...a.keys()]);
  for (const [name, v] of a) if (!name.startsWith('input/')) close(t, name, v.data, b.get(name)!.data);
  t.is(split.metrics[1].val_top1_error, single.metrics[1].val_top1_error);

  // one epoch split, the second on a single device
  const out = tmp('fit-mixed');
  await fit(options(out));
  const resumed = await fit(options(out, { epochs: 2, resume: true, device: 'cpu' }));
  t.is(resumed.state.step, 4);
  const c = readSafetensorsFile(resumed.lastCheckpoint).tensors;
  for (const [name, v] of a) if (!name.startsWith('input/')) close(t, `resumed ${name}`, v.data, c.get(name)!.data);

  await t.throwsAsync(fit(options(tmp('fit-bad'), { model: { ...options('').model, columns: 1 } })), {
    message: /^device cpu,cpu: two devices hold the paper's two columns, one each, which needs a model with columns 2 \(this one has columns 1\)$/,
  });
});

test('parseDeviceList: one device or two, with clear errors', (t) => {
  t.deepEqual(parseDeviceList('cpu'), ['cpu']);
  t.deepEqual(parseDeviceList('cpu,cpu'), ['cpu', 'cpu']);
  t.deepEqual(parseDeviceList('cuda, cuda:1'), ['cuda:0', 'cuda:1']);
  t.throws(() => parseDeviceList('cpu,cpu,cpu'), { message: /names 3 devices: the model splits into two columns/ });
  t.throws(() => parseDeviceList('cpu,'), { message: /has an empty entry/ });
  t.throws(() => parseDeviceList(',cpu'), { message: /has an empty entry/ });
  t.throws(() => parseDeviceList('cpu,gpu'), { message: /^device list: Expected 'cpu', 'cuda'.* for device but received "gpu"$/ });
});

test('train --columns 2 --device cpu,cpu on the command line; bad device lists are usage errors', (t) => {
  const out = tmp('cli');
  const common = ['--data', data, '--width', '0.125', '--crop', '67', '--init', 'he', '--input-scale', '0.015625', '--batch-size', '8', '--workers', '0'];
  const r = spawnSync(process.execPath, [cli, 'train', ...common, '--out', out, '--epochs', '1', '--columns', '2', '--device', 'cpu,cpu'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /\(cpu,cpu\)/);
  t.regex(r.stdout, /epoch 1\/1: lr 0\.01 loss \d/);
  t.deepEqual(loadCheckpoint(path.join(out, 'last.safetensors')).weights.get('conv3.weight')!.shape, [48, 32, 3, 3]);
  const bad = (device: string, extra: string[] = []) => spawnSync(process.execPath, [cli, 'train', ...common, '--device', device, ...extra], { encoding: 'utf8' });
  const three = bad('cpu,cpu,cpu');
  t.is(three.status, 2);
  t.regex(three.stderr, /--device: device list "cpu,cpu,cpu" names 3 devices: the model splits into two columns, so give one device, or two \(one per column\)/);
  t.regex(three.stderr, /usage: node lib\/cli\.js train/);
  const empty = bad('cpu,');
  t.is(empty.status, 2);
  t.regex(empty.stderr, /--device: device list "cpu," has an empty entry/);
  const one = bad('cpu,cpu', ['--columns', '1']);
  t.is(one.status, 2);
  t.regex(one.stderr, /--device cpu,cpu puts the paper's two columns on two devices, one each, which needs --columns 2 \(not --columns 1\)/);
});
