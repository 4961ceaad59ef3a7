// The cross-backend check: every op, forward and backward, on seeded random inputs, run on
// the CPU (the reference) and on a CUDA device, printing op, shape, max abs error, max error
// relative to the reference's largest magnitude, and pass/fail. Exits 1 if anything fails.
//
//   node test/crosscheck.js [--device cuda:0|cudnn:0] [--shapes small|alexnet|all] [--batch N] [--json FILE]
//                           [--precision fp32|tf32|3xtf32]
// The GEMM version under test is ALEXNET_GEMM's (v1, v2, tf32, 3xtf32; see lib/core/precision.ts),
// or the one --precision sets; conv2d and linear are checked at that precision's tolerance.
//
// `small` shapes are odd sizes that cross tile edges (fast, also on the host emulator);
// `alexnet` are the paper's layer shapes at --batch (default 128).
import * as fs from 'node:fs';
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { deviceStatus } from '../lib/core/device';
import { backendInfo } from '../lib/core/info';
import { FlagError, FlagSpec, FlagValues, parseFlags } from '../lib/cli/flags';
import { applyPrecision, precisionOf, precisions } from '../lib/core/precision';
import { gemmTolerance } from './_precision';

interface Row { op: string; shape: string; maxAbs: number; maxRel: number; tolerance: number; pass: boolean }

const spec: Record<string, FlagSpec> = {
  device: { type: 'string', default: 'cuda:0', help: 'the device checked against the CPU' },
  shapes: { type: 'choice', choices: ['small', 'alexnet', 'all'], default: 'small', help: 'which shapes' },
  batch: { type: 'int', min: 1, max: 1024, default: 128, help: 'batch of the AlexNet shapes' },
  json: { type: 'string', help: 'also write the rows as JSON here' },
  'if-available': { type: 'bool', default: false, help: 'skip quietly where the device is not built or usable' },
  precision: { type: 'choice', choices: [...precisions], help: 'GEMM precision of the CUDA backend: sets ALEXNET_GEMM (default: as ALEXNET_GEMM says, v1 when unset)' },
  only: { type: 'string', help: 'check only these, comma-separated: conv2d, lrn, maxPool2d, linear, elementwise, or a conv layer such as conv2 (default: all)' },
};

// --only: a group of rows runs when its op, or the first word of its shape label, is named.
let only: string[] = [];
// conv2d's and linear's tolerance (max error relative to the largest reference value), by the
// GEMM version under test: see test/_precision.ts for why each is what it is
let gemmTol = 1e-5;
const wanted = (op: string, shape: string): boolean =>
  only.length === 0 || only.some((name) => op === name || shape.split(' ')[0] === name);

function compare(rows: Row[], op: string, shape: string, actual: Tensor, expected: Tensor, tolerance: number): void {
  const a = actual.toFloat32Array(), e = expected.toFloat32Array();
  let maxAbs = 0, scale = 0;
  let finite = a.length === e.length;
  for (let i = 0; i < e.length; i++) {
    if (!Number.isFinite(a[i])) finite = false;
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - e[i]));
    scale = Math.max(scale, Math.abs(e[i]));
  }
  const maxRel = scale > 0 ? maxAbs / scale : maxAbs;
  const row = { op, shape, maxAbs, maxRel, tolerance, pass: finite && maxRel <= tolerance };
  rows.push(row);
  console.log(
    `${row.pass ? 'pass' : 'FAIL'}  ${op.padEnd(28)} ${shape.padEnd(34)} max abs ${maxAbs.toExponential(2).padStart(9)}  max rel ${maxRel.toExponential(2).padStart(9)}  (tolerance ${tolerance.toExponential(0)})`,
  );
}

// Seeded inputs made on the CPU and copied, so both backends see the same bits.
let seed = 1000;
function pair(shape: number[], device: string, std = 1): [Tensor, Tensor] {
  const cpu = Tensor.randn(shape, { seed: seed++, std });
  return [cpu, cpu.to(device)];
}

