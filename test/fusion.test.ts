// A ReLU fused into the conv or fc layer before it (ops' relu option, the networks' fuse) on
// the CPU: bit for bit the layer followed by relu, on every path the CPU backend takes
// (Winograd, im2row and im2col one image per GEMM, im2col in chunks; linear's GEMM and its
// matrix-vector case), at AlexNet's layer shapes and at small awkward ones; and a whole
// network's forward and gradients the same with fusion on and off (on every backend). The
// cuda cases of the ops (each GEMM version, split-K) are in ops.test.ts, where test:emulator
// runs them.
import test, { ExecutionContext } from 'ava';
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { fuseByDefault, fusedRelus } from '../lib/nn/factory';
import { Activation, Conv2d, Linear, SoftmaxCrossEntropy } from '../lib/nn/layers';
import { ColumnNetwork } from '../lib/nn/columns/network';
import { Network } from '../lib/nn/network';
import { alexnet, ModelConfig } from '../lib/nn/spec';
import { eachBackend } from './_backends';
import { withEnv } from './_env';
import { hasBothSides, sameBits } from './_bits';

interface ConvShape {
  n: number; c: number; h: number; w: number; k: number; kh: number; kw: number;
  stride: [number, number]; pad: [number, number]; groups: number;
}

/** op(bias, relu) with relu against relu(op(bias)), with and without the bias; then frees x, w, b. */
function checkFused(t: ExecutionContext, what: string, x: Tensor, w: Tensor, b: Tensor,
  op: (bias: Tensor | null, relu: boolean) => Tensor) {
  for (const bias of [b, null]) {
    const fused = op(bias, true);
    const plain = op(bias, false);
    const unfused = ops.relu(plain);
    const label = `${what}${bias ? '' : ', no bias'}`;
    hasBothSides(t, label, fused);
    sameBits(t, label, fused, unfused);
    for (const y of [fused, plain, unfused]) y.dispose();
  }
  for (const v of [x, w, b]) v.dispose();
}

/** conv2d with relu against relu(conv2d), with and without a bias. */
function checkConv(t: ExecutionContext, what: string, p: ConvShape, seed: number) {
  const fanIn = (p.c / p.groups) * p.kh * p.kw;
  const x = Tensor.randn([p.n, p.c, p.h, p.w], { seed });
  const w = Tensor.randn([p.k, p.c / p.groups, p.kh, p.kw], { seed: seed + 1, std: 1 / Math.sqrt(fanIn) });
  const b = Tensor.randn([p.k], { seed: seed + 2, std: 0.3 });
  const opts = { stride: p.stride, padding: p.pad, groups: p.groups };
  checkFused(t, what, x, w, b, (bias, relu) => ops.conv2d(x, w, bias, relu ? { ...opts, relu } : opts));
}

/** linear with relu against relu(linear), with and without a bias. */
function checkLinear(t: ExecutionContext, what: string, n: number, inF: number, out: number, seed: number) {
  const x = Tensor.randn([n, inF], { seed });
  const w = Tensor.randn([out, inF], { seed: seed + 1, std: 1 / Math.sqrt(inF) });
  const b = Tensor.randn([out], { seed: seed + 2, std: 0.3 });
  checkFused(t, what, x, w, b, (bias, relu) => ops.linear(x, w, bias, relu ? { relu } : undefined));
}

// ---------------------------------------------------------------- AlexNet's layers

// At batch 3 the automatic choice takes im2row for conv1 (stride 4) and Winograd for conv2-5
// (conv3-5 need 48 output tiles: 3 images of 16); ALEXNET_CPU_CONV=gemm sends conv2 to
// im2col one image per GEMM (27x27 = 729 outputs a plane) and conv3-5 to im2col in chunks.
const alexnetConvs: Array<ConvShape & { name: string }> = [
  { name: 'conv1', n: 3, c: 3, h: 227, w: 227, k: 96, kh: 11, kw: 11, stride: [4, 4], pad: [0, 0], groups: 1 },
  { name: 'conv2', n: 3, c: 96, h: 27, w: 27, k: 256, kh: 5, kw: 5, stride: [1, 1], pad: [2, 2], groups: 2 },
  { name: 'conv3', n: 3, c: 256, h: 13, w: 13, k: 384, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 1 },
  { name: 'conv4', n: 3, c: 384, h: 13, w: 13, k: 384, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 2 },
  { name: 'conv5', n: 3, c: 384, h: 13, w: 13, k: 256, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 2 },
];

