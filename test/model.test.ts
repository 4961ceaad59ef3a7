// The network as data: the paper's AlexNet's shapes and parameter count, the variants, a
// finite-difference check through every layer type, and a tiny net overfitting a tiny batch.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { SoftmaxCrossEntropy } from '../lib/nn/layers';
import { alexnet, inferShapes, ModelConfig, summarize } from '../lib/nn/spec';
import { Network } from '../lib/nn/network';
import { Sgd } from '../lib/train/optim';
import { Tensor } from '../lib/core/tensor';
import { gradCheck } from './_gradcheck';
import { uniform } from './_reference';

test("the paper's AlexNet has 60,965,224 parameters and the paper's maps for a 227 input", (t) => {
  const config = alexnet();
  const { rows, total } = summarize(config);
  t.is(total, 60_965_224);
  const out = (name: string) => rows.find((r) => r.name === name)!.output;
  t.deepEqual(out('conv1'), [96, 55, 55]);
  t.deepEqual(out('pool1'), [96, 27, 27]);
  t.deepEqual(out('conv2'), [256, 27, 27]);
  t.deepEqual(out('conv3'), [384, 13, 13]);
  t.deepEqual(out('conv4'), [384, 13, 13]);
  t.deepEqual(out('conv5'), [256, 13, 13]);
  t.deepEqual(out('pool5'), [256, 6, 6]);
  t.deepEqual(out('fc6'), [4096]);
  t.deepEqual(out('fc8'), [1000]);
  const params = Object.fromEntries(rows.filter((r) => r.params).map((r) => [r.name, r.params]));
  t.deepEqual(params, { conv1: 34_944, conv2: 307_456, conv3: 885_120, conv4: 663_936, conv5: 442_624, fc6: 37_752_832, fc7: 16_781_312, fc8: 4_097_000 });
});

test('summary --json on the command line reports the same', (t) => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'lib', 'cli.js'), 'summary', '--json'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  t.is(s.parameters, 60_965_224);
  t.deepEqual(s.layers.find((l: { name: string }) => l.name === 'conv1').output, [96, 55, 55]);
});

test('variants come from options: no LRN, 2x2 pooling, tanh, no dropout, width, classes', (t) => {
  const v = alexnet({ lrn: false, overlappingPool: false, activation: 'tanh', dropout: false, width: 0.5, classes: 10 });
  const types = v.layers.map((l) => l.type);
  t.false(types.includes('lrn'));
  t.false(types.includes('dropout'));
  t.false(types.includes('relu'));
  t.is(types.filter((x) => x === 'tanh').length, 7);
  t.true(v.layers.filter((l) => l.type === 'maxpool').every((l) => l.type === 'maxpool' && l.kernel === 2));
  const shapes = inferShapes(v);
  t.deepEqual(shapes[0], [48, 55, 55]);
  t.deepEqual(shapes[shapes.length - 1], [10]);
  const conv2 = alexnet({ columns: 1 }).layers.find((l) => l.name === 'conv2');
  t.true(conv2?.type === 'conv' && conv2.groups === 1);
});

test('a crop too small for the model, or bad options, is a clear error', (t) => {
  t.throws(() => inferShapes(alexnet({ crop: 40 })), { message: 'pool5: a 3x3 window does not fit its 1x1 input (crop 40 is too small for this model)' });
  t.throws(() => alexnet({ width: 0 }), { message: 'alexnet: Expected a number in (0, 16] for width but received 0' });
  t.throws(() => alexnet({ activation: 'gelu' as 'relu' }), { message: /for activation but received "gelu"/ });
});

test('initialisation: N(0, 0.01) weights from the seed, biases 1 in conv2, conv4, conv5, fc6, fc7', (t) => {
  const net = new Network(alexnet({ width: 0.1, crop: 67, classes: 5 }), { seed: 3 });
  for (const p of net.params()) {
    const v = p.value.toFloat32Array();
    if (p.name.endsWith('.bias')) {
      const one = ['conv2', 'conv4', 'conv5', 'fc6', 'fc7'].includes(p.name.split('.')[0]);
      t.true(v.every((x) => x === (one ? 1 : 0)), p.name);
    } else {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      t.true(Math.abs(std - 0.01) < 0.01 * (v.length > 1000 ? 0.1 : 0.4), `${p.name} std ${std}`);
    }
  }
  const again = new Network(alexnet({ width: 0.1, crop: 67, classes: 5 }), { seed: 3 });
  t.deepEqual(again.params()[0].value.toFloat32Array(), net.params()[0].value.toFloat32Array());
  net.dispose();
  again.dispose();
});

