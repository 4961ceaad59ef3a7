// The learning-rate schedules, the optimizer over a network's parameters, and the
// safetensors format of the checkpoints.
import test from 'ava';
import { decodeSafetensors, encodeSafetensors } from '../lib/io/safetensors';
import { nextSchedule, plateauSchedule, ScheduleState, stepSchedule } from '../lib/train/schedule';
import { Sgd } from '../lib/train/optim';
import { Tensor } from '../lib/core/tensor';

function run(s: ScheduleState, errors: number[]): number[] {
  const lrs: number[] = [];
  errors.forEach((e, i) => {
    s = nextSchedule(s, i + 1, e);
    lrs.push(s.lr);
  });
  return lrs;
}

test("the paper's schedule divides by 10 after `patience` epochs without improvement, at most 3 times", (t) => {
  const lrs = run(plateauSchedule(0.01, 2), [0.5, 0.4, 0.4, 0.41, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]);
  t.deepEqual(lrs.map((v) => +v.toPrecision(3)), [0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.0001, 0.0001, 0.00001, 0.00001, 0.00001, 0.00001, 0.00001, 0.00001]);
});

test('the step schedule divides by 10 every `every` epochs', (t) => {
  t.deepEqual(run(stepSchedule(0.1, 2), [1, 1, 1, 1, 1]).map((v) => +v.toPrecision(3)), [0.1, 0.01, 0.01, 0.001, 0.001]);
});

test('Sgd keeps one velocity per parameter and skips parameters without a gradient', (t) => {
  const w = { name: 'w', value: Tensor.fromArray([1, 2], [2]), grad: Tensor.fromArray([1, 1], [2]) };
  const frozen = { name: 'f', value: Tensor.fromArray([5], [1]), grad: null };
  const sgd = new Sgd([w, frozen], { lr: 0.1, momentum: 0.9, weightDecay: 0 });
  sgd.step(0.1);
  sgd.step(0.1);
  // v1 = -0.1, w = 0.9; v2 = 0.9*-0.1 - 0.1 = -0.19, w = 0.71 (and 1.71)
  t.deepEqual(Array.from(w.value.toFloat32Array(), (v) => +v.toFixed(5)), [0.71, 1.71]);
  t.deepEqual(Array.from(frozen.value.toFloat32Array()), [5]);
  t.throws(() => new Sgd([], { lr: NaN, momentum: 0.9, weightDecay: 0 }), { message: 'Sgd: Expected a finite number >= 0 for lr but received NaN' });
  t.throws(() => new Sgd([], { lr: 0.1, momentum: 1, weightDecay: 0 }), { message: 'Sgd: Expected a number in [0, 1) for momentum but received 1' });
});

test('checkpoints are standard safetensors: 8-byte header length, JSON header, aligned little-endian data', (t) => {
  const tensors = new Map([
    ['conv1.weight', { shape: [2, 1, 1, 2], data: Float32Array.of(1, -2, 3.5, 4) }],
    ['fc8.bias', { shape: [3], data: Float32Array.of(0, 1, 2) }],
  ]);
  const buf = encodeSafetensors(tensors, { note: 'hello' });
  const n = Number(buf.readBigUInt64LE(0));
  t.is((8 + n) % 8, 0, 'data starts 8-byte aligned');
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  t.deepEqual(header['conv1.weight'], { dtype: 'F32', shape: [2, 1, 1, 2], data_offsets: [0, 16] });
  t.deepEqual(header['fc8.bias'], { dtype: 'F32', shape: [3], data_offsets: [16, 28] });
  t.deepEqual(header.__metadata__, { note: 'hello' });
  t.is(buf.length, 8 + n + 28);
  t.is(buf.readFloatLE(8 + n + 4), -2);
  const back = decodeSafetensors(buf);
  t.deepEqual(back.tensors.get('fc8.bias')!.data, Float32Array.of(0, 1, 2));
  t.deepEqual(back.metadata, { note: 'hello' });
});

test('a truncated or corrupt checkpoint is a clear error', (t) => {
  const buf = encodeSafetensors(new Map([['w', { shape: [4], data: Float32Array.of(1, 2, 3, 4) }]]));
  t.throws(() => decodeSafetensors(buf.subarray(0, buf.length - 4), 'ck.safetensors'), { message: /ck\.safetensors: not a valid safetensors file \(tensor w: byte range \[0, 16\) does not match/ });
  t.throws(() => decodeSafetensors(Buffer.from('nonsense'), 'x'), { message: /x: not a valid safetensors file \(header length \d+ exceeds the file\)/ });
  const bad = Buffer.from(buf);
  bad.write('{', 8);
  bad.write('!', 9);
  t.throws(() => decodeSafetensors(bad, 'y'), { message: /y: not a valid safetensors file \(header is not JSON/ });
});
