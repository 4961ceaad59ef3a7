// What only the CUDA backend has: copies between the host and devices and between devices
// (peer-to-peer, or two logical devices on one GPU), the device memory cache, and its errors.
// Runs where CUDA is usable: on a GPU, or on the host emulator of the test build
// (`npm run test:emulator`, which has two emulated devices).
import test, { ExecutionContext } from 'ava';
import * as ops from '../lib/core/ops';
import { Tensor, releaseCachedMemory } from '../lib/core/tensor';
import { backendInfo } from '../lib/core/info';
import { backends } from './_backends';
import { uniform } from './_reference';
import { alexnet } from '../lib/nn/spec';
import { Network } from '../lib/nn/network';
import { SoftmaxCrossEntropy } from '../lib/nn/layers';
import { Sgd } from '../lib/train/optim';
import { trainStep } from '../lib/train/loop';

// The CPU side of the comparisons is the specification: im2col + GEMM, not Winograd's
// transforms (their own bound is tested in winograd.test.ts).
process.env.ALEXNET_CPU_CONV ??= 'gemm';

const cuda = backends().find((b) => b.name === 'cuda')!;
const deviceCount = cuda.available ? backendInfo().cuda.devices.length : 0;
const cudaTest = (title: string, body: (t: ExecutionContext) => void) =>
  cuda.available ? test(`cuda: ${title}`, body) : test.skip(`cuda: ${title} (skipped: ${cuda.reason})`, () => {});

cudaTest('copies between the host and every device, and between every pair of devices, are exact', (t) => {
  const devices = ['cpu', ...Array.from({ length: Math.min(deviceCount, 2) }, (_, i) => `cuda:${i}`), 'cudnn:0'].filter(
    (d) => d !== 'cudnn:0' || backendInfo().cudnn.usable,
  );
  const values = uniform(1000, 31);
  for (const from of devices)
    for (const to of devices) {
      const src = Tensor.fromArray(values, [10, 100], from);
      const dst = Tensor.zeros([10, 100], to);
      ops.copy(src, dst);
      t.deepEqual(dst.toFloat32Array(), values, `${from} -> ${to}`);
      t.deepEqual(src.to(to).toFloat32Array(), values, `${from} -> ${to} by Tensor.to`);
      src.dispose();
      dst.dispose();
    }
  t.pass(`${devices.length} devices`);
});

cudaTest('a copy of more than the staging buffer (8 MiB) arrives whole on another device', (t) => {
  if (deviceCount < 2) return t.pass('one device: the same-device copy is covered above');
  const n = 3 * 1024 * 1024 + 17;  // 12 MiB and a bit: two full stages and a partial one
  const values = uniform(n, 32);
  const a = Tensor.fromArray(values, [n], 'cuda:0');
  const b = a.to('cuda:1');
  t.deepEqual(b.toFloat32Array(), values);
});

cudaTest('ops refuse tensors on two different devices, naming both', (t) => {
  if (deviceCount < 2) return t.pass('needs two devices');
  const w = Tensor.zeros([4], 'cuda:0');
  const g = Tensor.zeros([4], 'cuda:1');
  const v = Tensor.zeros([4], 'cuda:0');
  t.throws(() => ops.sgdUpdate(w, g, v, { lr: 0.1 }), { message: /cuda:1.*cuda:0|cuda:0.*cuda:1/ });
});

cudaTest('asking for more memory than the device has is an error that says how much, not a crash', (t) => {
  const total = backendInfo().cuda.devices[0].totalMemory;
  const floats = Math.ceil(total / 4) + 1024 * 1024;
  const err = t.throws(() => Tensor.empty([floats], 'cuda:0'));
  t.regex(err!.message, /out of memory on cuda:0: asked for \d+ bytes, \d+ of \d+ bytes free/);
  // and the device still works afterwards
  const z = Tensor.fromArray([1, 2, 3], [3], 'cuda:0');
  t.deepEqual(Array.from(z.toFloat32Array()), [1, 2, 3]);
});

cudaTest('freed device memory is cached by size and reused; releaseCachedMemory returns it', (t) => {
  releaseCachedMemory();
  const cached = () => backendInfo().cuda.cachedBytes;
  t.is(cached(), 0);
  const a = Tensor.zeros([1024, 1024], 'cuda:0');  // 4 MiB
  a.dispose();
  t.is(cached(), 4 * 2 ** 20);
  const b = Tensor.zeros([2048, 512], 'cuda:0');  // the same size: reused, and zeroed
  t.is(cached(), 0);
  t.deepEqual(b.toFloat32Array().slice(0, 8), new Float32Array(8));
  b.dispose();
  t.true(releaseCachedMemory() >= 4 * 2 ** 20);
  t.is(cached(), 0);
});

cudaTest('a training step of a small AlexNet on cuda equals the same step on the cpu', (t) => {
  const config = alexnet({ width: 0.125, crop: 67, classes: 7 });
  const batch = {
    images: Float32Array.from(uniform(4 * 3 * 67 * 67, 41), (v) => 40 * v),
    shape: [4, 3, 67, 67],
    labels: Int32Array.from([0, 3, 6, 2]),
  };
  const run = (device: string) => {
    const net = new Network(config, { seed: 5, device });
    const sgd = new Sgd(net.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
    const xent = new SoftmaxCrossEntropy();
    const losses = [0, 1, 2].map((step) => trainStep(net, sgd, xent, batch as never, { device, seed: 9, step, lr: 0.01 }).loss);
    return { losses, params: net.params().map((p) => p.value.toFloat32Array()) };
  };
  const cpu = run('cpu'), gpu = run('cuda:0');
  for (let i = 0; i < 3; i++) t.true(Math.abs(cpu.losses[i] - gpu.losses[i]) <= 1e-5 * Math.abs(cpu.losses[i]), `loss of step ${i}: ${cpu.losses[i]} vs ${gpu.losses[i]}`);
  let worst = 0;
  cpu.params.forEach((p, i) => {
    let scale = 0, err = 0;
    for (let j = 0; j < p.length; j++) {
      scale = Math.max(scale, Math.abs(p[j]));
      err = Math.max(err, Math.abs(p[j] - gpu.params[i][j]));
    }
    worst = Math.max(worst, err / scale);
  });
  t.true(worst < 1e-5, `parameters after three steps differ by ${worst} of their largest magnitude`);
});