for (const algorithm of ['auto', 'gemm'] as const) {
  test(`cpu: fused ReLU is bit for bit conv2d then relu at AlexNet's conv1-conv5, batch 3 (ALEXNET_CPU_CONV=${algorithm})`, (t) => {
    withEnv('ALEXNET_CPU_CONV', algorithm, () => alexnetConvs.forEach((p, i) => checkConv(t, `${p.name} (${algorithm})`, p, 100 + 10 * i)));
  });
}

test("cpu: fused ReLU is bit for bit linear then relu at AlexNet's fc6 and fc7, batch 1 and 3", (t) => {
  for (const n of [1, 3]) {
    checkLinear(t, `fc6, batch ${n}`, n, 9216, 4096, 200 + n);
    checkLinear(t, `fc7, batch ${n}`, n, 4096, 4096, 210 + n);
  }
});

// ---------------------------------------------------------------- small awkward shapes, each path

const smallConvs: Array<ConvShape & { name: string; algorithm: 'auto' | 'gemm' | 'winograd' }> = [
  // one image per GEMM (38 x 30 = 1140 outputs a plane), pixel rows (stride 2 along x)
  { name: 'im2row: 3x5, stride [1, 2], pad [0, 1], groups 2', algorithm: 'auto', n: 2, c: 4, h: 40, w: 61, k: 6, kh: 3, kw: 5, stride: [1, 2], pad: [0, 1], groups: 2 },
  // one image per GEMM (24 x 24 = 576), im2col columns (stride 1, no Winograd for 2x3)
  { name: 'im2col one image a GEMM: 2x3, groups 2', algorithm: 'auto', n: 2, c: 6, h: 25, w: 26, k: 4, kh: 2, kw: 3, stride: [1, 1], pad: [0, 0], groups: 2 },
  // small planes: images in chunks, scattered into y
  { name: 'im2col in chunks: 3x3 stride 2 pad 1', algorithm: 'auto', n: 5, c: 3, h: 7, w: 6, k: 5, kh: 3, kw: 3, stride: [2, 2], pad: [1, 1], groups: 1 },
  { name: 'im2col in chunks: pointwise 1x1, groups 2', algorithm: 'auto', n: 3, c: 4, h: 5, w: 3, k: 6, kh: 1, kw: 1, stride: [1, 1], pad: [0, 0], groups: 2 },
  { name: 'im2col in chunks: 3x3 pad 1 taken from Winograd', algorithm: 'gemm', n: 2, c: 6, h: 11, w: 9, k: 4, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 2 },
  // Winograd forced onto small shapes: partial tiles at the right and bottom edges
  { name: 'Winograd F(4x4,3x3): 11x9, pad 1, groups 2', algorithm: 'winograd', n: 2, c: 6, h: 11, w: 9, k: 4, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 2 },
  { name: 'Winograd F(4x4,5x5): 10x7, pad 2', algorithm: 'winograd', n: 1, c: 4, h: 10, w: 7, k: 3, kh: 5, kw: 5, stride: [1, 1], pad: [2, 2], groups: 1 },
  { name: 'Winograd F(4x4,3x3): one pixel wide, no padding', algorithm: 'winograd', n: 3, c: 2, h: 9, w: 3, k: 5, kh: 3, kw: 3, stride: [1, 1], pad: [0, 0], groups: 1 },
];

