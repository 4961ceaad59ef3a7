// Bad input is rejected in TypeScript with "<op>: Expected ... for <arg> but received ...",
// and the native layer, called directly with inconsistent arguments, throws instead of
// crashing or writing out of bounds.
import test from 'ava';
import { native } from '../lib/core/native';
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { checkSameDevice } from '../lib/core/validate';
import { Device } from '../lib/core/device';

const x4 = () => Tensor.zeros([2, 4, 8, 8]);
const w4 = () => Tensor.zeros([6, 2, 3, 3]);

test('conv2d: wrong rank, shape mismatch, groups, bad sizes', (t) => {
  t.throws(() => ops.conv2d(Tensor.zeros([4, 8, 8]), w4(), null), {
    message: 'conv2d: Expected a 4-D tensor (N, C, H, W) for x but received shape [4, 8, 8]',
  });
  t.throws(() => ops.conv2d(x4(), Tensor.zeros([6, 3, 3, 3]), null, { groups: 2 }), {
    message: 'conv2d: Expected 2 input channels per group (x has 4 channels, groups 2) for weight but received shape [6, 3, 3, 3]',
  });
  t.throws(() => ops.conv2d(x4(), w4(), null, { groups: 3 }), { message: 'conv2d: Expected a divisor of the 4 input channels of x for groups but received 3' });
  t.throws(() => ops.conv2d(x4(), Tensor.zeros([5, 2, 3, 3]), null, { groups: 2 }), { message: /divisor of the 5 output channels/ });
  t.throws(() => ops.conv2d(x4(), w4(), Tensor.zeros([5]), { groups: 2 }), { message: 'conv2d: Expected shape [6] for bias but received shape [5]' });
  t.throws(() => ops.conv2d(x4(), w4(), null, { groups: 2, stride: 0 }), { message: 'conv2d: Expected a positive integer or a pair [h, w] of them for stride but received 0' });
  t.throws(() => ops.conv2d(x4(), w4(), null, { groups: 2, padding: -1 }), { message: /non-negative integer or a pair \[h, w\] of them for padding but received -1/ });
  t.throws(() => ops.conv2d(x4(), w4(), null, { groups: 0 }), { message: 'conv2d: Expected a positive integer for groups but received 0' });
  t.throws(() => ops.conv2d(Tensor.zeros([1, 2, 2, 2]), Tensor.zeros([1, 2, 3, 3]), null), { message: /a kernel no larger than the padded input 2x2 for weight but received a 3x3 kernel/ });
  t.throws(() => ops.conv2d(x4(), 'w' as unknown as Tensor, null), { message: 'conv2d: Expected a Tensor for weight but received "w"' });
});

test('conv2dBackward: dy of the wrong shape', (t) => {
  t.throws(() => ops.conv2dBackward(x4(), w4(), Tensor.zeros([2, 6, 7, 7]), { groups: 2 }), {
    message: 'conv2dBackward: Expected shape [2, 6, 6, 6] for dy but received shape [2, 6, 7, 7]',
  });
});

test('lrn: NaN and out-of-range hyper-parameters, groups', (t) => {
  t.throws(() => ops.lrn(x4(), { alpha: NaN }), { message: 'lrn: Expected a finite number for alpha but received NaN' });
  t.throws(() => ops.lrn(x4(), { beta: -1 }), { message: 'lrn: Expected a number in [0, inf] for beta but received -1' });
  t.throws(() => ops.lrn(x4(), { k: 0 }), { message: 'lrn: Expected a number > 0 for k but received 0' });
  t.throws(() => ops.lrn(x4(), { size: 0 }), { message: 'lrn: Expected a positive integer for size but received 0' });
  t.throws(() => ops.lrn(x4(), { groups: 3 }), { message: 'lrn: Expected a divisor of the 4 channels of x for groups but received 3' });
  t.throws(() => ops.lrnBackward(x4(), Tensor.zeros([2, 4, 8, 7])), { message: 'lrnBackward: Expected shape [2, 4, 8, 8] for dy but received shape [2, 4, 8, 7]' });
});

test('maxPool2d: window, stride and padding', (t) => {
  t.throws(() => ops.maxPool2d(x4(), { kernel: 0 }), { message: /for kernel but received 0/ });
  t.throws(() => ops.maxPool2d(x4(), { kernel: 3, padding: 3 }), { message: 'maxPool2d: Expected less than the 3x3 window for padding but received 3' });
  t.throws(() => ops.maxPool2d(x4(), { kernel: 9 }), { message: 'maxPool2d: Expected a window no larger than the padded input 8x8 for kernel but received 9x9' });
  t.throws(() => ops.maxPool2d(Tensor.zeros([8, 8])), { message: 'maxPool2d: Expected a 4-D tensor (N, C, H, W) for x but received shape [8, 8]' });
});

