// SGEMM at AlexNet's shapes, through each given addon build, beside the built-in blocked GEMM
// measured in the same run: what the prebuild's choice of CPU GEMM costs or saves.
//   node benchmarks/gemm.js [--addon FILE]... [--repeats N] [--json FILE]
// Each addon runs in its own process (ALEXNET_NATIVE_ADDON), its default GEMM and then the
// built-in one (ops.gemm's `builtin`: what a build without a BLAS, or a prebuild that found
// no OpenBLAS to load, would run); the ratios are each addon's GFLOP/s over the built-in
// GEMM's, shape by shape, and [1] over [2] (static over shared OpenBLAS, say).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { flag, timeMs } from './_common';

// (M, N, K): conv layers as the GEMMs of one image (M filters of a group, N output pixels,
// K = input channels of a group x kernel area), the fully connected layers at batch 128.
const SHAPES: [string, number, number, number][] = [
  ['conv1', 96, 55 * 55, 3 * 11 * 11],
  ['conv2 (per group)', 128, 27 * 27, 48 * 5 * 5],
  ['conv3', 384, 13 * 13, 256 * 3 * 3],
  ['conv4 (per group)', 192, 13 * 13, 192 * 3 * 3],
  ['fc6, batch 128', 128, 4096, 9216],
  ['fc7, batch 128', 128, 4096, 4096],
  ['square 1024', 1024, 1024, 1024],
];

interface Row { shape: string; gflops: number; builtinGflops: number }
interface Result { addon: string; blas: string; threads: number; rows: Row[] }

function measure(repeats: number): Result {
  // loaded after ALEXNET_NATIVE_ADDON is set by the parent
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Tensor, ops, backendInfo } = require('../lib') as typeof import('../lib');
  const info = backendInfo();
  const rows: Row[] = [];
  for (const [shape, m, n, k] of SHAPES) {
    const a = Tensor.randn([m, k], { seed: 1 }), b = Tensor.randn([k, n], { seed: 2 }), c = Tensor.zeros([m, n]);
    const flops = 2 * m * n * k;
    const ms = timeMs(repeats, () => ops.gemm(a, b, c));
    const builtinMs = timeMs(repeats, () => ops.gemm(a, b, c, { builtin: true }));
    rows.push({ shape: `${shape} ${m}x${n}x${k}`, gflops: flops / ms / 1e6, builtinGflops: flops / builtinMs / 1e6 });
    for (const t of [a, b, c]) t.dispose();
  }
  return { addon: process.env.ALEXNET_NATIVE_ADDON ?? '(node-gyp-build)', blas: info.cpu.blas, threads: info.cpu.blasThreads, rows };
}

if (process.argv.includes('--child')) {
  process.stdout.write(JSON.stringify(measure(Number(flag('repeats', '3')))));
} else {
  const addons = process.argv.flatMap((arg, i) => (arg === '--addon' && process.argv[i + 1] ? [process.argv[i + 1]] : []));
  const results: Result[] = [];
  for (const addon of addons.length ? addons : ['']) {
    const env = { ...process.env };
    if (addon) env.ALEXNET_NATIVE_ADDON = addon;
    const r = spawnSync(process.execPath, [__filename, '--child', '--repeats', flag('repeats', '3')], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`gemm benchmark: ${addon || 'the default addon'} exited with ${r.status ?? r.signal}`);
    results.push(JSON.parse(r.stdout) as Result);
  }
  results.forEach((r, i) => console.log(`[${i + 1}] ${r.addon}: ${r.blas}, ${r.threads} threads`));
  // each addon's GEMM over the built-in one timed next to it in the same process (a shared
  // machine's load changes between processes more than between two adjacent timings)
  console.log(`\nGFLOP/s (median of ${flag('repeats', '3')}); built-in: the blocked GEMM in the same process; ratio: GEMM / built-in`);
  const head = results.map((_, i) => `[${i + 1}]`.padStart(9) + `built-in`.padStart(10) + `ratio`.padStart(7)).join('');
  const cross = results.length > 1 ? '[1]/[2]'.padStart(9) : '';
  console.log(`${'shape (M x N x K)'.padEnd(32)}${head}${cross}`);
  for (let s = 0; s < SHAPES.length; s++) {
    const cells = results.map((r) => {
      const row = r.rows[s];
      return row.gflops.toFixed(1).padStart(9) + row.builtinGflops.toFixed(1).padStart(10) + (row.gflops / row.builtinGflops).toFixed(1).padStart(7);
    }).join('');
    const ratio = results.length > 1 ? (results[0].rows[s].gflops / results[1].rows[s].gflops).toFixed(2).padStart(9) : '';
    console.log(`${results[0].rows[s].shape.padEnd(32)}${cells}${ratio}`);
  }
  const json = flag('json', '');
  if (json) fs.writeFileSync(json, JSON.stringify(results, null, 2));
}