interface ConvCase { name: string; n: number; c: number; h: number; k: number; kernel: number; stride: number; padding: number; groups: number }

function checkConv(rows: Row[], device: string, s: ConvCase): void {
  const shape = `${s.name} ${s.n}x${s.c}x${s.h}x${s.h} k${s.k}`;
  if (!wanted('conv2d', shape)) return;
  const o = { stride: s.stride, padding: s.padding, groups: s.groups };
  const [x, xd] = pair([s.n, s.c, s.h, s.h], device);
  const [w, wd] = pair([s.k, s.c / s.groups, s.kernel, s.kernel], device, 0.1);
  const [b, bd] = pair([s.k], device);
  const y = ops.conv2d(x, w, b, o), yd = ops.conv2d(xd, wd, bd, o);
  compare(rows, 'conv2d', shape, yd, y, gemmTol);
  const [dy, dyd] = pair(y.shape as number[], device);
  const g = ops.conv2dBackward(x, w, dy, o, { inputGrad: true, biasGrad: true });
  const gd = ops.conv2dBackward(xd, wd, dyd, o, { inputGrad: true, biasGrad: true });
  compare(rows, 'conv2dBackward dx', shape, gd.dx!, g.dx!, gemmTol);
  compare(rows, 'conv2dBackward dweight', shape, gd.dweight, g.dweight, gemmTol);
  compare(rows, 'conv2dBackward dbias', shape, gd.dbias!, g.dbias!, 1e-5);
  for (const t of [x, xd, w, wd, b, bd, y, yd, dy, dyd, g.dx!, gd.dx!, g.dweight, gd.dweight, g.dbias!, gd.dbias!]) t.dispose();
}

function checkLrn(rows: Row[], device: string, shape: number[], groups: number): void {
  const o = { size: 5, alpha: 1e-4, beta: 0.75, k: 2, groups };
  const name = `${shape.join('x')} groups ${groups}`;
  if (!wanted('lrn', name)) return;
  const [x, xd] = pair(shape, device, 10);  // large enough that the normalisation matters
  compare(rows, 'lrn', name, ops.lrn(xd, o), ops.lrn(x, o), 1e-6);
  const [dy, dyd] = pair(shape, device);
  compare(rows, 'lrnBackward', name, ops.lrnBackward(xd, dyd, o), ops.lrnBackward(x, dy, o), 1e-6);
}

function checkPool(rows: Row[], device: string, shape: number[]): void {
  const o = { kernel: 3, stride: 2 };
  const name = `${shape.join('x')} 3x3 s2`;
  if (!wanted('maxPool2d', name)) return;
  const [x, xd] = pair(shape, device);
  const y = ops.maxPool2d(x, o), yd = ops.maxPool2d(xd, o);
  compare(rows, 'maxPool2d', name, yd, y, 0);
  const [dy, dyd] = pair(y.shape as number[], device);
  compare(rows, 'maxPool2dBackward', name, ops.maxPool2dBackward(xd, yd, dyd, o), ops.maxPool2dBackward(x, y, dy, o), 0);
}

function checkLinear(rows: Row[], device: string, n: number, inF: number, outF: number): void {
  const name = `${n}x${inF} -> ${outF}`;
  if (!wanted('linear', name)) return;
  const [x, xd] = pair([n, inF], device);
  const [w, wd] = pair([outF, inF], device, 0.01);
  const [b, bd] = pair([outF], device);
  compare(rows, 'linear', name, ops.linear(xd, wd, bd), ops.linear(x, w, b), gemmTol);
  const [dy, dyd] = pair([n, outF], device);
  const g = ops.linearBackward(x, w, dy, { inputGrad: true, biasGrad: true });
  const gd = ops.linearBackward(xd, wd, dyd, { inputGrad: true, biasGrad: true });
  compare(rows, 'linearBackward dx', name, gd.dx!, g.dx!, gemmTol);
  compare(rows, 'linearBackward dweight', name, gd.dweight, g.dweight, gemmTol);
  compare(rows, 'linearBackward dbias', name, gd.dbias!, g.dbias!, 1e-5);
}