for (const gemm of ['auto', 'blas'] as const) {
  test(`cpu: fused ReLU is bit for bit conv2d then relu on every convolution path, small shapes (ALEXNET_CPU_GEMM=${gemm})`, (t) => {
    withEnv('ALEXNET_CPU_GEMM', gemm, () =>
      smallConvs.forEach((p, i) => withEnv('ALEXNET_CPU_CONV', p.algorithm, () => checkConv(t, p.name, p, 300 + 10 * i))));
  });

  test(`cpu: fused ReLU is bit for bit linear then relu, small shapes (ALEXNET_CPU_GEMM=${gemm})`, (t) => {
    withEnv('ALEXNET_CPU_GEMM', gemm, () => {
      checkLinear(t, 'batch 1 (a matrix-vector product)', 1, 37, 29, 400);
      checkLinear(t, 'batch 3, 7 -> 5', 3, 7, 5, 410);
      checkLinear(t, 'batch 4, 300 -> 37', 4, 300, 37, 420);
      checkLinear(t, 'batch 13, 64 -> 130', 13, 64, 130, 430);
    });
  });
}

test('cpu: a NaN before a fused ReLU becomes 0, as the relu op makes it (Winograd, im2col, linear)', (t) => {
  // one NaN pixel: its window's outputs (a whole Winograd tile's) are NaN before the ReLU
  const xs = Float32Array.from({ length: 2 * 81 }, (_, i) => Math.sin(i));
  xs[40] = NaN;
  const x = Tensor.fromArray(xs, [1, 2, 9, 9]), w = Tensor.randn([3, 2, 3, 3], { seed: 1 }), b = Tensor.randn([3], { seed: 2 });
  for (const algorithm of ['winograd', 'gemm']) {
    withEnv('ALEXNET_CPU_CONV', algorithm, () => {
      const plain = ops.conv2d(x, w, b, { padding: 1 }), fused = ops.conv2d(x, w, b, { padding: 1, relu: true });
      t.true(plain.toFloat32Array().some(Number.isNaN), `${algorithm}: NaN before the ReLU`);
      sameBits(t, `conv (${algorithm})`, fused, ops.relu(plain));
    });
  }
  const xf = Tensor.fromArray(Float32Array.from([1, NaN, 2, -1, 0.5, 3]), [2, 3]), wf = Tensor.randn([4, 3], { seed: 3 });
  sameBits(t, 'linear', ops.linear(xf, wf, null, { relu: true }), ops.relu(ops.linear(xf, wf, null)));
});

// ---------------------------------------------------------------- networks

// He init: biases 0, so that every ReLU clips some of its inputs (the paper's biases of 1 keep conv2's all positive)
const small: ModelConfig = alexnet({ width: 0.1, crop: 67, classes: 5, init: 'he' });

test('fusedRelus marks each ReLU right after a conv or fc layer, and nothing when off', (t) => {
  const names = (f: boolean[]) => small.layers.filter((_, i) => f[i]).map((l) => l.name);
  t.deepEqual(names(fusedRelus(small.layers, true)), ['relu1', 'relu2', 'relu3', 'relu4', 'relu5', 'relu6', 'relu7']);
  t.deepEqual(names(fusedRelus(small.layers, false)), []);
  t.deepEqual(names(fusedRelus(alexnet({ width: 0.1, crop: 67, activation: 'tanh' }).layers, true)), []);
  t.true(fuseByDefault({}));
  t.true(fuseByDefault({ ALEXNET_FUSE: '1' }));
  t.false(fuseByDefault({ ALEXNET_FUSE: '0' }));
  t.throws(() => fuseByDefault({ ALEXNET_FUSE: 'no' }), { message: 'ALEXNET_FUSE must be 0 (no fused ReLUs) or 1 (the default), not "no"' });
});

test('a network builds fused pairs (fuse option, else ALEXNET_FUSE); the applied ReLU returns its input itself', (t) => {
  const fused = new Network(small, { seed: 1, fuse: true });
  const off = new Network(small, { seed: 1, fuse: false });
  const byEnv = withEnv('ALEXNET_FUSE', '0', () => new Network(small, { seed: 1 }));
  const pairs = (net: Network) => net.layers.filter((l) => (l instanceof Conv2d || l instanceof Linear) && l.relu).length +
    net.layers.filter((l) => l instanceof Activation && l.applied).length;
  t.is(pairs(fused), 14);
  t.is(pairs(off), 0);
  t.is(pairs(byEnv), 0);
  const relu1 = fused.layers.find((l) => l.name === 'relu1')!;
  const x = Tensor.randn([2, ...relu1.inputShape], { seed: 1 });
  t.is(relu1.forward(x, { training: false, seed: 0, step: 0 }), x);
  for (const net of [fused, off, byEnv]) net.dispose();
  x.dispose();
});

