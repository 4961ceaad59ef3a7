// ONNX Runtime in the peers comparison (benchmarks/peers.ts): our own AlexNet exported to
// ONNX (lib/onnx.ts, the same weights as ours_alexnet.ts builds), run by onnxruntime-node on
// the CPU with `--threads` intra-op threads. Inference only (ONNX Runtime does not train):
// `warmups` untimed runs, then `repeats` timed ones (median), then a second session with
// ONNX Runtime's profiler on, whose per-node kernel times (medians over the profiled runs)
// make the per-layer column.
//   node benchmarks/ort_alexnet.js [--batch 32] [--warmups 2] [--repeats 3] [--threads 2] [--json FILE]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NamedArray } from '../lib/io/safetensors';
import { Network } from '../lib/nn/network';
import { alexnet } from '../lib/nn/spec';
import { exportOnnx } from '../lib/tools/export';
import { flag, median } from './_common';
import { blockOf } from './_peers';

// The part of onnxruntime-node's API used here (its own types need the package present).
interface Session {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[] }>>;
  endProfiling(): void;
  release?(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(file: string, options: Record<string, unknown>): Promise<Session> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
  env: { versions?: { common?: string } };
}

async function main(): Promise<number> {
  const batch = Number(flag('batch', '32'));
  const warmups = Number(flag('warmups', '2'));
  const repeats = Number(flag('repeats', '3'));
  const threads = Number(flag('threads', '2'));
  const jsonOut = flag('json', '');
  if (![batch, repeats, threads].every((v) => Number.isInteger(v) && v > 0) || !Number.isInteger(warmups) || warmups < 0) {
    console.error('usage: node benchmarks/ort_alexnet.js [--batch N] [--warmups N] [--repeats N] [--threads N] [--json FILE]');
    return 2;
  }
  let ort: Ort;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    ort = require('onnxruntime-node') as Ort;
  } catch (err) {
    console.error(`ONNX Runtime skipped: onnxruntime-node could not be loaded (${(err as Error).message.split('\n')[0]})`);
    return 3;
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const version: string = require('onnxruntime-node/package.json').version;

  const config = alexnet();
  const net = new Network(config, { seed: 1 });
  const weights = new Map<string, NamedArray>(net.params().map((p) => [p.name, { shape: [...p.value.shape], data: p.value.toFloat32Array() }]));
  net.dispose();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alexnet-ort-'));
  const model = path.join(dir, 'alexnet.onnx');
  fs.writeFileSync(model, exportOnnx(config, weights));
  weights.clear();

  const xs = new Float32Array(batch * 3 * 227 * 227);
  for (let i = 0; i < xs.length; i++) xs[i] = 50 * Math.sin(i * 12.9898);  // deterministic, pixel-scale
  const options = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const feeds = { input: new ort.Tensor('float32', xs, [batch, 3, 227, 227]) };
  const now = () => Number(process.hrtime.bigint()) / 1e6;

  const session = await ort.InferenceSession.create(model, options);
  const runs: number[] = [];
  for (let r = 0; r < warmups + repeats; r++) {
    const t = now();
    await session.run(feeds);
    if (r >= warmups) runs.push(now() - t);
  }
  await session.release?.();

  // per node: a profiled session (profiling costs a little, so the whole time above is unprofiled)
  const prefix = path.join(dir, 'profile');
  const profiled = await ort.InferenceSession.create(model, { ...options, enableProfiling: true, profileFilePrefix: prefix });
  for (let r = 0; r < 1 + repeats; r++) await profiled.run(feeds);
  profiled.endProfiling();
  await profiled.release?.();
  const file = fs.readdirSync(dir).find((f) => f.startsWith('profile') && f.endsWith('.json'));
  const perRun = new Map<string, number[]>();  // block -> microseconds per run
  const ops = new Map<string, Set<string>>();
  if (file) {
    const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
    // kernel events in run order; a run is a pass over the node list, the first one is a warm-up
    const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
    const perPass = kernels.length / (1 + repeats);
    kernels.forEach((e, i) => {
      const run = Math.floor(i / perPass);
      if (run === 0) return;
      const b = blockOf(e.name.replace(/_kernel_time$/, ''));
      const list = perRun.get(b) ?? new Array(repeats).fill(0);
      list[run - 1] += e.dur;
      perRun.set(b, list);
      if (!ops.has(b)) ops.set(b, new Set());
      ops.get(b)!.add(e.args?.op_name ?? '?');
    });
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const layers = [...perRun].map(([block, us]) => ({ block, infer_ms: median(us) / 1000, ops: [...ops.get(block)!] }));
  const inferMs = median(runs);
  const result = {
    system: 'onnxruntime', version, batch, warmups, repeats, threads, infer_ms: inferMs, infer_runs_ms: runs,
    infer_images_per_s: (batch * 1000) / inferMs, peak_rss_mib: process.resourceUsage().maxRSS / 1024, layers,
  };
  console.log(`onnxruntime-node ${version} (cpu, ${threads} intra-op threads, batch ${batch}): inference ${inferMs.toFixed(1)} ms = ${result.infer_images_per_s.toFixed(1)} img/s` +
    `${layers.length ? '' : ' (no profile written: no per-node times)'}`);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(result, null, 2));
  return 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(1);
});