// A small net with every layer type: conv (groups 2), relu, tanh, lrn (groups 2), maxpool,
// flatten, fc, dropout, and the softmax cross-entropy loss on top.
const tiny: ModelConfig = {
  name: 'tiny',
  options: alexnet().options,
  input: [3, 9, 9],
  layers: [
    { type: 'conv', name: 'c1', out: 4, kernel: 3, stride: 1, padding: 1, groups: 1, biasInit: 0 },
    { type: 'relu', name: 'r1' },
    { type: 'lrn', name: 'n1', size: 3, alpha: 0.3, beta: 0.75, k: 2, groups: 2 },
    { type: 'maxpool', name: 'p1', kernel: 3, stride: 2 },
    { type: 'conv', name: 'c2', out: 4, kernel: 3, stride: 1, padding: 1, groups: 2, biasInit: 0.1 },
    { type: 'tanh', name: 't2' },
    { type: 'flatten', name: 'f' },
    { type: 'fc', name: 'fc1', out: 6, biasInit: 0.1 },
    { type: 'dropout', name: 'd1', p: 0.5 },
    { type: 'fc', name: 'fc2', out: 3, biasInit: 0 },
  ],
};

test('a whole small network passes a finite-difference check through every layer type', (t) => {
  const net = new Network({ ...tiny, options: { ...tiny.options, init: 'he' } }, { seed: 11 });
  const xs = uniform(2 * 3 * 9 * 9, 12, -2, 2);
  const labels = Int32Array.of(0, 2);
  const ctx = { training: true, seed: 5, step: 0 };  // the same dropout mask in every forward
  const xent = new SoftmaxCrossEntropy();
  const lossOf = () => {
    const x = Tensor.fromArray(xs, [2, 3, 9, 9]);
    const logits = net.forward(x, ctx);
    const loss = xent.forward(logits, labels);
    net.release();
    x.dispose();
    logits.dispose();
    return loss;
  };
  // analytic gradients of every parameter
  const x = Tensor.fromArray(xs, [2, 3, 9, 9]);
  const logits = net.forward(x, ctx);
  xent.forward(logits, labels);
  net.backward(xent.backward());
  let checked = 0;
  for (const p of net.params()) {
    const values = p.value.toFloat32Array();
    const analytic = p.grad!.toFloat32Array();
    const res = gradCheck(values, analytic, Float32Array.of(1), (v) => {
      p.value.write(v);
      const l = lossOf();
      return Float32Array.of(l);
    }, { eps: 1e-3, threshold: 2e-2, maxChecks: 40 });
    p.value.write(values);
    checked += res.checked;
    t.deepEqual(res.failures, [], `${p.name}: ${res.failures.join('; ')}`);
  }
  t.true(checked > 100, `${checked} elements checked`);
});

test('a tiny network overfits a tiny batch (loss near zero)', (t) => {
  const net = new Network({ ...tiny, options: { ...tiny.options, init: 'he' }, layers: tiny.layers.filter((l) => l.type !== 'dropout') }, { seed: 2 });
  const sgd = new Sgd(net.params(), { lr: 0.05, momentum: 0.9, weightDecay: 0 });
  const xent = new SoftmaxCrossEntropy();
  const x = Tensor.fromArray(uniform(6 * 3 * 9 * 9, 13, -2, 2), [6, 3, 9, 9]);
  const labels = Int32Array.of(0, 1, 2, 0, 1, 2);
  let loss = Infinity;
  const first = (() => {
    const logits = net.forward(x, { training: false, seed: 0, step: 0 });
    const l = xent.forward(logits, labels);
    logits.dispose();
    return l;
  })();
  for (let step = 0; step < 300; step++) {
    const logits = net.forward(x, { training: true, seed: 0, step });
    loss = xent.forward(logits, labels);
    const d = xent.backward();
    net.backward(d);
    d.dispose();
    logits.dispose();
    sgd.step(0.05);
  }
  t.log(`loss ${first.toFixed(3)} -> ${loss.toFixed(5)}`);
  t.true(loss < 0.02, `loss ${loss}`);
});
