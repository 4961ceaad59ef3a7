// Data-parallel training: the pieces that make N ranks equal one process (the loader's shards,
// dropout masks that depend on an image's place in the global batch, not on the rank count),
// then whole runs under mpirun: 2, 3 and 4 ranks end with the weights of 1 process, a checkpoint
// written by 2 ranks resumes under 1 and under 4 to the uninterrupted result, and a killed
// rank ends the job with a message naming it and leaves the last checkpoint intact. The
// mpirun cases are skipped, saying why, where this build or machine has no MPI.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor } from '../lib/core/tensor';
import { DataLoader } from '../lib/data/loader';
import { readSafetensorsFile } from '../lib/io/safetensors';
import { Dropout } from '../lib/nn/layers';
import { loadCheckpoint } from '../lib/train/checkpoint';
import { preparedGradients } from './data/_fixtures';
import { mpirun, mpiUnavailable } from './_mpi';

const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alexnet-dist-${name}-`));
const why = mpiUnavailable();
const mpiTest = why ? (title: string, _body: unknown) => test.skip(`${title} (skipped: ${why})`, () => {}) : test.serial;

// 32 train and 12 val images of 76x76 in 4 classes; the narrow AlexNet of train.test.ts, with dropout
const data = preparedGradients(76, 32, 12, 4);
const trainArgs = (out: string, epochs: number, extra: string[] = []) => [
  'train', '--data', data, '--out', out, '--width', '0.1', '--crop', '67', '--init', 'he', '--input-scale', '0.015625',
  '--batch-size', '8', '--epochs', String(epochs), '--lr', '0.01', '--seed', '7', '--workers', '0', '--device', 'cpu', '--schedule', 'fixed', ...extra,
];

function one(args: string[]): void {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`train failed: ${r.stderr}`);
}

function weights(file: string): Map<string, Float32Array> {
  return new Map([...readSafetensorsFile(file).tensors].map(([k, v]) => [k, v.data]));
}

/** The largest |a - b| / (1e-3 + |a|) over every tensor of two checkpoints (weights and velocities). */
function maxRelDiff(a: string, b: string): { diff: number; name: string } {
  const wa = weights(a), wb = weights(b);
  let diff = 0, name = '';
  for (const [k, va] of wa) {
    const vb = wb.get(k);
    if (!vb) return { diff: Infinity, name: `${k} missing` };
    for (let i = 0; i < va.length; i++) {
      const d = Math.abs(va[i] - vb[i]) / (1e-3 + Math.abs(va[i]));
      if (!(d <= diff)) ({ diff, name } = { diff: d, name: k });
    }
  }
  return { diff, name };
}

test('the shards of every batch are disjoint, in order, and together the batch one process sees', async (t) => {
  const whole = new DataLoader(data, { batchSize: 8, crop: 67, seed: 3, workers: 0 });
  const expected: number[][] = [];
  for await (const b of whole.epoch(1)) expected.push(Array.from(b.indices));
  for (const ranks of [2, 3, 4]) {
    const parts: number[][][] = [];
    for (let rank = 0; rank < ranks; rank++) {
      const l = new DataLoader(data, { batchSize: 8, crop: 67, seed: 3, workers: 0, shard: { rank, ranks } });
      const mine: number[][] = [];
      for await (const b of l.epoch(1)) {
        t.is(b.rows.total, 8);
        t.is(b.rows.start, Math.floor((8 * rank) / ranks));
        mine.push(Array.from(b.indices));
      }
      parts.push(mine);
    }
    t.deepEqual(expected.map((_, b) => parts.flatMap((p) => p[b])), expected, `${ranks} ranks`);
  }
  t.throws(() => new DataLoader(data, { shard: { rank: 2, ranks: 2 } }), { message: /shard\.rank/ });
});

test('dropout on a shard of a global batch draws the rows of the global mask, whatever the split', (t) => {
  const n = 6, f = 40;
  const x = Tensor.fromArray(Array.from({ length: n * f }, (_, i) => 1 + (i % 7)), [n, f]);
  const ctx = { training: true, seed: 11, step: 3 };
  // inverted dropout (scaled kept values) shards the same way
  const inverted = new Dropout('drop', [f], 0.5, 1, 2, 'inverted');
  const all = inverted.forward(x, ctx).toFloat32Array();
  const half = Tensor.fromArray(x.toFloat32Array().subarray(3 * f), [3, f]);
  t.deepEqual(inverted.forward(half, { ...ctx, rows: { start: 3, total: n } }).toFloat32Array(), all.subarray(3 * f));
  const layer = new Dropout('drop', [f], 0.5, 1, 2);
  const whole = layer.forward(x, ctx).toFloat32Array();
  for (const ranks of [2, 3]) {
    const got: number[] = [];
    for (let r = 0; r < ranks; r++) {
      const start = (n / ranks) * r, rows = n / ranks;
      const part = Tensor.fromArray(x.toFloat32Array().subarray(start * f, (start + rows) * f), [rows, f]);
      got.push(...layer.forward(part, { ...ctx, rows: { start, total: n } }).toFloat32Array());
      part.dispose();
    }
    t.deepEqual(Float32Array.from(got), whole, `${ranks} shards`);
  }
  // not a copy of the first rows: a shard's own rows differ from the global batch's first ones
  const tail = Tensor.fromArray(x.toFloat32Array().subarray(3 * f), [3, f]);
  t.notDeepEqual(layer.forward(tail, { ...ctx, rows: { start: 3, total: n } }).toFloat32Array(), whole.subarray(0, 3 * f));
  t.true(whole.some((v) => v === 0) && whole.some((v) => v !== 0));
});

test('--parallel without a launcher says how to start the ranks', (t) => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(OMPI_COMM_WORLD_|PMI_|SLURM_)/.test(k)) delete env[k];
  const r = spawnSync(process.execPath, [cli, ...trainArgs(tmp('no-launcher'), 1), '--parallel', 'data'], { encoding: 'utf8', env });
  t.is(r.status, 1);
  t.regex(r.stderr, /--parallel needs several processes: start them with mpirun -np N \(or srun\)/);
});

mpiTest('2, 3 and 4 ranks of data-parallel training end with the weights of 1 process (dropout on)', async (t) => {
  const single = tmp('one');
  one(trainArgs(single, 2));
  // 3 ranks: each batch of 8 splits 2, 3, 3
  for (const ranks of [2, 3, 4]) {
    const out = tmp(`np${ranks}`);
    const r = await mpirun(ranks, cli, trainArgs(out, 2));
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, new RegExp(`data-parallel over ${ranks} ranks`));
    // rank 0 alone prints and writes
    t.is(r.stdout.match(/^epoch 2\/2/gm)?.length, 1);
    const { diff, name } = maxRelDiff(path.join(single, 'last.safetensors'), path.join(out, 'last.safetensors'));
    t.true(diff < 1e-4, `${ranks} ranks: ${name} differs by ${diff}`);
    const lines = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const [a, b] = [lines(single), lines(out)];
    t.is(b.length, 2);
    for (let e = 0; e < 2; e++) {
      t.true(Math.abs(a[e].train_loss - b[e].train_loss) < 1e-5, `epoch ${e + 1} loss ${a[e].train_loss} vs ${b[e].train_loss}`);
      t.is(a[e].val_top1_error, b[e].val_top1_error);
    }
  }
});

mpiTest('2 and 4 ranks of hybrid training (fc layers split over the ranks) end with the weights of 1 process (dropout on)', async (t) => {
  // width 0.125: fc6 and fc7 have 512 neurons, fc8 4, which split evenly over 2 and 4 ranks
  const args = (out: string) => trainArgs(out, 2).map((a) => (a === '0.1' ? '0.125' : a));
  const single = tmp('hybrid-one');
  one(args(single));
  for (const ranks of [2, 4]) {
    const out = tmp(`hybrid-np${ranks}`);
    const r = await mpirun(ranks, cli, [...args(out), '--parallel', 'hybrid']);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, new RegExp(`hybrid-parallel over ${ranks} ranks`));
    // the checkpoint holds the whole fc layers, gathered from the ranks' slices
    const { diff, name } = maxRelDiff(path.join(single, 'last.safetensors'), path.join(out, 'last.safetensors'));
    t.true(diff < 1e-4, `${ranks} ranks: ${name} differs by ${diff}`);
  }
});

mpiTest('hybrid with fc widths that do not divide over the ranks (zero-padded neurons) ends with the weights of 1 process', async (t) => {
  // width 0.1: fc6 and fc7 have 410 neurons, over 4 ranks 103 each with 2 of padding
  const single = tmp('hybrid-pad-one');
  one(trainArgs(single, 2));
  const out = tmp('hybrid-pad-np4');
  const r = await mpirun(4, cli, [...trainArgs(out, 2), '--parallel', 'hybrid']);
  t.is(r.code, 0, r.stderr);
  const { diff, name } = maxRelDiff(path.join(single, 'last.safetensors'), path.join(out, 'last.safetensors'));
  t.true(diff < 1e-4, `${name} differs by ${diff}`);
  // the checkpoint holds the real shapes, not the padded ones
  t.deepEqual(readSafetensorsFile(path.join(out, 'last.safetensors')).tensors.get('fc7.weight')!.shape, [410, 410]);
  // the batch, though, must split evenly (every rank's rows are gathered)
  const bad = await mpirun(3, cli, [...trainArgs(tmp('hybrid-bad'), 1), '--parallel', 'hybrid']);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /rank \d of 3: --parallel hybrid: --batch-size 8 does not split evenly over 3 ranks/);
});

mpiTest('a checkpoint written by 2 ranks resumes under 1 process and under 4 ranks to the uninterrupted result', async (t) => {
  const whole = tmp('whole');
  one(trainArgs(whole, 2));
  const two = tmp('two');
  const first = await mpirun(2, cli, trainArgs(two, 1));
  t.is(first.code, 0, first.stderr);
  t.is(loadCheckpoint(path.join(two, 'last.safetensors')).state.epoch, 1);
  const asOne = tmp('as-one'), asFour = tmp('as-four');
  for (const d of [asOne, asFour]) fs.cpSync(two, d, { recursive: true });
  one(trainArgs(asOne, 2, ['--resume']));
  const four = await mpirun(4, cli, trainArgs(asFour, 2, ['--resume']));
  t.is(four.code, 0, four.stderr);
  t.regex(four.stdout, /resuming from .*epoch 1/);
  for (const d of [asOne, asFour]) {
    const { diff, name } = maxRelDiff(path.join(whole, 'last.safetensors'), path.join(d, 'last.safetensors'));
    t.true(diff < 1e-4, `${path.basename(d)}: ${name} differs by ${diff}`);
    t.is(loadCheckpoint(path.join(d, 'last.safetensors')).state.step, 8);
  }
});

mpiTest('SIGUSR1 to mpirun stops every rank at the same step, rank 0 saves, and --resume ends where an uninterrupted run does', async (t) => {
  const whole = tmp('usr1-whole');
  one(trainArgs(whole, 3));
  const out = tmp('usr1');
  const marker = `${process.pid}-usr1-${Date.now()}`;
  let ended = false;
  const run = mpirun(2, cli, trainArgs(out, 3), { ALEXNET_TEST_RUN: marker }).then((r) => ((ended = true), r));
  const last = path.join(out, 'last.safetensors');
  while (!fs.existsSync(last) && !ended) await new Promise((r) => setTimeout(r, 50));
  const launcher = pidOfLauncher(marker);
  if (launcher) process.kill(launcher, 'SIGUSR1');
  const r = await run;
  // usually mid-run (130, "interrupted: saved"); a run that finished first is fine too
  if (r.code === 130) t.regex(r.stdout, /interrupted: saved .*continue with --resume/);
  else t.is(r.code, 0, r.stderr);
  const again = await mpirun(2, cli, trainArgs(out, 3, ['--resume']));
  t.is(again.code, 0, again.stderr);
  const { diff, name } = maxRelDiff(path.join(whole, 'last.safetensors'), last);
  t.true(diff < 1e-4, `${name} differs by ${diff}`);
});

/** mpirun's pid for this test's run: the parent of its rank 0. */
function pidOfLauncher(marker: string): number | null {
  const rank0 = pidOfRank(marker, 0);
  if (!rank0) return null;
  const ppid = Number(fs.readFileSync(`/proc/${rank0}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  return /mpirun|orterun|prterun/.test(fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8')) ? ppid : null;
}

