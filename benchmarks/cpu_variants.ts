// The CPU backend's algorithm choices side by side at AlexNet's layer shapes: each op is run
// under every setting in turn (ALEXNET_CPU_GEMM: blas | packed, ALEXNET_CPU_CONV: gemm |
// winograd; both are read at every call), interleaved round by round so that a machine's
// noise falls on all of them alike, and the fastest round of each is kept.
//   node benchmarks/cpu_variants.js [--batch 32] [--rounds 5] [--json FILE]
import * as fs from 'node:fs';
import { backendInfo } from '../lib/core/info';
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { flag } from './_common';

const batch = Number(flag('batch', '32'));
const rounds = Number(flag('rounds', '5'));
const jsonOut = flag('json', '');
if (![batch, rounds].every((v) => Number.isInteger(v) && v > 0)) {
  console.error('usage: node benchmarks/cpu_variants.js [--batch N] [--rounds N] [--json FILE]');
  process.exit(2);
}

interface Variant { name: string; env: Record<string, string> }
const packed = backendInfo().cpu.packedGemm;
const variants: Variant[] = [
  { name: 'blas+gemm', env: { ALEXNET_CPU_GEMM: 'blas', ALEXNET_CPU_CONV: 'gemm' } },
  { name: 'blas+winograd', env: { ALEXNET_CPU_GEMM: 'blas', ALEXNET_CPU_CONV: 'auto' } },
  ...(packed ? [
    { name: 'packed+gemm', env: { ALEXNET_CPU_GEMM: 'packed', ALEXNET_CPU_CONV: 'gemm' } },
    { name: 'packed+winograd', env: { ALEXNET_CPU_GEMM: 'packed', ALEXNET_CPU_CONV: 'auto' } },
  ] : []),
];

function withEnv<T>(env: Record<string, string>, f: () => T): T {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return f();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

interface Case { op: string; flops: number; run: () => Tensor[] }
const cases: Case[] = [];
{
  const n = 2048;
  const a = Tensor.randn([n, n], { seed: 1 }), b = Tensor.randn([n, n], { seed: 2 }), c = Tensor.zeros([n, n]);
  cases.push({ op: 'sgemm 2048^3', flops: 2 * n ** 3, run: () => { ops.gemm(a, b, c); return []; } });
}
for (const l of [
  { name: 'conv1', c: 3, h: 227, k: 96, kk: 11, stride: 4, pad: 0, groups: 1 },
  { name: 'conv2', c: 96, h: 27, k: 256, kk: 5, stride: 1, pad: 2, groups: 2 },
  { name: 'conv3', c: 256, h: 13, k: 384, kk: 3, stride: 1, pad: 1, groups: 1 },
  { name: 'conv4', c: 384, h: 13, k: 384, kk: 3, stride: 1, pad: 1, groups: 2 },
  { name: 'conv5', c: 384, h: 13, k: 256, kk: 3, stride: 1, pad: 1, groups: 2 },
]) {
  const x = Tensor.randn([batch, l.c, l.h, l.h], { seed: 3 });
  const w = Tensor.randn([l.k, l.c / l.groups, l.kk, l.kk], { seed: 4, std: 0.01 });
  const b = Tensor.zeros([l.k]);
  const opts = { stride: l.stride, padding: l.pad, groups: l.groups };
  const y = ops.conv2d(x, w, b, opts);
  const macs = batch * l.k * y.shape[2] * y.shape[3] * (l.c / l.groups) * l.kk * l.kk;
  cases.push({ op: `${l.name} forward`, flops: 2 * macs, run: () => [ops.conv2d(x, w, b, opts)] });
  if (l.name !== 'conv1')
    cases.push({ op: `${l.name} backward`, flops: 4 * macs, run: () => {
      const g = ops.conv2dBackward(x, w, y, opts);
      return [g.dx!, g.dweight, ...(g.dbias ? [g.dbias] : [])];
    } });
  cases.push({ op: `${l.name} filter grad`, flops: 2 * macs, run: () => {
    const g = ops.conv2dBackward(x, w, y, opts, { inputGrad: false });
    return [g.dweight, ...(g.dbias ? [g.dbias] : [])];
  } });
}
for (const [name, inF, out] of [['fc6', 9216, 4096], ['fc7', 4096, 4096], ['fc8', 4096, 1000]] as const) {
  const x = Tensor.randn([batch, inF], { seed: 7 }), w = Tensor.randn([out, inF], { seed: 8, std: 0.01 }), b = Tensor.zeros([out]);
  const y = ops.linear(x, w, b);
  cases.push({ op: `${name} forward`, flops: 2 * batch * inF * out, run: () => [ops.linear(x, w, b)] });
  cases.push({ op: `${name} backward`, flops: 4 * batch * inF * out, run: () => {
    const g = ops.linearBackward(x, w, y);
    return [g.dweight, ...(g.dx ? [g.dx] : []), ...(g.dbias ? [g.dbias] : [])];
  } });
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const best: number[][] = cases.map(() => variants.map(() => Infinity));
for (let r = 0; r <= rounds; r++) {  // round 0 warms up
  cases.forEach((c, i) => variants.forEach((v, j) => {
    const t = now();
    const out = withEnv(v.env, c.run);
    const ms = now() - t;
    out.forEach((o) => o.dispose());
    if (r > 0) best[i][j] = Math.min(best[i][j], ms);
  }));
}

const info = backendInfo();
console.log(`cpu, batch ${batch}, fastest of ${rounds} interleaved rounds; ${info.cpu.blas}; ms (GFLOP/s of the direct algorithm's FLOPs)`);
console.log(['op'.padEnd(18), ...variants.map((v) => v.name.padStart(22))].join(''));
cases.forEach((c, i) => console.log([c.op.padEnd(18), ...best[i].map((ms) => `${ms.toFixed(2)} (${(c.flops / ms / 1e6).toFixed(0)})`.padStart(22))].join('')));
if (jsonOut)
  fs.writeFileSync(jsonOut, JSON.stringify({ batch, rounds, blas: info.cpu.blas, variants: variants.map((v) => v.name),
    rows: cases.map((c, i) => ({ op: c.op, gflop: c.flops / 1e9, ms: Object.fromEntries(variants.map((v, j) => [v.name, best[i][j]])) })) }, null, 2));
