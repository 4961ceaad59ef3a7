// The MPI communicator under mpirun, 2 and 4 ranks: every collective's result, a bucket, the
// event loop running during a collective, errors naming the collective and the rank, and a
// rank that never joins named by the others' timeout. Skipped, saying why, where this build
// or machine has no MPI.
import test from 'ava';
import * as path from 'node:path';
import { commInfo, commUnavailable, launchedRanks } from '../lib/core/comm';
import { deviceStatus } from '../lib/core/device';
import { backendInfo } from '../lib/core/info';
import { mpirun, mpiUnavailable } from './_mpi';

const worker = path.join(__dirname, '_comm_worker.js');
const why = mpiUnavailable();
const mpiTest = why ? (title: string, _body: unknown) => test.skip(`${title} (skipped: ${why})`, () => {}) : test.serial;

test('commInfo reports both engines, with a reason where one is not built', (t) => {
  const i = commInfo();
  for (const e of [i.mpi, i.nccl]) t.true(e.built ? typeof e.version === 'string' : e.reason.length > 0);
});

test('launchedRanks reads mpirun, hydra and srun environments, and null outside them', (t) => {
  t.deepEqual(launchedRanks({ OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_RANK: '2', OMPI_COMM_WORLD_LOCAL_RANK: '0' }), { launcher: 'mpirun', size: 4, rank: 2, localRank: 0 });
  t.deepEqual(launchedRanks({ PMI_SIZE: '2', PMI_RANK: '1' }), { launcher: 'hydra', size: 2, rank: 1, localRank: 0 });
  t.deepEqual(launchedRanks({ SLURM_NTASKS: '8', SLURM_PROCID: '7', SLURM_LOCALID: '3' }), { launcher: 'srun', size: 8, rank: 7, localRank: 3 });
  t.is(launchedRanks({ SLURM_NTASKS: '8' }), null);
  t.is(launchedRanks({}), null);
});

// NCCL: one rank per GPU; `npm run test:gpu` runs it where GPUs are present
const ncclWhy = why ?? commUnavailable('nccl') ?? (deviceStatus('cuda:0').usable ? null : `no usable GPU: ${deviceStatus('cuda:0').reason}`);
const gpus = ncclWhy ? 0 : backendInfo().cuda.devices.length;
(ncclWhy ? (title: string) => test.skip(`${title} (skipped: ${ncclWhy})`, () => {}) : test.serial)(`cuda: NCCL, one rank per GPU: the same collectives`, async (t) => {
  const r = await mpirun(gpus, worker, [], { ALEXNET_COMM_ENGINE: 'nccl' });
  t.is(r.code, 0, r.stderr);
  const P = gpus, sumRanks = (P * (P - 1)) / 2;
  t.is(r.lines.length, P);
  for (const [rank, o] of r.lines.entries()) {
    t.deepEqual(o.allreduce, [0, 1, 2].map((i) => 10 * sumRanks + P * i));
    t.deepEqual(o.bucket, [sumRanks / P, (2 * sumRanks) / P, (P + sumRanks) / P]);
    t.deepEqual(o.allgather, Array.from({ length: P }, (_, q) => [q, q + 0.5]).flat());
    t.deepEqual(o.reduceScatter, [0, 1].map((k) => sumRanks + P * (2 * rank + k)));
    t.deepEqual(o.broadcast, [P - 1, P - 1]);
  }
});

for (const ranks of [2, 4]) {
  mpiTest(`${ranks} ranks: allreduce, a bucket, allgather, reduce-scatter, broadcast, barrier`, async (t) => {
    const r = await mpirun(ranks, worker);
    t.is(r.code, 0, r.stderr);
    t.is(r.lines.length, ranks);
    const P = ranks;
    const sumRanks = (P * (P - 1)) / 2;
    for (const [rank, o] of r.lines.entries()) {
      t.is(o.rank, rank);
      t.is(o.size, P);
      t.deepEqual(o.allreduce, [0, 1, 2].map((i) => 10 * sumRanks + P * i));
      t.deepEqual(o.bucket, [sumRanks / P, (2 * sumRanks) / P, (P + sumRanks) / P]);
      t.deepEqual(o.allgather, Array.from({ length: P }, (_, q) => [q, q + 0.5]).flat());
      t.deepEqual(o.reduceScatter, [0, 1].map((k) => sumRanks + P * (2 * rank + k)));
      t.deepEqual(o.broadcast, [P - 1, P - 1]);
      t.deepEqual(o.sum, [P, sumRanks]);
      // rank 0 arrives 300 ms late: the others' event loops kept running while they waited
      if (rank > 0) t.true((o.ticksDuringBarrier as number) >= 10, `rank ${rank}: ${o.ticksDuringBarrier} timer ticks`);
      t.is(o.badSize, `allgather on rank ${rank}: recv holds ${3 * P} elements, not size x send = ${2 * P}`);
    }
  });
}

mpiTest('a rank that never joins a collective is named by the others when it times out, and abort ends the job', async (t) => {
  const r = await mpirun(3, worker, [], { ALEXNET_COMM_CASE: 'stuck', ALEXNET_COMM_TIMEOUT_MS: '2000' });
  t.is(r.code, 3, r.stderr);
  t.true(r.seconds < 15, `${r.seconds} s`);
  const others = r.lines.filter((o) => o.rank !== 1);
  t.true(others.length >= 1, r.stdout);
  for (const o of others)
    t.regex(o.error as string, new RegExp(`^allreduce #1 timed out after 2\\.\\d s on rank ${o.rank} of 3: rank 1 never joined it`));
});