test('linear, softmax cross-entropy, dropout and sgd: shapes, labels and hyper-parameters', (t) => {
  t.throws(() => ops.linear(Tensor.zeros([2, 5]), Tensor.zeros([3, 4]), null), { message: 'linear: Expected 5 input features (x is [2, 5]) for weight but received shape [3, 4]' });
  t.throws(() => ops.linear(Tensor.zeros([2, 4]), Tensor.zeros([3, 4]), Tensor.zeros([4])), { message: 'linear: Expected shape [3] for bias but received shape [4]' });
  const logits = Tensor.zeros([2, 3]);
  t.throws(() => ops.softmaxCrossEntropy(logits, [0]), { message: 'softmaxCrossEntropy: Expected 2 labels (one per row of logits) for labels but received 1 labels' });
  t.throws(() => ops.softmaxCrossEntropy(logits, [0, 3]), { message: 'softmaxCrossEntropy: Expected an integer class index in [0, 3) for labels[1] but received 3' });
  t.throws(() => ops.softmaxCrossEntropy(logits, [0, 1.5]), { message: /for labels\[1\] but received 1\.5/ });
  t.throws(() => ops.dropout(logits, { training: true, p: NaN, seed: 1 }), { message: 'dropout: Expected a finite number for p but received NaN' });
  t.throws(() => ops.dropout(logits, { training: true, p: 1, seed: 1 }), { message: 'dropout: Expected a probability in [0, 1) for p but received 1' });
  t.throws(() => ops.dropout(logits, { training: true }), { message: 'dropout: Expected a seed when training for seed but received undefined' });
  const w = Tensor.zeros([3]);
  t.throws(() => ops.sgdUpdate(w, Tensor.zeros([3]), Tensor.zeros([3]), { lr: NaN }), { message: 'sgdUpdate: Expected a finite number for lr but received NaN' });
  t.throws(() => ops.sgdUpdate(w, Tensor.zeros([3]), Tensor.zeros([3]), { lr: 0.1, momentum: Infinity }), { message: /for momentum but received Infinity/ });
  t.throws(() => ops.sgdUpdate(w, Tensor.zeros([4]), Tensor.zeros([3]), { lr: 0.1 }), { message: 'sgdUpdate: Expected shape [3] for grad but received shape [4]' });
});

test('tensors on different devices are rejected naming both devices', (t) => {
  // Only the CPU holds tensors in this build, so the check is exercised with a stand-in
  // tensor that claims another device.
  const a = Tensor.zeros([2]);
  const b = Object.create(Tensor.prototype, { device: { value: Device.parse('cuda:1') } }) as Tensor;
  t.throws(() => checkSameDevice('linear', { x: a, weight: b }), { message: 'linear: Expected a tensor on cpu (the device of x) for weight but received a tensor on cuda:1' });
});

test('the native layer throws on inconsistent calls instead of crashing', (t) => {
  const n = native();
  const small = Tensor.zeros([4]).handle('t', 'x');
  const params = { n: 2, c: 4, h: 8, w: 8, k: 6, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 0, padW: 0, groups: 2 };
  t.throws(() => n.conv2dForward(small, small, null, small, params), { message: /conv2d: expected 512 elements for x but received 4/ });
  t.throws(() => n.conv2dForward(small, small, null, small, { ...params, groups: 3 }), { message: /channels not divisible by groups/ });
  t.throws(() => n.conv2dForward({} as never, small, null, small, params), { message: /conv2d: expected a tensor for x/ });
  t.throws(() => n.maxpoolForward(small, small, { n: 1, c: 1, h: 2, w: 2, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 0, padW: 0 }), { message: /window larger/ });
  t.throws(() => n.softmaxXentForward(small, Int32Array.of(0, 9), small, { n: 2, classes: 2 }), { message: /label 9 at index 1 is outside \[0, 2\)/ });
  t.throws(() => n.lrnForward(small, small, { n: 1, c: 4, h: 1, w: 1, size: 5, alpha: NaN, beta: 0.75, k: 2, groups: 1 }), { message: /alpha must be finite/ });
  const freed = Tensor.zeros([4]);
  const handle = freed.handle('t', 'x');
  freed.dispose();
  t.throws(() => n.reluForward(handle, small), { message: /relu: x was disposed/ });
  t.throws(() => handle.read(), { message: /freed/ });
  t.throws(() => new n.NativeBuffer('cpu', 0, -1, true), { message: /non-negative integer/ });
  t.throws(() => new n.NativeBuffer('tpu' as 'cpu', 0, 1, true), { message: /unknown device kind 'tpu'/ });
});
