// Fused ReLUs against separate ones, interleaved in one process: the paper's AlexNet built
// twice from the same seed (fuse on and off), a training step and inference of each in turn,
// round after round (the order alternating), and each conv/fc + ReLU pair at its AlexNet
// shape as one fused op against the op then relu. Medians and minimums over the rounds; on
// a shared machine the minimums are the least disturbed.
//   node benchmarks/fusion.js [--batch 32] [--rounds 6] [--device cpu] [--json FILE]
import * as fs from 'node:fs';
import { backendInfo } from '../lib/core/info';
import * as ops from '../lib/core/ops';
import { synchronize, Tensor } from '../lib/core/tensor';
import { Conv2d, Linear, SoftmaxCrossEntropy } from '../lib/nn/layers';
import { Network } from '../lib/nn/network';
import { alexnet } from '../lib/nn/spec';
import { trainStepOn } from '../lib/train/loop';
import { Sgd } from '../lib/train/optim';
import { flag, median } from './_common';

const batch = Number(flag('batch', '32'));
const rounds = Number(flag('rounds', '6'));
const device = flag('device', 'cpu');
const jsonOut = flag('json', '');
if (!Number.isInteger(batch) || batch <= 0 || !Number.isInteger(rounds) || rounds <= 0) {
  console.error('usage: node benchmarks/fusion.js [--batch N] [--rounds N] [--device cpu] [--json FILE]');
  process.exit(2);
}

const ms = (f: () => void) => {
  const t0 = process.hrtime.bigint();
  f();
  synchronize(device);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const stats = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs) });

const config = alexnet();
const nets = { on: new Network(config, { seed: 1, device, fuse: true }), off: new Network(config, { seed: 1, device, fuse: false }) };
const sgd = { on: new Sgd(nets.on.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 }), off: new Sgd(nets.off.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 }) };
const xent = new SoftmaxCrossEntropy();
const x = Tensor.randn([batch, 3, 227, 227], { seed: 3, std: 50, device });
const labels = Int32Array.from({ length: batch }, (_, i) => i % 1000);
const kinds = ['on', 'off'] as const;

// the whole network: a training step and inference, each kind in turn
const train = { on: [] as number[], off: [] as number[] }, infer = { on: [] as number[], off: [] as number[] };
for (let r = -1; r < rounds; r++) {  // round -1: warm-up
  for (const k of r % 2 ? kinds : [...kinds].reverse()) {
    const t = ms(() => trainStepOn(nets[k], sgd[k], xent, x, labels, { seed: 1, step: r + 1, lr: 0.01 }));
    const i = ms(() => nets[k].forward(x, { training: false, seed: 1, step: 0 }).dispose());
    if (r >= 0) train[k].push(t), infer[k].push(i);
  }
}

// each pair alone: the layer's op with relu against the op then relu, at its input shape
const pairs: Array<{ layer: string; fused: number[]; separate: number[] }> = [];
const layers = nets.off.layers;
layers.forEach((l, i) => {
  if (!(l instanceof Conv2d || l instanceof Linear) || layers[i + 1]?.name.startsWith('relu') !== true) return;
  const input = Tensor.randn([batch, ...l.inputShape], { seed: 10 + i, device });
  const run = (relu: boolean) => {
    if (l instanceof Conv2d) {
      const { stride, padding, groups } = l.options;
      return ops.conv2d(input, l.weight.value, l.bias.value, { stride, padding, groups, relu });
    }
    return ops.linear(input, l.weight.value, l.bias.value, { relu });
  };
  const fused: number[] = [], separate: number[] = [];
  for (let r = -1; r < rounds; r++) {
    const f = () => ms(() => run(true).dispose());
    const s = () => ms(() => {
      const y = run(false);
      ops.relu(y).dispose();
      y.dispose();
    });
    let a: number, b: number;
    if (r % 2) (a = f(), b = s());
    else (b = s(), a = f());
    if (r >= 0) fused.push(a), separate.push(b);
  }
  input.dispose();
  pairs.push({ layer: `${l.name}+${layers[i + 1].name}`, fused, separate });
});

const info = backendInfo();
const result = {
  system: 'ours', device, batch, rounds, threads: info.cpu.threads, gemm: info.cpu.gemm, convAlgorithm: info.cpu.convAlgorithm,
  train_ms: { on: stats(train.on), off: stats(train.off), runs: train },
  infer_ms: { on: stats(infer.on), off: stats(infer.off), runs: infer },
  pairs_ms: pairs.map((p) => ({ layer: p.layer, fused: stats(p.fused), separate: stats(p.separate) })),
};
const row = (name: string, on: { median: number; min: number }, off: { median: number; min: number }) =>
  `${name.padEnd(16)}${on.median.toFixed(1).padStart(9)}${off.median.toFixed(1).padStart(9)}${(off.median / on.median).toFixed(3).padStart(8)}` +
  `${on.min.toFixed(1).padStart(9)}${off.min.toFixed(1).padStart(9)}${(off.min / on.min).toFixed(3).padStart(8)}`;
console.log(`fused ReLUs (on) against separate ones (off), ${device}, batch ${batch}, ${rounds} interleaved rounds, ms`);
console.log(`${''.padEnd(16)}${'on med'.padStart(9)}${'off med'.padStart(9)}${'off/on'.padStart(8)}${'on min'.padStart(9)}${'off min'.padStart(9)}${'off/on'.padStart(8)}`);
console.log(row('training step', result.train_ms.on, result.train_ms.off));
console.log(row('inference', result.infer_ms.on, result.infer_ms.off));
for (const p of result.pairs_ms) console.log(row(p.layer, p.fused, p.separate));
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(result, null, 2));
for (const v of [nets.on, nets.off, x]) v.dispose();
xent.dispose();
