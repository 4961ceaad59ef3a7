// One training step (forward, loss, backward, SGD update) of the same AlexNet on one device and
// as the paper's two columns on two devices, in the same run: images/s of each, the bytes the
// columns copied per step (measured by the network) beside what the connectivity implies
// (columnTraffic), and the time of those copies alone. Medians over repeats after a warm-up,
// the two modes' steps interleaved.
//   node benchmarks/columns.js [--batch 16] [--repeats 3] [--device cpu] [--split cpu,cpu]
//                              [--width 1] [--crop 227] [--json FILE]
// --split defaults to two logical devices on --device's (cuda:0,cuda:1 where two GPUs are usable).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { backendInfo } from '../lib/core/info';
import { SoftmaxCrossEntropy } from '../lib/nn/layers';
import { ColumnNetwork } from '../lib/nn/columns/network';
import { Model } from '../lib/nn/model';
import { columnPlan, columnTraffic } from '../lib/nn/columns/plan';
import { alexnet } from '../lib/nn/spec';
import { Sgd } from '../lib/train/optim';
import { Tensor } from '../lib/core/tensor';
import { buildNetwork } from '../lib/nn/build';
import { flag, median, timeMs } from './_common';
import { trainStepOn } from '../lib/train/loop';

const batch = Number(flag('batch', '16'));
const repeats = Number(flag('repeats', '3'));
const device = flag('device', 'cpu');
const info = backendInfo();
const twoGpus = device.startsWith('cuda') && info.cuda.usable && info.cuda.devices.length >= 2;
const split = flag('split', twoGpus ? 'cuda:0,cuda:1' : `${device},${device}`);
const width = Number(flag('width', '1'));
const crop = Number(flag('crop', '227'));
const jsonOut = flag('json', '');
if (![batch, repeats].every((v) => Number.isInteger(v) && v > 0) || !(width > 0) || !Number.isInteger(crop)) {
  console.error('usage: node benchmarks/columns.js [--batch N] [--repeats N] [--device cpu] [--split cpu,cpu] [--width 1] [--crop 227] [--json FILE]');
  process.exit(2);
}

const config = alexnet({ width, crop });  // the paper's by default: groups 2, LRN, dropout
const [c, h, w] = config.input;
const labels = Int32Array.from({ length: batch }, (_, i) => i % config.options.classes);

interface Mode {
  net: Model;
  step: () => void;
  dispose: () => void;
}

function mode(devices: string): Mode {
  const net = buildNetwork(config, 1, devices);
  const sgd = new Sgd(net.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
  const xent = new SoftmaxCrossEntropy();
  const x = Tensor.randn([batch, c, h, w], { seed: 3, std: 50, device: devices.split(',')[0] });
  let step = 0;
  return {
    net,
    step: () => trainStepOn(net, sgd, xent, x, labels, { seed: 1, step: step++, lr: 0.01 }),
    dispose: () => [x, xent, sgd, net].forEach((z) => z.dispose()),
  };
}

/** Median ms per step of each mode, their steps interleaved so that a change of load hits both. */
function measure(modes: Mode[]): number[] {
  const ms: number[][] = modes.map(() => []);
  for (let r = 0; r <= repeats; r++)
    modes.forEach((m, i) => {
      const t0 = process.hrtime.bigint();
      m.step();
      if (r > 0) ms[i].push(Number(process.hrtime.bigint() - t0) / 1e6);  // r = 0: warm-up
    });
  return ms.map(median);
}

/** The crossing copies alone: the same tensors as a step sends, each way, timed. */
function copyMs(devices: string[]): number {
  const sizes: number[] = [];
  for (const s of columnPlan(config)) {
    const size = batch * s.input.reduce((a, b) => a * b, 1);
    if (s.kind === 'cross') sizes.push(size, size, size, size);  // A->B, B->A, then their gradients
    if (s.kind === 'merge') sizes.push(batch * s.output[0], batch * s.output[0]);
  }
  const srcs = sizes.map((n, i) => Tensor.zeros([n], devices[i % 2]));
  const ms = timeMs(repeats, () => srcs.map((t, i) => t.to(devices[(i + 1) % 2])), (outs) => outs.forEach((t) => t.dispose()));
  srcs.forEach((t) => t.dispose());
  return ms;
}

const modes = [mode(device), mode(split)];
const [oneMs, twoMs] = measure(modes);
const copied = (modes[1].net as ColumnNetwork).copiedBytes;
modes.forEach((m) => m.dispose());
const predicted = columnTraffic(config, batch);
const copies = copyMs(split.split(','));
const mib = (b: number) => b / 2 ** 20;
const result = {
  device, split, batch, repeats, width, crop, date: new Date().toISOString().slice(0, 10),
  machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`, blas: info.cpu.blas, threads: info.cpu.threads,
  single_ms: oneMs, single_images_per_s: (batch * 1000) / oneMs,
  split_ms: twoMs, split_images_per_s: (batch * 1000) / twoMs,
  copied_bytes: copied, predicted_bytes: { forward: predicted.forward, backward: predicted.backward, total: predicted.total },
  copy_ms: copies,
};
console.log(`AlexNet (width ${width}, crop ${crop}), one training step at batch ${batch}, median of ${repeats} after a warm-up; ${result.machine}, ${info.cpu.threads} threads`);
console.log(`${'mode'.padEnd(30)}${'ms/step'.padStart(10)}${'images/s'.padStart(10)}`);
console.log(`${`single device (${device})`.padEnd(30)}${oneMs.toFixed(0).padStart(10)}${result.single_images_per_s.toFixed(1).padStart(10)}`);
console.log(`${`two columns (${split})`.padEnd(30)}${twoMs.toFixed(0).padStart(10)}${result.split_images_per_s.toFixed(1).padStart(10)}`);
console.log(`split / single: ${(result.split_images_per_s / result.single_images_per_s).toFixed(2)}x`);
const cp = copied;
console.log(`copied between the columns per step: forward ${cp.forward} B, backward ${cp.backward} B, total ${cp.total} B (${mib(cp.total).toFixed(2)} MiB); input ${cp.input} B`);
console.log(`the paper's connectivity implies: forward ${predicted.forward} B, backward ${predicted.backward} B, total ${predicted.total} B: ${cp.total === predicted.total && cp.forward === predicted.forward ? 'equal' : 'DIFFERENT'}`);
for (const r of predicted.rows) console.log(`  ${r.layer.padEnd(5)} ${r.what}: ${r.forward} B each way`);
console.log(`those copies alone: ${copies.toFixed(1)} ms per step (${(mib(cp.total) / (copies / 1000)).toFixed(0)} MiB/s)`);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(result, null, 2));
