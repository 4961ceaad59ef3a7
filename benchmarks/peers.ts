// The paper's AlexNet on the CPU: ours beside PyTorch and ONNX Runtime, at several batch
// sizes, whole and per layer, in one run on one machine. Each system runs in its own process,
// one after the other at each batch size (so none's threads spin while another is timed):
//   ours         benchmarks/ours_alexnet.js   training step and inference, per layer
//   PyTorch      benchmarks/torch_alexnet.py  training step and inference, per layer; the
//                Python is --python, else $ALEXNET_TORCH_PYTHON, else python3 (a virtual
//                environment with the torch wheel: see benchmarks/RESULTS.md)
//   ONNX Runtime benchmarks/ort_alexnet.js    onnxruntime-node on our exported ONNX, inference,
//                per node from its profiler
// A peer that is absent is skipped, saying why. Prints the tables and writes --json.
//   node benchmarks/peers.js [--batches 1,32,128] [--warmups 2] [--repeats 3] [--threads 2]
//     [--python PATH] [--rounds 1] [--json bench-results/peers.json]
//   node benchmarks/peers.js --from bench-results/peers.json   (the tables again, from a run's JSON)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { alexnet } from '../lib/nn/spec';
import { flag, median } from './_common';
import { blockOf, blocks, layerFlops } from './_peers';

const batches = flag('batches', '1,32,128').split(',').map(Number);
const warmups = flag('warmups', '2');
const repeats = flag('repeats', '3');
const threads = flag('threads', '2');
const rounds = Number(flag('rounds', '1'));
const python = flag('python', process.env.ALEXNET_TORCH_PYTHON || 'python3');
const jsonOut = flag('json', path.join('bench-results', 'peers.json'));
if (!batches.every((b) => Number.isInteger(b) && b > 0) || !Number.isInteger(rounds) || rounds <= 0) {
  console.error('usage: node benchmarks/peers.js [--batches 1,32,128] [--warmups N] [--repeats N] [--threads N] [--python PATH] [--rounds N] [--json FILE]');
  process.exit(2);
}
fs.mkdirSync(path.dirname(jsonOut), { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alexnet-peers-'));
const here = __dirname;

/** Runs one system; its JSON, or null with the reason printed. */
function run(cmd: string, args: string[], what: string, env: NodeJS.ProcessEnv = process.env): any | null {
  const json = path.join(tmp, `${what.replace(/\W+/g, '-')}.json`);
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, [...args, '--json', json], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', env });
  // PyTorch warns about a missing NumPy it does not need here; the rest of stderr is shown
  const err = (r.stderr ?? '').split('\n').filter((l) => l && !/NumPy|_conversion_method_template/.test(l)).join('\n');
  if (err) console.log(err);
  if (r.status !== 0 || !fs.existsSync(json)) {
    console.log(`(${what} skipped: ${cmd} exited with ${r.status ?? r.signal}${r.error ? `: ${r.error.message}` : ''})`);
    return null;
  }
  return JSON.parse(fs.readFileSync(json, 'utf8'));
}

// Is there a PyTorch to compare with?
let torchMissing = '';
if (!process.argv.includes('--from')) {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.status !== 0) torchMissing = `${python} cannot import torch (${(r.error?.message ?? r.stderr.trim().split('\n').pop() ?? '').slice(0, 120)}); ` +
    'point --python or $ALEXNET_TORCH_PYTHON at a Python that has it (benchmarks/RESULTS.md says how the venv was made)';
}
if (torchMissing) console.log(`PyTorch skipped: ${torchMissing}`);

type Runs = { ours: any[]; torch: any[]; ort: any[] };
const results = new Map<number, Runs>(batches.map((b) => [b, { ours: [], torch: [], ort: [] }]));
const save = (extra: object = {}) => fs.writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), host: os.cpus()[0]?.model,
  threads: Number(threads), warmups: Number(warmups), repeats: Number(repeats), rounds,
  pytorch: torchMissing ? { skipped: torchMissing } : { python }, ...extra, raw: Object.fromEntries(results) }, null, 2));
