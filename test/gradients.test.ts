// Every backward checked by centred finite differences on small shapes, on every backend.
// Kinks are kept out of the inputs (ReLU inputs away from 0, pooling inputs with distinct
// values spaced wider than 2 eps) and any element whose perturbation crosses one is skipped.
import { ExecutionContext } from 'ava';
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { eachBackend } from './_backends';
import { gradCheck, GradCheckOptions, through } from './_gradcheck';
import { uniform } from './_reference';

function expectGrad(t: ExecutionContext, what: string, input: Float32Array, analytic: Tensor, r: Float32Array,
  forward: (v: Float32Array) => Float32Array, options?: GradCheckOptions) {
  const res = gradCheck(input, analytic.toFloat32Array(), r, forward, options);
  t.true(res.checked > 0, `${what}: nothing checked`);
  t.deepEqual(res.failures, [], `${what}: ${res.failures.join('; ')} (${res.checked} checked)`);
}

const convCases = [
  { n: 2, c: 4, h: 7, w: 6, k: 4, kh: 3, kw: 3, stride: 2, padding: 1, groups: 2 },
  { n: 1, c: 3, h: 9, w: 9, k: 2, kh: 5, kw: 5, stride: 4, padding: 0, groups: 1 },
  { n: 3, c: 2, h: 5, w: 4, k: 3, kh: 3, kw: 2, stride: 1, padding: 2, groups: 1 },
];

for (const p of convCases) {
  eachBackend(`conv2d gradients to x, weight and bias match finite differences (k${p.kh} s${p.stride} p${p.padding} g${p.groups})`, (t, b) => {
    const xShape = [p.n, p.c, p.h, p.w], wShape = [p.k, p.c / p.groups, p.kh, p.kw];
    const opts = { stride: p.stride, padding: p.padding, groups: p.groups };
    const xs = uniform(xShape.reduce((a, c) => a * c), 21), ws = uniform(wShape.reduce((a, c) => a * c), 22), bs = uniform(p.k, 23);
    const x = Tensor.fromArray(xs, xShape, b.device), w = Tensor.fromArray(ws, wShape, b.device), bias = Tensor.fromArray(bs, [p.k], b.device);
    const y = ops.conv2d(x, w, bias, opts);
    const r = uniform(y.size, 24);
    const g = ops.conv2dBackward(x, w, Tensor.fromArray(r, y.shape, b.device), opts);
    expectGrad(t, 'dx', xs, g.dx!, r, through(xShape, b.device, (xx) => ops.conv2d(xx, w, bias, opts)));
    expectGrad(t, 'dweight', ws, g.dweight, r, through(wShape, b.device, (ww) => ops.conv2d(x, ww, bias, opts)));
    expectGrad(t, 'dbias', bs, g.dbias!, r, through([p.k], b.device, (bb) => ops.conv2d(x, w, bb, opts)));
  });
}

const lrnCases = [
  { size: 5, alpha: 1e-4, beta: 0.75, k: 2, groups: 1, c: 7 },
  { size: 5, alpha: 0.5, beta: 0.75, k: 2, groups: 2, c: 8 },
  { size: 4, alpha: 0.8, beta: 0.6, k: 1, groups: 1, c: 6 },
];

for (const p of lrnCases) {
  eachBackend(`lrn gradient matches finite differences (size ${p.size}, alpha ${p.alpha}, groups ${p.groups})`, (t, b) => {
    const shape = [2, p.c, 3, 4];
    const xs = uniform(shape.reduce((a, c) => a * c), 25, -2, 2);
    const x = Tensor.fromArray(xs, shape, b.device);
    const r = uniform(xs.length, 26);
    const dx = ops.lrnBackward(x, Tensor.fromArray(r, shape, b.device), p);
    // a smaller step: LRN is smooth but strongly curved where alpha is large
    expectGrad(t, 'dx', xs, dx, r, through(shape, b.device, (xx) => ops.lrn(xx, p)), { eps: 3e-3 });
  });
}

