// `npm run bench -- [--suite peers|ops|step|data|columns|all] [--batch N] [--repeats N] [--device cpu] [--out DIR]`
//   peers (the default) the paper's AlexNet at batch 1, 32 and 128 (--batches), whole and per
//         layer: ours beside PyTorch (--python, or $ALEXNET_TORCH_PYTHON: a Python with torch)
//         and ONNX Runtime (onnxruntime-node on our exported ONNX) (benchmarks/peers.ts)
//   ops   per-op timings at AlexNet's shapes, ours, beside an SGEMM ceiling (benchmarks/ops.ts)
//   step  the whole AlexNet, training step and inference, ours beside PyTorch on the same
//         machine in the same run (benchmarks/step.ts, benchmarks/torch_alexnet.py), with ratios
//   data  the data pipeline's images/s (benchmarks/data.ts)
//   columns  a training step on one device beside the paper's two columns on two devices
//         (--split cpu,cpu by default), and the bytes the columns copy (benchmarks/columns.ts)
// Each suite prints a table and writes JSON into --out (default bench-results/).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flag } from './_common';

const suite = flag('suite', 'peers');
const batch = flag('batch', suite === 'ops' || suite === 'columns' ? '16' : '128');
const repeats = flag('repeats', '3');
const device = flag('device', 'cpu');
const out = flag('out', 'bench-results');
const threads = flag('threads', '2');
const python = flag('python', process.env.ALEXNET_TORCH_PYTHON || (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'));
fs.mkdirSync(out, { recursive: true });

function run(cmd: string, args: string[]): boolean {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) console.log(`(${cmd} exited with ${r.status ?? r.signal}${r.error ? `: ${r.error.message}` : ''})`);
  return r.status === 0;
}

const here = __dirname;
const suites = suite === 'all' ? ['peers', 'ops', 'data', 'columns'] : [suite];
for (const s of suites) {
  if (s === 'peers') {
    run(process.execPath, [path.join(here, 'peers.js'), '--batches', flag('batches', '1,32,128'), '--warmups', flag('warmups', '2'),
      '--repeats', repeats, '--threads', threads, '--rounds', flag('rounds', '1'), '--python', python, '--json', path.join(out, 'peers.json')]);
  } else if (s === 'ops') {
    run(process.execPath, [path.join(here, 'ops.js'), '--batch', batch, '--repeats', repeats, '--device', device, '--json', path.join(out, 'ops.json')]);
  } else if (s === 'step') {
    const ours = path.join(out, 'step-ours.json'), torch = path.join(out, 'step-pytorch.json');
    run(process.execPath, [path.join(here, 'step.js'), '--batch', batch, '--repeats', repeats, '--device', device, '--json', ours]);
    const haveTorch = run(python, [path.join(here, 'torch_alexnet.py'), '--batch', batch, '--repeats', repeats, '--threads', threads, '--layers', '--json', torch]);
    if (!haveTorch) {
      console.log(`PyTorch baseline skipped: ${python} could not run it (Debian: apt-get install python3-torch)`);
      continue;
    }
    const a = JSON.parse(fs.readFileSync(ours, 'utf8')), b = JSON.parse(fs.readFileSync(torch, 'utf8'));
    const rows = [
      ['training step, images/s', a.train_images_per_s, b.train_images_per_s],
      ['inference, images/s', a.infer_images_per_s, b.infer_images_per_s],
      ['peak resident memory, MiB', a.peak_rss_mib, b.peak_rss_mib],
    ];
    console.log(`\nAlexNet, batch ${batch}, ${device}: ours vs PyTorch ${b.version} (${b.threads} threads)`);
    console.log(`${''.padEnd(28)}${'ours'.padStart(10)}${'pytorch'.padStart(10)}${'ratio'.padStart(8)}`);
    for (const [name, x, y] of rows) console.log(`${String(name).padEnd(28)}${Number(x).toFixed(1).padStart(10)}${Number(y).toFixed(1).padStart(10)}${(Number(x) / Number(y)).toFixed(2).padStart(8)}`);
    console.log(`ours: ${a.train_gflops.toFixed(0)} GFLOP/s training, ${a.infer_gflops.toFixed(0)} GFLOP/s inference, SGEMM ceiling ${a.sgemm_gflops.toFixed(0)} GFLOP/s (same run)`);
    fs.writeFileSync(path.join(out, 'step.json'), JSON.stringify({ ours: a, pytorch: b }, null, 2));
  } else if (s === 'data') {
    run(process.execPath, [path.join(here, 'data.js'), '--images', '600', '--seconds', '6', '--workers', '0,1,2', '--dir', path.join(out, 'data')]);
  } else if (s === 'columns') {
    const split = flag('split', '');
    run(process.execPath, [path.join(here, 'columns.js'), '--batch', batch, '--repeats', repeats, '--device', device,
      ...(split ? ['--split', split] : []), '--json', path.join(out, 'columns.json')]);
  } else {
    console.error(`unknown suite ${JSON.stringify(s)}: peers, ops, step, data, columns or all`);
    process.exit(2);
  }
}