// --from FILE: the tables of an earlier run's JSON (its raw results), nothing measured
const from = flag('from', '');
if (from) {
  results.clear();
  for (const [b, r] of Object.entries(JSON.parse(fs.readFileSync(from, 'utf8')).raw as Record<string, Runs>)) results.set(Number(b), r);
}
for (let round = 0; round < (from ? 0 : rounds); round++) {
  for (const batch of batches) {
    const common = ['--batch', String(batch), '--warmups', warmups, '--repeats', repeats];
    const res = results.get(batch)!;
    const ours = run(process.execPath, [path.join(here, 'ours_alexnet.js'), ...common], `ours-${batch}`);
    if (ours) res.ours.push(ours);
    const ort = run(process.execPath, [path.join(here, 'ort_alexnet.js'), ...common, '--threads', threads], `ort-${batch}`);
    if (ort) res.ort.push(ort);
    if (!torchMissing) {
      const torch = run(python, [path.join(here, 'torch_alexnet.py'), ...common, '--threads', threads, '--layers', '--all-layers'], `torch-${batch}`,
        { ...process.env, OMP_NUM_THREADS: threads });
      if (torch) res.torch.push(torch);
    }
    save({ partial: true });  // what there is so far, should the run be cut short
  }
}
fs.rmSync(tmp, { recursive: true, force: true });

// ---------------------------------------------------------------- tables
const config = alexnet();
const flops = new Map<string, number>();
for (const l of layerFlops(config)) flops.set(blockOf(l.layer), (flops.get(blockOf(l.layer)) ?? 0) + l.flops);
const rows = blocks(config);
const med = (xs: any[], key: string): number | null => (xs.length ? median(xs.map((x) => x[key])) : null);
const f = (v: number | null, digits = 1, width = 9) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits)).padStart(width);
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null ? a / b : null);
const torchVersion = [...results.values()].find((r) => r.torch.length)?.torch[0].version ?? '-';
const ortVersion = [...results.values()].find((r) => r.ort.length)?.ort[0].version ?? '-';
const oursInfo = [...results.values()].find((r) => r.ours.length)?.ours[0];

const summary: any[] = [];
console.log(`\nAlexNet (the paper's, grouped LRN), CPU, ${threads} threads; images/s, median of ${repeats} after ${warmups} warm-ups${rounds > 1 ? `, median over ${rounds} rounds` : ''}`);
console.log(`ours: GEMM ${oursInfo?.gemm ?? oursInfo?.blas ?? '-'}, convolutions ${oursInfo?.convAlgorithm ?? '-'}, BLAS ${oursInfo?.blas ?? '-'}; PyTorch ${torchVersion}; onnxruntime-node ${ortVersion}`);
console.log(`${'batch'.padEnd(6)}${'what'.padEnd(11)}${'ours'.padStart(9)}${'pytorch'.padStart(9)}${'onnxrt'.padStart(9)}${'ours/pt'.padStart(9)}${'ours/ort'.padStart(9)}`);
for (const [batch, r] of results) {
  const ips = (xs: any[], key: string) => { const ms = med(xs, key); return ms === null ? null : (batch * 1000) / ms; };
  const train = { ours: ips(r.ours, 'train_ms'), pytorch: ips(r.torch, 'train_ms'), onnxruntime: null };
  const infer = { ours: ips(r.ours, 'infer_ms'), pytorch: ips(r.torch, 'infer_ms'), onnxruntime: ips(r.ort, 'infer_ms') };
  for (const [what, v] of [['train step', train], ['inference', infer]] as const) {
    console.log(`${String(batch).padEnd(6)}${what.padEnd(11)}${f(v.ours)}${f(v.pytorch)}${f(v.onnxruntime)}${f(ratio(v.ours, v.pytorch), 2)}${f(ratio(v.ours, v.onnxruntime), 2)}`);
    summary.push({ batch, what, images_per_s: v, ours_over_pytorch: ratio(v.ours, v.pytorch), ours_over_onnxruntime: ratio(v.ours, v.onnxruntime) });
  }
}