for (const pool of [{ kernel: 3, stride: 2 }, { kernel: 2, stride: 2 }, { kernel: 3, stride: 1, padding: 1 }]) {
  eachBackend(`maxPool2d gradient matches finite differences (${JSON.stringify(pool)})`, (t, b) => {
    const shape = [2, 2, 7, 7];
    const count = shape.reduce((a, c) => a * c);
    // distinct values 0.05 apart in a shuffled order: no perturbation of 0.01 changes a max
    const order = Array.from(uniform(count, 27), (u, i) => [u, i]).sort((a, c) => a[0] - c[0]);
    const xs = new Float32Array(count);
    order.forEach(([, i], rank) => (xs[i] = rank * 0.05 - 5));
    const x = Tensor.fromArray(xs, shape, b.device);
    const y = ops.maxPool2d(x, pool);
    const r = uniform(y.size, 28);
    const dx = ops.maxPool2dBackward(x, y, Tensor.fromArray(r, y.shape, b.device), pool);
    expectGrad(t, 'dx', xs, dx, r, through(shape, b.device, (xx) => ops.maxPool2d(xx, pool)));
  });
}

eachBackend('linear gradients to x, weight and bias match finite differences', (t, b) => {
  const [n, inF, out] = [3, 11, 5];
  const xs = uniform(n * inF, 29), ws = uniform(out * inF, 30), bs = uniform(out, 31);
  const x = Tensor.fromArray(xs, [n, inF], b.device), w = Tensor.fromArray(ws, [out, inF], b.device), bias = Tensor.fromArray(bs, [out], b.device);
  const r = uniform(n * out, 32);
  const g = ops.linearBackward(x, w, Tensor.fromArray(r, [n, out], b.device));
  expectGrad(t, 'dx', xs, g.dx!, r, through([n, inF], b.device, (xx) => ops.linear(xx, w, bias)));
  expectGrad(t, 'dweight', ws, g.dweight, r, through([out, inF], b.device, (ww) => ops.linear(x, ww, bias)));
  expectGrad(t, 'dbias', bs, g.dbias!, r, through([out], b.device, (bb) => ops.linear(x, w, bb)));
});

eachBackend('relu and tanh gradients match finite differences (ReLU kinks skipped)', (t, b) => {
  const xs = uniform(60, 33, -2, 2);
  const r = uniform(60, 34);
  const x = Tensor.fromArray(xs, [60], b.device), dy = Tensor.fromArray(r, [60], b.device);
  const kink = (v: Float32Array, i: number, eps: number) => Math.abs(v[i]) <= eps;
  expectGrad(t, 'relu', xs, ops.reluBackward(ops.relu(x), dy), r, through([60], b.device, ops.relu), { kink });
  expectGrad(t, 'tanh', xs, ops.tanhBackward(ops.tanh(x), dy), r, through([60], b.device, ops.tanh), { eps: 1e-3 });
});

eachBackend('dropout gradient matches finite differences with the same seed each forward', (t, b) => {
  const xs = uniform(200, 35);
  const r = uniform(200, 36);
  const opts = { p: 0.5, training: true, seed: 7, offset: 3 };
  const { mask } = ops.dropout(Tensor.fromArray(xs, [200], b.device), opts);
  const dx = ops.dropoutBackward(Tensor.fromArray(r, [200], b.device), mask!);
  expectGrad(t, 'dx', xs, dx, r, through([200], b.device, (xx) => ops.dropout(xx, opts).y));
});

eachBackend('softmax cross-entropy gradient matches finite differences of the loss', (t, b) => {
  const [n, classes] = [4, 6];
  const zs = uniform(n * classes, 37, -3, 3);
  const labels = [5, 0, 2, 2];
  const { probs } = ops.softmaxCrossEntropy(Tensor.fromArray(zs, [n, classes], b.device), labels);
  const d = ops.softmaxCrossEntropyBackward(probs, labels);
  // the loss is a scalar: r = [1] and forward returns [loss]
  const forward = (v: Float32Array) => Float32Array.of(ops.softmaxCrossEntropy(Tensor.fromArray(v, [n, classes], b.device), labels).loss);
  expectGrad(t, 'dlogits', zs, d, Float32Array.of(1), forward, { eps: 1e-3 });
});

eachBackend('the checker itself rejects a gradient that is 5% off', (t, b) => {
  const xs = uniform(30, 38);
  const r = uniform(30, 39);
  const x = Tensor.fromArray(xs, [30], b.device);
  const right = ops.tanhBackward(ops.tanh(x), Tensor.fromArray(r, [30], b.device)).toFloat32Array();
  const wrong = right.map((v) => v * 1.05 + 0.05);
  const res = gradCheck(xs, wrong, r, through([30], b.device, ops.tanh), { eps: 1e-3 });
  t.true(res.failures.length > 0);
});
