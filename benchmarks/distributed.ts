// Distributed training on this machine: per step, compute time, communication time and how
// much of the communication was hidden behind backward, for data-parallel and hybrid at 2 and
// 4 ranks under mpirun (CPU, MPI), beside one process on the same global batch in the same
// run; and the bytes each rank gave its collectives, beside the model of lib/train/traffic.ts.
// Medians over the steps after a warm-up step. All ranks share this machine's cores, so the
// absolute times say little: the ratios and the overlap are the point.
//   node benchmarks/distributed.js [--batch 32] [--steps 4] [--width 0.25] [--crop 227] [--ranks 2,4] [--json FILE]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Communicator } from '../lib/core/comm';
import { backendInfo } from '../lib/core/info';
import { Tensor } from '../lib/core/tensor';
import { Batch } from '../lib/data/loader';
import { buildNetwork } from '../lib/nn/build';
import { SoftmaxCrossEntropy } from '../lib/nn/layers';
import { Network } from '../lib/nn/network';
import { alexnet } from '../lib/nn/spec';
import { DataParallel, DistributedStep, trainStepDistributed, trainStepHybrid } from '../lib/train/distributed';
import { HybridParallel } from '../lib/train/hybrid';
import { trainStepOn } from '../lib/train/loop';
import { Sgd } from '../lib/train/optim';
import { parallelTraffic } from '../lib/train/traffic';
import { flag, median } from './_common';

const batch = Number(flag('batch', '32'));
const steps = Number(flag('steps', '4'));
const width = Number(flag('width', '0.25'));
const crop = Number(flag('crop', '227'));
const ranksList = flag('ranks', '2,4').split(',').map(Number);
const jsonOut = flag('json', '');
const scheme = flag('worker', '');
const config = alexnet({ width, crop, classes: 1000 });

function images(n: number, seed: number): Float32Array {
  const out = new Float32Array(n * 3 * crop * crop);
  let s = seed;
  for (let i = 0; i < out.length; i++) out[i] = ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 2;
  return out;
}

async function worker(kind: 'data' | 'hybrid'): Promise<void> {
  const comm = await Communicator.open('mpi', { timeoutMs: 600_000 });
  const n = batch / comm.size;
  const net = buildNetwork(config, 1, 'cpu') as Network;
  const model = kind === 'hybrid' ? new HybridParallel(net, comm) : new DataParallel(net, comm);
  const sgd = new Sgd(model.params(), { lr: 0.001, momentum: 0.9, weightDecay: 0.0005 });
  const xent = new SoftmaxCrossEntropy();
  const all = images(batch, 7);
  const labels = Int32Array.from({ length: n }, (_, i) => (comm.rank * n + i) % 1000);
  const b: Batch = {
    images: all.subarray(comm.rank * n * 3 * crop * crop, (comm.rank + 1) * n * 3 * crop * crop), shape: [n, 3, crop, crop],
    labels, indices: new Int32Array(n), epoch: 0, batch: 0, rows: { start: comm.rank * n, total: batch },
  };
  const times: DistributedStep['times'][] = [];
  for (let s = 0; s <= steps; s++) {
    const wall = performance.now();
    const o = { seed: 1, step: s, lr: 0.001, stop: false };
    const r = model instanceof HybridParallel ? await trainStepHybrid(model, sgd, xent, b, o) : await trainStepDistributed(model, sgd, xent, b, o);
    if (s > 0) times.push({ ...r.times, wall: (performance.now() - wall) / 1000 } as DistributedStep['times']);
  }
  const med = (k: string) => median(times.map((t) => (t as unknown as Record<string, number>)[k]));
  // every rank's medians to rank 0, which prints the slowest rank's (the step waits for it)
  const mine = [med('wall'), med('compute'), med('comm'), med('exposed'), times[0].bytes];
  const gathered = Tensor.zeros([mine.length * comm.size]);
  await comm.allgather(Tensor.fromArray(mine, [mine.length]), gathered);
  if (comm.rank === 0) {
    const g = gathered.toFloat32Array();
    const col = (j: number) => Array.from({ length: comm.size }, (_, r) => g[r * mine.length + j]);
    console.log(JSON.stringify({ scheme: kind, ranks: comm.size, wall: Math.max(...col(0)), compute: Math.max(...col(1)), comm: Math.max(...col(2)), exposed: Math.max(...col(3)), bytes: col(4)[0] }));
  }
  xent.dispose();
  sgd.dispose();
  model.dispose();
  await comm.close();
}

function single(): number {
  const net = buildNetwork(config, 1, 'cpu');
  const sgd = new Sgd(net.params(), { lr: 0.001, momentum: 0.9, weightDecay: 0.0005 });
  const xent = new SoftmaxCrossEntropy();
  const x = Tensor.fromArray(images(batch, 7), [batch, 3, crop, crop]);
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 1000);
  const t: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const start = performance.now();
    trainStepOn(net, sgd, xent, x, labels, { seed: 1, step: s, lr: 0.001 });
    if (s > 0) t.push((performance.now() - start) / 1000);
  }
  return median(t);
}

async function main(): Promise<void> {
  if (scheme === 'data' || scheme === 'hybrid') return worker(scheme);
  const info = backendInfo();
  if (!info.comm.mpi.built) {
    console.error(`benchmarks/distributed: ${info.comm.mpi.reason}`);
    process.exit(2);
  }
  console.log(`AlexNet width ${width}, crop ${crop}, global batch ${batch}, ${steps} steps after a warm-up; ${os.cpus().length} CPUs (${os.cpus()[0].model}); ${info.comm.mpi.version}`);
  const one = single();
  console.log(`1 process: ${one.toFixed(3)} s per step`);
  const rows: Record<string, number | string>[] = [];
  for (const kind of ['data', 'hybrid'] as const)
    for (const P of ranksList) {
      const r = spawnSync('mpirun', ['--oversubscribe', '--bind-to', 'none', '-np', String(P), process.execPath, __filename, '--worker', kind,
        '--batch', String(batch), '--steps', String(steps), '--width', String(width), '--crop', String(crop)], {
        encoding: 'utf8', env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' },
      });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      if (r.status !== 0 || !line) throw new Error(`${kind} at ${P} ranks failed: ${r.stderr}`);
      const m = JSON.parse(line);
      const model = parallelTraffic(config, batch, P)[kind];
      rows.push({ ...m, hidden: m.comm > 0 ? Math.max(0, m.comm - m.exposed) / m.comm : 0, vsOne: m.wall / one, modelPayload: model.payload, modelWire: model.wire });
    }
  console.log('\nscheme  ranks  step s  x 1 proc  compute s  comm s  exposed s  hidden  payload MB measured  model    wire MB (model)');
  for (const r of rows)
    console.log(`${String(r.scheme).padEnd(7)} ${String(r.ranks).padStart(5)} ${(r.wall as number).toFixed(3).padStart(7)} ${(r.vsOne as number).toFixed(2).padStart(9)} ` +
      `${(r.compute as number).toFixed(3).padStart(10)} ${(r.comm as number).toFixed(3).padStart(7)} ${(r.exposed as number).toFixed(3).padStart(10)} ${(100 * (r.hidden as number)).toFixed(0).padStart(6)}% ` +
      `${((r.bytes as number) / 1e6).toFixed(3).padStart(17)} ${((r.modelPayload as number) / 1e6).toFixed(3).padStart(8)} ${((r.modelWire as number) / 1e6).toFixed(3).padStart(10)}`);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ batch, steps, width, crop, one, rows }, null, 2));
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