function checkElementwise(rows: Row[], device: string, count: number, classesN: [number, number]): void {
  const name = `${count}`;
  if (!wanted('elementwise', name)) return;
  const [x, xd] = pair([count], device);
  const [dy, dyd] = pair([count], device);
  for (const [f, fb] of [[ops.relu, ops.reluBackward], [ops.tanh, ops.tanhBackward]] as const) {
    const y = f(x), yd = f(xd);
    compare(rows, f.name, name, yd, y, 1e-6);
    compare(rows, fb.name, name, fb(yd, dyd), fb(y, dy), 1e-6);
  }
  const d = ops.dropout(x, { p: 0.5, training: true, seed: 7, offset: 3 });
  const dd = ops.dropout(xd, { p: 0.5, training: true, seed: 7, offset: 3 });
  compare(rows, 'dropout mask (same seed)', name, dd.mask!, d.mask!, 0);
  compare(rows, 'dropout', name, dd.y, d.y, 0);
  compare(rows, 'dropout (test time)', name, ops.dropout(xd, { training: false }).y, ops.dropout(x, { training: false }).y, 0);
  compare(rows, 'dropoutBackward', name, ops.dropoutBackward(dyd, dd.mask!), ops.dropoutBackward(dy, d.mask!), 0);
  const r = Tensor.randn([count], { seed: 99, std: 0.01 }), rd = Tensor.randn([count], { seed: 99, std: 0.01, device });
  compare(rows, 'randn (same seed)', name, rd, r, 1e-6);
  // sgd: three steps from the same state
  const [w, wd] = pair([count], device);
  const v = Tensor.zeros([count]), vd = Tensor.zeros([count], device);
  for (let step = 0; step < 3; step++) {
    ops.sgdUpdate(w, dy, v, { lr: 0.01 });
    ops.sgdUpdate(wd, dyd, vd, { lr: 0.01 });
  }
  compare(rows, 'sgdUpdate (3 steps) weight', name, wd, w, 1e-6);
  compare(rows, 'sgdUpdate (3 steps) velocity', name, vd, v, 1e-6);
  const [n, classes] = classesN;
  const [z, zd] = pair([n, classes], device, 3);
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7919) % classes);
  const s = ops.softmaxCrossEntropy(z, labels), sd = ops.softmaxCrossEntropy(zd, labels);
  const lossError = Math.abs(s.loss - sd.loss) / Math.abs(s.loss);
  rows.push({ op: 'softmaxCrossEntropy loss', shape: `${n}x${classes}`, maxAbs: Math.abs(s.loss - sd.loss), maxRel: lossError, tolerance: 1e-6, pass: lossError <= 1e-6 });
  console.log(`${lossError <= 1e-6 ? 'pass' : 'FAIL'}  ${'softmaxCrossEntropy loss'.padEnd(28)} ${`${n}x${classes}`.padEnd(34)} ${s.loss} vs ${sd.loss}`);
  compare(rows, 'softmaxCrossEntropy probs', `${n}x${classes}`, sd.probs, s.probs, 1e-6);
  compare(rows, 'softmaxCrossEntropyBackward', `${n}x${classes}`, ops.softmaxCrossEntropyBackward(sd.probs, labels), ops.softmaxCrossEntropyBackward(s.probs, labels), 1e-6);
}

