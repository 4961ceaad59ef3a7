// The GPU benchmarks in one run: per-layer forward and backward times at AlexNet's shapes on
// `cuda` (our kernels) beside `cudnn` (cuDNN's), the whole training step and inference on
// both and in PyTorch on the same card, achieved TFLOP/s against the card's FP32 rate.
// Our CUDA kernels are timed once per GEMM version (ALEXNET_GEMM = v1, v2, tf32, 3xtf32; the
// tensor-core ones where the card is sm_80 or newer), PyTorch in FP32 and with TF32.
// Prints the tables and writes gpu.json and gpu.md (the markdown for RESULTS.md) into --out.
//   node benchmarks/gpu.js [--batch 128] [--repeats 5] [--gpu 0] [--out bench-results/gpu] [--python python3]
// benchmarks/gpu.sh runs this after building with cuDNN and running the GPU tests.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deviceStatus } from '../lib/core/device';
import { backendInfo } from '../lib/core/info';
import { flag } from './_common';

const batch = flag('batch', '128');
const repeats = flag('repeats', '5');
const gpu = flag('gpu', '0');
const out = flag('out', path.join('bench-results', 'gpu'));
const python = flag('python', 'python3');
fs.mkdirSync(out, { recursive: true });

const info = backendInfo();
const status = deviceStatus(`cuda:${gpu}`);
if (!status.usable) {
  console.log(`gpu benchmarks skipped: ${status.reason}`);
  process.exit(0);
}
const card = info.cuda.devices[Number(gpu)];
const haveCudnn = deviceStatus(`cudnn:${gpu}`).usable;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  console.log(`$ ${env.ALEXNET_GEMM ? `ALEXNET_GEMM=${env.ALEXNET_GEMM} ` : ''}${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', timeout: 300_000, env });
  if (r.status !== 0) console.log(`(${cmd} exited with ${r.status ?? r.signal}${r.error ? `: ${r.error.message}` : ''})`);
  return r.status === 0;
}
const readJson = (file: string) => (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined);
const here = __dirname;

interface OpRow { op: string; shape: string; ms: number; gflops: number }
const opsOf: Record<string, OpRow[]> = {};
const stepOf: Record<string, Record<string, number>> = {};
// `cuda` is the default GEMM version (v1), `cuda-v2` ... the others; `cudnn` is cuDNN's own
const tensorCores = Number(card.computeCapability.split('.')[0]) >= 8;
const versions = ['v1', 'v2', ...(tensorCores ? ['tf32', '3xtf32'] : [])];
const runs = [...versions.map((v) => ({ kind: v === 'v1' ? 'cuda' : `cuda-${v}`, device: `cuda:${gpu}`, gemm: v })),
  ...(haveCudnn ? [{ kind: 'cudnn', device: `cudnn:${gpu}`, gemm: 'v1' }] : [])];
for (const { kind, device, gemm } of runs) {
  const env = { ...process.env, ALEXNET_GEMM: gemm };
  const opsJson = path.join(out, `ops-${kind}.json`), stepJson = path.join(out, `step-${kind}.json`);
  if (run(process.execPath, [path.join(here, 'ops.js'), '--batch', batch, '--repeats', repeats, '--device', device, '--json', opsJson], env))
    opsOf[kind] = readJson(opsJson).rows;
  if (run(process.execPath, [path.join(here, 'step.js'), '--batch', batch, '--repeats', repeats, '--device', device, '--json', stepJson], env))
    stepOf[kind] = readJson(stepJson);
}
const torchRun = (precision: string) => {
  const file = path.join(out, `step-pytorch${precision === 'fp32' ? '' : `-${precision}`}.json`);
  return run(python, [path.join(here, 'torch_alexnet.py'), '--device', 'cuda', '--batch', batch, '--repeats', repeats, '--layers', '--precision', precision, '--json', file])
    ? readJson(file) : undefined;
};
const torch = torchRun('fp32');
const torchTf32 = tensorCores ? torchRun('tf32') : undefined;

const md: string[] = [];
const peak = card.fp32PeakTflops;
md.push(`${card.name} (sm_${card.computeCapability.replace('.', '')}, ${card.multiprocessors} SMs, ${card.clockMHz} MHz, FP32 peak ${peak.toFixed(1)} TFLOP/s), batch ${batch}, median of ${repeats} after a warm-up${haveCudnn ? `, cuDNN ${info.cudnn.version}` : ', cuDNN not built'}.`);
md.push('');
md.push('| op | shape | ours ms | ours GFLOP/s | cuDNN ms | cuDNN GFLOP/s | ours / cuDNN time | PyTorch ms |');
md.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const torchLayer = (op: string): string => {
  const [layer, dir] = op.split(' ');
  const l = torch?.layers?.find((x: { layer: string }) => x.layer === layer);
  if (!l) return '-';
  return (dir === 'forward' ? l.forward_ms : l.backward_ms).toFixed(2);
};
for (const r of opsOf.cuda ?? []) {
  const c = opsOf.cudnn?.find((x) => x.op === r.op);
  const g = (v: number) => (v ? v.toFixed(0) : '-');
  md.push(`| ${r.op} | ${r.shape} | ${r.ms.toFixed(2)} | ${g(r.gflops)} | ${c ? c.ms.toFixed(2) : '-'} | ${c ? g(c.gflops) : '-'} | ${c ? (r.ms / c.ms).toFixed(2) : '-'} | ${torchLayer(r.op)} |`);
}
md.push('');
md.push('| whole AlexNet | training images/s | training TFLOP/s (% of peak) | inference images/s | inference TFLOP/s (% of peak) |');
md.push('| --- | ---: | ---: | ---: | ---: |');
const pct = (tflops: number) => `${tflops.toFixed(2)} (${((100 * tflops) / peak).toFixed(0)}%)`;
const macsPerImage = stepOf.cuda?.forward_gmacs_per_image ?? 0.724;
for (const [name, s] of [['ours (cuda)', stepOf.cuda], ['ours (cudnn)', stepOf.cudnn]] as const)
  if (s) md.push(`| ${name} | ${s.train_images_per_s.toFixed(0)} | ${pct(s.train_gflops / 1000)} | ${s.infer_images_per_s.toFixed(0)} | ${pct(s.infer_gflops / 1000)} |`);
if (torch) {
  const tflops = (imagesPerS: number, factor: number) => (imagesPerS * macsPerImage * factor) / 1000;
  md.push(`| PyTorch ${torch.version} (cuDNN ${torch.cudnn}) | ${torch.train_images_per_s.toFixed(0)} | ${pct(tflops(torch.train_images_per_s, 6))} | ${torch.infer_images_per_s.toFixed(0)} | ${pct(tflops(torch.infer_images_per_s, 2))} |`);
}
// every GEMM version beside cuDNN, per op, and the targets of issue 15
md.push('');
md.push(`| op | ${versions.map((v) => `${v} ms`).join(' | ')} | cuDNN ms | v2 speed-up over v1 | 3xtf32 / cuDNN time |`);
md.push(`| --- | ${versions.map(() => '---:').join(' | ')} | ---: | ---: | ---: |`);
for (const r of opsOf.cuda ?? []) {
  const ms = (kind: string) => opsOf[kind]?.find((x) => x.op === r.op)?.ms;
  const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));
  const v2 = ms('cuda-v2'), x3 = ms('cuda-3xtf32'), dnn = ms('cudnn');
  md.push(`| ${r.op} | ${versions.map((v) => fmt(ms(v === 'v1' ? 'cuda' : `cuda-${v}`))).join(' | ')} | ${fmt(dnn)} | ${v2 ? (r.ms / v2).toFixed(2) : '-'} | ${x3 && dnn ? (x3 / dnn).toFixed(2) : '-'} |`);
}
md.push('');
md.push('| whole AlexNet training step | images/s |');
md.push('| --- | ---: |');
for (const v of versions) {
  const s = stepOf[v === 'v1' ? 'cuda' : `cuda-${v}`];
  if (s) md.push(`| ours, GEMM ${v} | ${s.train_images_per_s.toFixed(0)} |`);
}
if (stepOf.cudnn) md.push(`| ours on cuDNN (FP32) | ${stepOf.cudnn.train_images_per_s.toFixed(0)} |`);
if (torch) md.push(`| PyTorch, FP32 | ${torch.train_images_per_s.toFixed(0)} |`);
if (torchTf32) md.push(`| PyTorch, TF32 | ${torchTf32.train_images_per_s.toFixed(0)} |`);
const text = md.join('\n');
console.log(`\n${text}`);
fs.writeFileSync(path.join(out, 'gpu.md'), `${text}\n`);
fs.writeFileSync(path.join(out, 'gpu.json'), JSON.stringify({ card, cudnn: info.cudnn, batch, repeats, versions, ops: opsOf, step: stepOf, pytorch: torch, pytorch_tf32: torchTf32 }, null, 2));