/** Forward (training, dropout on) and backward of one batch: logits, every gradient, dx. */
function step(net: Network | ColumnNetwork, x: Tensor, labels: Int32Array, inputGrad = true) {
  const xent = new SoftmaxCrossEntropy();
  const logits = net.forward(x, { training: true, seed: 7, step: 3 });
  const loss = xent.forward(logits, labels);
  const d = xent.backward();
  const dx = net.backward(d, inputGrad);
  const out = {
    loss, logits: logits.toFloat32Array(), dx: dx ? dx.toFloat32Array() : new Float32Array(0),
    grads: new Map(net.params().map((p) => [p.name, p.grad!.toFloat32Array()])),
    eval: (() => {
      const y = net.forward(x, { training: false, seed: 0, step: 0 });
      const v = y.toFloat32Array();
      y.dispose();
      return v;
    })(),
  };
  for (const v of [logits, d, dx]) v?.dispose();
  xent.dispose();
  return out;
}

// on cuda too (a small network: the emulator runs it in test:emulator's first pass, GEMM v1)
eachBackend('a network computes the same logits, loss and gradients with fusion on and off (cpu: and dx and features)', (t, backend) => {
  const device = backend.device;
  const cpu = backend.name === 'cpu';  // the emulated cuda case kept short: 2 images, no dx, no features
  const x = Tensor.randn([cpu ? 3 : 2, 3, 67, 67], { seed: 5, std: 2, device });
  const labels = Int32Array.from([0, 3, 4]).subarray(0, x.shape[0]);
  const on = new Network(small, { seed: 2, device, fuse: true }), off = new Network(small, { seed: 2, device, fuse: false });
  const a = step(on, x, labels, cpu), b = step(off, x, labels, cpu);
  t.is(a.loss, b.loss);
  sameBits(t, 'logits', a.logits, b.logits);
  sameBits(t, 'evaluation logits', a.eval, b.eval);
  sameBits(t, 'dx', a.dx, b.dx);
  t.is(a.grads.size, 16);
  for (const [name, g] of a.grads) sameBits(t, name, g, b.grads.get(name)!);
  // features: a fused layer's own output is the one before its ReLU, as without fusion
  for (const layer of cpu ? ['conv2', 'relu2', 'fc7', 'relu7'] : []) {
    const fa = on.forwardTo(x, layer), fb = off.forwardTo(x, layer);
    sameBits(t, `forwardTo ${layer}`, fa, fb);
    if (layer.startsWith('conv') || layer.startsWith('fc')) t.true(fa.toFloat32Array().some((v) => v < 0), `${layer}: before its ReLU`);
    fa.dispose();
    fb.dispose();
  }
  for (const v of [on, off, x]) v.dispose();
});

test('cpu: the two columns compute the same logits and gradients with fusion on and off', (t) => {
  const x = Tensor.randn([2, 3, 67, 67], { seed: 6, std: 2 });
  const labels = Int32Array.from([1, 2]);
  const on = new ColumnNetwork(small, { seed: 3, devices: ['cpu', 'cpu'], fuse: true });
  const off = new ColumnNetwork(small, { seed: 3, devices: ['cpu', 'cpu'], fuse: false });
  const a = step(on, x, labels), b = step(off, x, labels);
  sameBits(t, 'logits', a.logits, b.logits);
  sameBits(t, 'evaluation logits', a.eval, b.eval);
  sameBits(t, 'dx', a.dx, b.dx);
  for (const [name, g] of a.grads) sameBits(t, name, g, b.grads.get(name)!);
  for (const v of [on, off, x]) v.dispose();
});