const perLayer: any[] = [];
for (const [batch, r] of results) {
  // ms per block, summed over its layers (or ONNX Runtime's nodes), median over rounds
  const sum = (runs: any[], list: (x: any) => { name: string; ms: number }[]) => {
    const out = new Map<string, number>();
    if (!runs.length) return out;
    const per = runs.map((x) => {
      const m = new Map<string, number>();
      for (const { name, ms } of list(x)) m.set(blockOf(name), (m.get(blockOf(name)) ?? 0) + ms);
      return m;
    });
    for (const k of new Set(per.flatMap((m) => [...m.keys()]))) out.set(k, median(per.map((m) => m.get(k) ?? 0)));
    return out;
  };
  const oursInfer = sum(r.ours, (x) => x.layers.map((l: any) => ({ name: l.layer, ms: l.infer_ms })));
  const oursTrain = sum(r.ours, (x) => x.layers.map((l: any) => ({ name: l.layer, ms: l.train_forward_ms + l.train_backward_ms })));
  const ortInfer = sum(r.ort, (x) => x.layers.map((l: any) => ({ name: l.block, ms: l.infer_ms })));
  const torchInfer = sum(r.torch, (x) => x.layers.map((l: any) => ({ name: l.layer, ms: l.infer_ms ?? NaN })));
  const torchTrain = sum(r.torch, (x) => x.layers.map((l: any) => ({ name: l.layer, ms: l.forward_ms + l.backward_ms })));
  const extra = [...ortInfer.keys()].filter((k) => !rows.includes(k));  // ONNX Runtime's layout reorders, softmax
  console.log(`\nper layer, batch ${batch}: ms (inference: ours, ONNX Runtime's profiled nodes, PyTorch no_grad; training: forward + backward);` +
    `\n'vs': the peer's time / ours (above 1: ours is faster);` +
    `\nan activation is counted with the layer before it (ONNX Runtime fuses them); GFLOP/s = direct-convolution FLOPs / time`);
  console.log(`${'layer'.padEnd(10)}${'ours'.padStart(9)}${'onnxrt'.padStart(9)}${'pytorch'.padStart(9)}${'vs ort'.padStart(7)}` +
    `${'GF/s'.padStart(7)}${'ortGF/s'.padStart(8)}${'| train'.padStart(10)}${'pytorch'.padStart(9)}${'vs pt'.padStart(7)}`);
  for (const b of [...rows, ...extra]) {
    const fl = (flops.get(b) ?? 0) * batch;
    const gf = (ms: number | undefined) => (fl && ms ? fl / ms / 1e6 : null);
    const oi = oursInfer.get(b) ?? null, oi2 = ortInfer.get(b) ?? null, ti = torchInfer.get(b) ?? null;
    const ot = oursTrain.get(b) ?? null, tt = torchTrain.get(b) ?? null;
    console.log(`${b.padEnd(10)}${f(oi, 2)}${f(oi2, 2)}${f(ti, 2)}${f(ratio(oi2, oi), 2, 7)}${f(gf(oi ?? undefined), 0, 7)}${f(gf(oi2 ?? undefined), 0, 8)}` +
      `${f(ot, 1, 10)}${f(tt, 1)}${f(ratio(tt, ot), 2, 7)}`);
    perLayer.push({ batch, layer: b, forward_gflop: fl / 1e9, ours_infer_ms: oi, onnxruntime_infer_ms: oi2, pytorch_infer_ms: ti, ours_train_ms: ot, pytorch_train_ms: tt });
  }
}
if (!from) {
  save({ pytorch_version: torchVersion, onnxruntime: ortVersion, summary, per_layer: perLayer });
  console.log(`\nwritten: ${jsonOut}`);
}
