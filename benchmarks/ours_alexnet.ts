// Ours in the peers comparison (benchmarks/peers.ts): the paper's AlexNet on the CPU at one
// batch size, timed whole (training step: forward, loss, backward, SGD; inference) and per
// layer (each layer's forward in inference, and its forward and backward in a training step).
// `warmups` untimed runs, then `repeats` timed ones; medians.
//   node benchmarks/ours_alexnet.js [--batch 32] [--warmups 2] [--repeats 3] [--json FILE]
import * as fs from 'node:fs';
import { backendInfo } from '../lib/core/info';
import { Tensor } from '../lib/core/tensor';
import { SoftmaxCrossEntropy } from '../lib/nn/layers';
import { Network } from '../lib/nn/network';
import { alexnet } from '../lib/nn/spec';
import { Sgd } from '../lib/train/optim';
import { flag, median } from './_common';
import { layerFlops } from './_peers';

const batch = Number(flag('batch', '32'));
const warmups = Number(flag('warmups', '2'));
const repeats = Number(flag('repeats', '3'));
const jsonOut = flag('json', '');
if (![batch, repeats].every((v) => Number.isInteger(v) && v > 0) || !Number.isInteger(warmups) || warmups < 0) {
  console.error('usage: node benchmarks/ours_alexnet.js [--batch N] [--warmups N] [--repeats N] [--json FILE]');
  process.exit(2);
}

const config = alexnet();
const net = new Network(config, { seed: 1 });
const sgd = new Sgd(net.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
const xent = new SoftmaxCrossEntropy();
const x = Tensor.randn([batch, 3, 227, 227], { seed: 3, std: 50 });
const labels = Int32Array.from({ length: batch }, (_, i) => i % 1000);
const L = net.layers.length;
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** One training step as Network.forward/backward run it, with each layer's time recorded. */
function step(s: number, fw: number[], bw: number[]): number {
  const t0 = now();
  const ctx = { training: true, seed: 1, step: s };
  const kept: Tensor[] = [];
  let h = x;
  for (let i = 0; i < L; i++) {
    const t = now();
    const out = net.layers[i].forward(h, ctx);
    fw[i] = now() - t;
    if (h !== x && out !== h) kept.push(h);  // a fused ReLU returns its input
    h = out;
  }
  xent.forward(h, labels);
  const d = xent.backward();
  let g = d;
  for (let i = L - 1; i >= 0; i--) {
    const t = now();
    const next = net.layers[i].backward(g, i > 0);
    bw[i] = now() - t;
    if (g !== d) g.dispose();
    if (!next) break;
    g = next;
  }
  d.dispose();
  h.dispose();
  kept.forEach((k) => k.dispose());
  sgd.step(0.01);
  return now() - t0;
}

/** Inference as Network.forward runs it (each activation freed once used), timed per layer. */
function infer(fw: number[]): number {
  const t0 = now();
  const ctx = { training: false, seed: 1, step: 0 };
  let h = x;
  for (let i = 0; i < L; i++) {
    const t = now();
    const out = net.layers[i].forward(h, ctx);
    if (h !== x && out !== h) h.dispose();
    fw[i] = now() - t;
    h = out;
  }
  h.dispose();
  return now() - t0;
}

const trainRuns: number[] = [], inferRuns: number[] = [];
const trainFw: number[][] = [], trainBw: number[][] = [], inferFw: number[][] = [];
for (let r = 0; r < warmups + repeats; r++) {
  const fw = new Array(L).fill(0), bw = new Array(L).fill(0);
  const ms = step(r, fw, bw);
  if (r >= warmups) trainRuns.push(ms), trainFw.push(fw), trainBw.push(bw);
}
for (let r = 0; r < warmups + repeats; r++) {
  const fw = new Array(L).fill(0);
  const ms = infer(fw);
  if (r >= warmups) inferRuns.push(ms), inferFw.push(fw);
}
const col = (rows: number[][], i: number) => median(rows.map((row) => row[i]));
const low = (rows: number[][], i: number) => Math.min(...rows.map((row) => row[i]));
const flops = layerFlops(config);
const info = backendInfo();
const result = {
  system: 'ours', version: info.version, batch, warmups, repeats, threads: info.cpu.threads, blas: info.cpu.blas, gemm: info.cpu.gemm, convAlgorithm: info.cpu.convAlgorithm,
  train_ms: median(trainRuns), train_runs_ms: trainRuns, infer_ms: median(inferRuns), infer_runs_ms: inferRuns,
  train_images_per_s: (batch * 1000) / median(trainRuns), infer_images_per_s: (batch * 1000) / median(inferRuns),
  forward_gflop_per_image: flops.reduce((a, l) => a + l.flops, 0) / 1e9,
  peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  // per layer: inference forward; training forward and backward (ms, medians)
  // (and the fastest of the repeats: on a shared machine, the least disturbed)
  layers: net.layers.map((l, i) => ({ layer: l.name, infer_ms: col(inferFw, i), train_forward_ms: col(trainFw, i), train_backward_ms: col(trainBw, i),
    infer_min_ms: low(inferFw, i), train_forward_min_ms: low(trainFw, i), train_backward_min_ms: low(trainBw, i) })),
};
console.log(`ours ${info.version} (cpu, ${info.cpu.threads} threads, batch ${batch}): train ${result.train_ms.toFixed(1)} ms/step = ${result.train_images_per_s.toFixed(1)} img/s, ` +
  `inference ${result.infer_ms.toFixed(1)} ms = ${result.infer_images_per_s.toFixed(1)} img/s, peak RSS ${result.peak_rss_mib.toFixed(0)} MiB`);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(result, null, 2));
net.dispose();
x.dispose();