function main(): void {
  // The CPU side is the specification: im2col + GEMM, not Winograd's transforms (whose own
  // error is bounded and tested in test/winograd.test.ts), unless ALEXNET_CPU_CONV says else.
  process.env.ALEXNET_CPU_CONV ??= 'gemm';
  let flags: FlagValues;
  try {
    flags = parseFlags('crosscheck', process.argv.slice(2), spec).flags;
  } catch (err) {
    if (err instanceof FlagError) {
      console.error(`crosscheck: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const device = flags.device as string;
  let gemm: string;
  try {
    gemm = applyPrecision(flags.precision as string | undefined);
  } catch (err) {
    console.error(`crosscheck: ${(err as Error).message}`);
    process.exit(2);
  }
  // cuDNN's kernels are not switched by ALEXNET_GEMM: FP32 tolerances there
  gemmTol = device.startsWith('cudnn') ? gemmTolerance('v1') : gemmTolerance(gemm);
  only = flags.only ? String(flags.only).split(',').map((x) => x.trim()).filter(Boolean) : [];
  const info = backendInfo();
  const status = deviceStatus(device);
  const why = status.usable ? '' : status.reason;
  if (why) {
    console.log(`crosscheck: ${device} skipped: ${why}`);
    // asked for explicitly, a missing device is a failure; with --if-available it is not
    if (!flags['if-available']) process.exit(1);
    return;
  }
  const kernels = device.startsWith('cudnn') ? 'cuDNN' : `GEMM ${gemm} (${precisionOf(gemm)}, tolerance ${gemmTol.toExponential(0)})`;
  console.log(`crosscheck: ${device} (${info.cuda.devices[0]?.name}${info.cuda.emulated ? ', HOST EMULATOR' : ''}), ${kernels}, against cpu`);
  const rows: Row[] = [];
  const which = flags.shapes as string;
  if (which === 'small' || which === 'all') {
    for (const s of [
      { name: 'odd', n: 3, c: 5, h: 13, k: 7, kernel: 3, stride: 1, padding: 1, groups: 1 },
      { name: 'strided grouped', n: 2, c: 6, h: 17, k: 10, kernel: 5, stride: 3, padding: 2, groups: 2 },
      { name: 'conv1-like', n: 2, c: 3, h: 35, k: 12, kernel: 11, stride: 4, padding: 0, groups: 1 },
      { name: 'long K (split)', n: 4, c: 3, h: 30, k: 5, kernel: 3, stride: 1, padding: 0, groups: 1 },
    ]) checkConv(rows, device, s);
    checkLrn(rows, device, [2, 12, 5, 7], 2);
    checkLrn(rows, device, [2, 7, 5, 7], 1);
    checkPool(rows, device, [2, 3, 13, 11]);
    checkLinear(rows, device, 5, 300, 131);
    checkLinear(rows, device, 3, 17, 9);
    checkElementwise(rows, device, 4099, [5, 1003]);
  }
  if (which === 'alexnet' || which === 'all') {
    const n = flags.batch as number;
    for (const s of [
      { name: 'conv1', n, c: 3, h: 227, k: 96, kernel: 11, stride: 4, padding: 0, groups: 1 },
      { name: 'conv2', n, c: 96, h: 27, k: 256, kernel: 5, stride: 1, padding: 2, groups: 2 },
      { name: 'conv3', n, c: 256, h: 13, k: 384, kernel: 3, stride: 1, padding: 1, groups: 1 },
      { name: 'conv4', n, c: 384, h: 13, k: 384, kernel: 3, stride: 1, padding: 1, groups: 2 },
      { name: 'conv5', n, c: 384, h: 13, k: 256, kernel: 3, stride: 1, padding: 1, groups: 2 },
    ]) checkConv(rows, device, s);
    checkLrn(rows, device, [n, 96, 55, 55], 2);
    checkLrn(rows, device, [n, 256, 27, 27], 2);
    checkPool(rows, device, [n, 96, 55, 55]);
    checkPool(rows, device, [n, 256, 27, 27]);
    checkPool(rows, device, [n, 256, 13, 13]);
    checkLinear(rows, device, n, 9216, 4096);
    checkLinear(rows, device, n, 4096, 4096);
    checkLinear(rows, device, n, 4096, 1000);
    checkElementwise(rows, device, n * 4096, [n, 1000]);
  }
  const failed = rows.filter((r) => !r.pass);
  console.log(`crosscheck: ${rows.length - failed.length} of ${rows.length} passed on ${device}`);
  if (flags.json) fs.writeFileSync(flags.json as string, JSON.stringify({ device, gemm, info: info.cuda.devices, rows }, null, 2));
  if (failed.length) process.exit(1);
}

main();