/** The pid of the process of this test's run with `rank`, found by its environment. */
function pidOfRank(marker: string, rank: number): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(`ALEXNET_TEST_RUN=${marker}`) && env.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(entry);
    } catch {
      // gone, or not ours
    }
  }
  return null;
}

mpiTest('a rank killed mid-run stops every rank with a message naming it, and the last checkpoint stays intact', async (t) => {
  const out = tmp('killed');
  const marker = `${process.pid}-${Date.now()}`;
  const started = Date.now();
  let ended = false;
  const run = mpirun(2, cli, [...trainArgs(out, 400, ['--comm-timeout', '10'])], { ALEXNET_TEST_RUN: marker }, 120_000).then((r) => ((ended = true), r));
  const last = path.join(out, 'last.safetensors');
  while (!fs.existsSync(last) && !ended && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 100));
  if (!fs.existsSync(last)) return t.fail(`no checkpoint: ${ended ? (await run).stderr : 'none after 60 s'}`);
  const pid = pidOfRank(marker, 1);
  t.truthy(pid, 'rank 1 found');
  const killedAt = Date.now();
  process.kill(pid!, 'SIGKILL');
  const r = await run;
  t.not(r.code, 0);
  t.true((Date.now() - killedAt) / 1000 < 30, `the job ended ${(Date.now() - killedAt) / 1000} s after the kill`);
  t.regex(r.stdout + r.stderr, /rank 1\b.*(exited on signal 9|Killed)|rank 1 never joined/s);
  // written atomically: whatever epoch it holds, it loads
  const ck = loadCheckpoint(last);
  t.true(ck.state.epoch >= 1 && ck.state.epoch < 400);
  t.true(ck.weights.size > 0);
});

