// The GPU benchmarks in one run: per-layer forward and backward times at AlexNet's shapes on
// `cuda` (our kernels) beside `cudnn` (cuDNN's), the whole training step and inference on
// both and in PyTorch on the same card, achieved TFLOP/s against the card's FP32 rate.
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

function run(cmd: string, args: string[]): boolean {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', timeout: 300_000 });
  if (r.status !== 0) console.log(`(${cmd} exited with ${r.status ?? r.signal}${r.error ? `: ${r.error.message}` : ''})`);
  return r.status === 0;
}
const readJson = (file: string) => (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined);
const here = __dirname;

interface OpRow { op: string; shape: string; ms: number; gflops: number }
const opsOf: Record<string, OpRow[]> = {};
const stepOf: Record<string, Record<string, number>> = {};
for (const kind of ['cuda', ...(haveCudnn ? ['cudnn'] : [])]) {
  const device = `${kind}:${gpu}`;
  const opsJson = path.join(out, `ops-${kind}.json`), stepJson = path.join(out, `step-${kind}.json`);
  if (run(process.execPath, [path.join(here, 'ops.js'), '--batch', batch, '--repeats', repeats, '--device', device, '--json', opsJson]))
    opsOf[kind] = readJson(opsJson).rows;
  if (run(process.execPath, [path.join(here, 'step.js'), '--batch', batch, '--repeats', repeats, '--device', device, '--json', stepJson]))
    stepOf[kind] = readJson(stepJson);
}
const torchJson = path.join(out, 'step-pytorch.json');
const torch = run(python, [path.join(here, 'torch_alexnet.py'), '--device', 'cuda', '--batch', batch, '--repeats', repeats, '--layers', '--json', torchJson])
  ? readJson(torchJson) : undefined;

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
const text = md.join('\n');
console.log(`\n${text}`);
fs.writeFileSync(path.join(out, 'gpu.md'), `${text}\n`);
fs.writeFileSync(path.join(out, 'gpu.json'), JSON.stringify({ card, cudnn: info.cudnn, batch, repeats, ops: opsOf, step: stepOf, pytorch: torch }, null, 2));
