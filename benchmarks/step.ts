// The whole AlexNet on one device: a training step (forward, loss, backward, SGD update) and
// inference, at a batch size, beside an SGEMM ceiling measured in the same run; peak
// resident memory of the process. Medians over repeats after a warm-up.
//   node benchmarks/step.js [--batch 128] [--repeats 3] [--device cpu] [--precision fp32|tf32|3xtf32] [--json FILE]
import * as fs from 'node:fs';
import { backendInfo } from '../lib/core/info';
import { SoftmaxCrossEntropy } from '../lib/nn/layers';
import { alexnet } from '../lib/nn/spec';
import { Network } from '../lib/nn/network';
import * as ops from '../lib/core/ops';
import { Sgd } from '../lib/train/optim';
import { Tensor } from '../lib/core/tensor';
import { flag, timeMs } from './_common';
import { trainStepOn } from '../lib/train/loop';
import { applyPrecision } from '../lib/core/precision';

const batch = Number(flag('batch', '128'));
const repeats = Number(flag('repeats', '3'));
const device = flag('device', 'cpu');
// --precision fp32|tf32|3xtf32: the CUDA GEMM kernels (ALEXNET_GEMM), set before any op runs
const gemm = applyPrecision(flag('precision', '') || undefined);
const jsonOut = flag('json', '');
if (!Number.isInteger(batch) || batch <= 0 || !Number.isInteger(repeats) || repeats <= 0) {
  console.error('usage: node benchmarks/step.js [--batch N] [--repeats N] [--device cpu] [--json FILE]');
  process.exit(2);
}

const time = (f: () => void) => timeMs(repeats, f, () => {}, device);

// ceiling: one large SGEMM through the same BLAS
const n = 2048;
const a = Tensor.randn([n, n], { seed: 1, device }), b = Tensor.randn([n, n], { seed: 2, device }), c = Tensor.zeros([n, n], device);
const gemmMs = time(() => ops.gemm(a, b, c));
const ceiling = (2 * n ** 3) / gemmMs / 1e6;
[a, b, c].forEach((t) => t.dispose());

const config = alexnet();  // the paper's: 227 input, groups 2, LRN, dropout, 60,965,224 parameters
const net = new Network(config, { seed: 1, device });
const sgd = new Sgd(net.params(), { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
const xent = new SoftmaxCrossEntropy();
const x = Tensor.randn([batch, 3, 227, 227], { seed: 3, std: 50, device });
const labels = Int32Array.from({ length: batch }, (_, i) => i % 1000);
let step = 0;

const trainMs = time(() => trainStepOn(net, sgd, xent, x, labels, { seed: 1, step: step++, lr: 0.01 }));
const inferMs = time(() => net.forward(x, { training: false, seed: 1, step: 0 }).dispose());

// multiply-adds per image, forward, from the layer shapes
let macs = 0;
let shape: readonly number[] = config.input;
for (const layer of net.layers) {
  const out = layer.outputShape;
  if (layer.name.startsWith('conv')) {
    const l = config.layers.find((s) => s.name === layer.name)!;
    if (l.type === 'conv') macs += out[0] * out[1] * out[2] * (shape[0] / l.groups) * l.kernel * l.kernel;
  } else if (layer.name.startsWith('fc')) macs += out[0] * shape[0];
  shape = out;
}
const gflop = (ms: number, flopsPerImage: number) => (flopsPerImage * batch) / ms / 1e6;
const result = {
  system: 'ours', device, gemm, gpu: device === 'cpu' ? undefined : backendInfo().cuda.devices[0]?.name, batch, repeats, blas: backendInfo().cpu.blas, threads: backendInfo().cpu.threads,
  parameters: net.parameterCount(), forward_gmacs_per_image: macs / 1e9,
  sgemm_gflops: ceiling,
  train_ms: trainMs, train_images_per_s: (batch * 1000) / trainMs, train_gflops: gflop(trainMs, 6 * macs),
  infer_ms: inferMs, infer_images_per_s: (batch * 1000) / inferMs, infer_gflops: gflop(inferMs, 2 * macs),
  peak_rss_mib: process.resourceUsage().maxRSS / 1024,
};
console.log(`ours (${device}, batch ${batch}, ${result.threads} threads, ${result.blas.split(' ')[0]} ${result.blas.split(' ')[1]}): ` +
  `train ${trainMs.toFixed(0)} ms/step = ${result.train_images_per_s.toFixed(1)} img/s (${result.train_gflops.toFixed(0)} GFLOP/s), ` +
  `inference ${inferMs.toFixed(0)} ms = ${result.infer_images_per_s.toFixed(1)} img/s (${result.infer_gflops.toFixed(0)} GFLOP/s), ` +
  `SGEMM ceiling ${ceiling.toFixed(0)} GFLOP/s, peak RSS ${result.peak_rss_mib.toFixed(0)} MiB`);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(result, null, 2));
