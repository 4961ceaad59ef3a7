// Per-op timings of one backend at AlexNet's layer shapes, beside a GEMM ceiling measured in
// the same run. Medians over repeats after a warm-up (on a GPU, the clock waits for the device).
//   node benchmarks/ops.js [--batch 16] [--repeats 5] [--device cpu|cuda:0|cudnn:0] [--precision fp32|tf32|3xtf32] [--json out.json]
import * as fs from 'node:fs';
import { backendInfo } from '../lib/core/info';
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { applyPrecision } from '../lib/core/precision';
import { flag, timeMs } from './_common';

interface Row { op: string; shape: string; ms: number; gflops: number }

const batch = Number(flag('batch', '16'));
const repeats = Number(flag('repeats', '5'));
const device = flag('device', 'cpu');
// --precision fp32|tf32|3xtf32: the CUDA GEMM kernels (ALEXNET_GEMM), set before any op runs
const gemm = applyPrecision(flag('precision', '') || undefined);
const jsonOut = flag('json', '');
if (!Number.isInteger(batch) || batch <= 0 || !Number.isInteger(repeats) || repeats <= 0) {
  console.error('usage: node benchmarks/ops.js [--batch N] [--repeats N] [--device cpu] [--json FILE]');
  process.exit(2);
}

/** Median milliseconds of f after a warm-up; the tensors it returns are disposed, untimed. */
const time = (f: () => Tensor[] | void): number => timeMs(repeats, f, (r) => r && r.forEach((t) => t.dispose()), device);

const rows: Row[] = [];
const add = (op: string, shape: string, ms: number, flops: number) => rows.push({ op, shape, ms, gflops: flops / ms / 1e6 });

// Ceiling: one large SGEMM through the same BLAS (on a GPU: our own SGEMM kernel).
{
  const n = 2048;
  const a = Tensor.randn([n, n], { seed: 1, device }), b = Tensor.randn([n, n], { seed: 2, device }), c = Tensor.zeros([n, n], device);
  add('sgemm ceiling', `${n}x${n}x${n}`, time(() => ops.gemm(a, b, c)), 2 * n ** 3);
}

// AlexNet's convolutions (single-device model: groups 2 where the paper splits columns).
const convs = [
  { name: 'conv1', c: 3, h: 227, k: 96, kk: 11, stride: 4, pad: 0, groups: 1 },
  { name: 'conv2', c: 96, h: 27, k: 256, kk: 5, stride: 1, pad: 2, groups: 2 },
  { name: 'conv3', c: 256, h: 13, k: 384, kk: 3, stride: 1, pad: 1, groups: 1 },
  { name: 'conv4', c: 384, h: 13, k: 384, kk: 3, stride: 1, pad: 1, groups: 2 },
  { name: 'conv5', c: 384, h: 13, k: 256, kk: 3, stride: 1, pad: 1, groups: 2 },
];
for (const l of convs) {
  const x = Tensor.randn([batch, l.c, l.h, l.h], { seed: 3, device });
  const w = Tensor.randn([l.k, l.c / l.groups, l.kk, l.kk], { seed: 4, std: 0.01, device });
  const b = Tensor.zeros([l.k], device);
  const opts = { stride: l.stride, padding: l.pad, groups: l.groups };
  const y = ops.conv2d(x, w, b, opts);
  const oh = y.shape[2];
  const macs = batch * l.k * oh * oh * (l.c / l.groups) * l.kk * l.kk;
  const shape = `${batch}x${l.c}x${l.h}x${l.h} -> ${l.k}x${oh}x${oh}`;
  add(`${l.name} forward`, shape, time(() => [ops.conv2d(x, w, b, opts)]), 2 * macs);
  add(`${l.name} backward`, shape, time(() => {
    const g = ops.conv2dBackward(x, w, y, opts, { inputGrad: l.name !== 'conv1' });
    return [g.dweight, ...(g.dx ? [g.dx] : []), ...(g.dbias ? [g.dbias] : [])];
  }), (l.name === 'conv1' ? 2 : 4) * macs);
  [x, w, b, y].forEach((t) => t.dispose());
}

for (const [name, c, h, groups] of [['lrn1', 96, 55, 2], ['lrn2', 256, 27, 2]] as const) {
  const x = Tensor.randn([batch, c, h, h], { seed: 5, device });
  add(`${name} forward`, `${batch}x${c}x${h}x${h}`, time(() => [ops.lrn(x, { groups })]), 0);
  add(`${name} backward`, `${batch}x${c}x${h}x${h}`, time(() => [ops.lrnBackward(x, x, { groups })]), 0);
  x.dispose();
}

for (const [name, c, h] of [['pool1', 96, 55], ['pool2', 256, 27], ['pool5', 256, 13]] as const) {
  const x = Tensor.randn([batch, c, h, h], { seed: 6, device });
  const y = ops.maxPool2d(x);
  add(`${name} forward`, `${batch}x${c}x${h}x${h}`, time(() => [ops.maxPool2d(x)]), 0);
  add(`${name} backward`, `${batch}x${c}x${h}x${h}`, time(() => [ops.maxPool2dBackward(x, y, y)]), 0);
  [x, y].forEach((t) => t.dispose());
}

for (const [name, inF, out] of [['fc6', 9216, 4096], ['fc7', 4096, 4096], ['fc8', 4096, 1000]] as const) {
  const x = Tensor.randn([batch, inF], { seed: 7, device });
  const w = Tensor.randn([out, inF], { seed: 8, std: 0.01, device });
  const b = Tensor.zeros([out], device);
  const y = ops.linear(x, w, b);
  const macs = batch * inF * out;
  add(`${name} forward`, `${batch}x${inF} -> ${out}`, time(() => [ops.linear(x, w, b)]), 2 * macs);
  add(`${name} backward`, `${batch}x${inF} -> ${out}`, time(() => {
    const g = ops.linearBackward(x, w, y);
    return [g.dx!, g.dweight, g.dbias!];
  }), 4 * macs);
  // the weight and bias gradients alone: dw = dy^T x, whose depth is the batch
  add(`${name} dweight`, `${batch}x${inF} -> ${out}`, time(() => {
    const g = ops.linearBackward(x, w, y, { inputGrad: false });
    return [g.dweight, g.dbias!];
  }), 2 * macs);
  [x, w, b, y].forEach((t) => t.dispose());
}

const info = backendInfo();
const where = device === 'cpu' ? `${info.cpu.blas}, ${info.cpu.threads} threads` : `${info.cuda.devices[0]?.name}`;
console.log(`device ${device}, batch ${batch}, median of ${repeats} after a warm-up; ${where}`);
console.log(`${'op'.padEnd(16)} ${'shape'.padEnd(30)} ${'ms'.padStart(10)} ${'GFLOP/s'.padStart(9)}`);
for (const r of rows)
  console.log(`${r.op.padEnd(16)} ${r.shape.padEnd(30)} ${r.ms.toFixed(2).padStart(10)} ${(r.gflops ? r.gflops.toFixed(1) : '-').padStart(9)}`);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ device, gemm, gpu: info.cuda.devices[0]?.name, batch, repeats, blas: info.cpu.blas, threads: info.cpu.threads, rows }, null, 2));
