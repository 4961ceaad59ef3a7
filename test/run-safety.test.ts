// What keeps a run safe: Ctrl-C stops within a batch (a real SIGINT to a training process),
// one run per folder (the lock, stale locks, locks released on errors), resume after kill -9
// equal to an uninterrupted run, a broken checkpoint refused without touching anything.
// The tests that signal a child at a moment read from its output are serial: a concurrent test's
// spawnSync would block this process's event loop, and with it the moment of the signal.
import test from 'ava';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataLoader } from '../lib/data/loader';
import { readSafetensorsFile } from '../lib/io/safetensors';
import { loadCheckpoint } from '../lib/train/checkpoint';
import { acquireRunLock, lockFile } from '../lib/train/lock';
import { fit, FitOptions } from '../lib/train/loop';
import { preparedGradients } from './data/_fixtures';

const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alexnet-safety-${name}-`));

// 800 train images: 100 batches of 8 an epoch, long enough to interrupt in the middle
const big = preparedGradients(76, 800, 6, 3);
const small = preparedGradients(76, 24, 6, 3);

function options(out: string, extra: Partial<FitOptions> = {}): FitOptions {
  return {
    data: small, out, model: { width: 0.1, crop: 67, init: 'he', inputScale: 1 / 64 }, batchSize: 8, epochs: 1, lr: 0.01, momentum: 0.9,
    weightDecay: 0.0005, schedule: 'fixed', patience: 1, stepEvery: 30, device: 'cpu', seed: 5, resume: false,
    tenCrop: false, workers: 0, maxBatches: 0, progress: false, log: () => {}, ...extra,
  };
}

/** A child process's output as it comes, and its exit. */
function watch(child: ChildProcess) {
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = (what: () => boolean, ms = 120_000) => new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (what()) (clearInterval(poll), resolve());
      else if (Date.now() - started > ms || child.exitCode !== null) (clearInterval(poll), reject(new Error(`gave up waiting; stdout:\n${out.stdout}\nstderr:\n${out.stderr}`)));
    }, 10);
  });
  return { out, exit, until };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the data loader lets the event loop turn between batches, so a signal handler runs within a batch', async (t) => {
  for (const workers of [0, 1]) {
    const loader = new DataLoader(big, { batchSize: 8, crop: 67, workers, prefetch: 4 });
    let turns = 0, batches = 0;
    const tick = () => { turns++; timer = setImmediate(tick); };
    let timer = setImmediate(tick);
    for await (const b of loader.epoch(0)) {
      batches++;
      loader.release(b);
      const until = Date.now() + 2;  // a consumer that computes synchronously between batches
      while (Date.now() < until);
      if (batches === 20) break;
    }
    clearImmediate(timer);
    await loader.close();
    t.true(turns >= batches - 1, `workers ${workers}: the event loop turned ${turns} times in ${batches} batches`);
  }
});

test.serial('Ctrl-C (a real SIGINT) stops a training process within a few batches, mid-epoch; a second run in its folder is refused while it runs', async (t) => {
  const out = tmp('sigint');
  // more epochs than it will get through: the signal always lands in a running epoch or between two
  const child = spawn(process.execPath, [cli, 'train', '--data', big, '--out', out, '--epochs', '9', '--width', '0.5', '--crop', '67',
    '--batch-size', '8', '--workers', '1', '--progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w = watch(child);
  const progress = () => [...w.out.stderr.matchAll(/epoch (\d)\/9 (\d+)\/100/g)].map((m) => (Number(m[1]) - 1) * 100 + Number(m[2]));
  await w.until(() => progress().length > 0);

  // the lock: another run into the same folder is refused, naming the holder
  const second = spawn(process.execPath, [cli, 'train', '--data', big, '--out', out, '--epochs', '1', '--width', '0.5', '--crop', '67', '--overwrite'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w2 = watch(second);
  t.is(await w2.exit, 1);
  t.regex(w2.out.stderr, new RegExp(`in use by another training run: process ${child.pid} on ${os.hostname()}`));

  // the signal goes early in an epoch (batch 5 to 50 of 100), from the output handler itself so
  // that the test's own timers add no delay: before the fix the run went on to the epoch's end
  let shown = -1;
  const positions = /epoch (\d)\/9 (\d+)\/100/g;
  const arm = (chunk: Buffer) => {
    for (const m of String(chunk).matchAll(positions)) {
      const inEpoch = Number(m[2]);
      if (shown < 0 && inEpoch >= 5 && inEpoch <= 50) {
        shown = (Number(m[1]) - 1) * 100 + inEpoch;
        child.kill('SIGINT');
      }
    }
  };
  child.stderr!.on('data', arm);
  t.is(await w.exit, 130, w.out.stdout + w.out.stderr);
  t.regex(w.out.stdout, /stopping after this batch/);
  t.regex(w.out.stderr, /ETA [\d:]+ \(run [\d:]+\)/, 'the progress line gives the whole run\'s ETA too');
  const stopped = loadCheckpoint(path.join(out, 'last.safetensors')).state.step;
  // a few batches, with room for a loaded machine; the epoch's end is at least 50 away
  t.true(stopped >= shown && stopped - shown <= 15, `signal sent at batch ${shown} (epochs of 100), stopped at batch ${stopped}`);
  t.regex(w.out.stdout, /interrupted: saved .* at epoch \d, batch \d+/, 'in the middle of the epoch');
  t.false(fs.existsSync(lockFile(out)), 'the lock is released');
});

test('a lock held by a live process refuses the run naming it; one from a dead process is taken over with a message; from another host, refused', async (t) => {
  const out = tmp('lock');
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  try {
    fs.writeFileSync(lockFile(out), JSON.stringify({ pid: sleeper.pid, host: os.hostname(), started: '2026-01-01T00:00:00.000Z' }));
    await t.throwsAsync(fit(options(out)), { message: new RegExp(`is in use by another training run: process ${sleeper.pid} on ${os.hostname()}, since 2026-01-01`) });
    t.false(fs.existsSync(path.join(out, 'last.safetensors')), 'nothing written');
    t.true(fs.existsSync(lockFile(out)), "the holder's lock stays");
  } finally {
    sleeper.kill();
  }
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  fs.writeFileSync(lockFile(out), JSON.stringify({ pid: dead, host: os.hostname(), started: '2026-01-01T00:00:00.000Z' }));
  const log: string[] = [];
  await fit(options(out, { log: (l) => log.push(l) }));
  t.true(log.some((l) => l.includes(`taking over a stale lock on ${out}: process ${dead} on ${os.hostname()}`) && l.includes('is no longer running')), log.join('\n'));
  t.false(fs.existsSync(lockFile(out)));
  t.true(fs.existsSync(path.join(out, 'last.safetensors')));

  fs.writeFileSync(lockFile(out), JSON.stringify({ pid: 1, host: 'elsewhere.example', started: '2026-01-01T00:00:00.000Z' }));
  await t.throwsAsync(fit(options(out, { resume: true, epochs: 2 })), { message: /in use by process 1 on elsewhere\.example.*if that run is gone, delete the lock file/ });
  fs.rmSync(lockFile(out));

  // two takers in one process: the second is refused while the first holds it
  const held = acquireRunLock(out);
  t.throws(() => acquireRunLock(out), { message: /in use by another training run: process \d+/ });
  held.release();
  t.false(fs.existsSync(lockFile(out)));
});

test('the lock is released when a run fails, and a failed start leaves no empty run folder behind', async (t) => {
  const out = tmp('fail');
  await t.throwsAsync(fit(options(out, { lr: 1e30 })), { message: /training diverged/ });
  t.false(fs.existsSync(lockFile(out)));
  const fresh = path.join(tmp('nofolder'), 'run');
  await t.throwsAsync(fit(options(fresh, { resume: true })), { message: /no checkpoint to resume from/ });
  t.false(fs.existsSync(fresh), 'no folder made by a run that could not start');
});

test.serial('resume after kill -9 ends with the same weights and metrics as an uninterrupted run; the killed run leaves only whole files', async (t) => {
  const args = (out: string) => ['train', '--data', big, '--out', out, '--epochs', '2', '--width', '0.1', '--crop', '67', '--batch-size', '8', '--workers', '1', '--seed', '3'];
  const whole = tmp('whole');
  const r = spawnSync(process.execPath, [cli, ...args(whole)], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);

  const killed = tmp('killed');
  const child = spawn(process.execPath, [cli, ...args(killed), '--progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w = watch(child);
  await w.until(() => /epoch 2\/2 \d+\/100/.test(w.out.stderr));  // epoch 1 is saved; epoch 2 under way
  child.kill('SIGKILL');
  await w.exit;
  // whatever the moment, the folder holds whole files: a checkpoint that loads, metrics lines that parse
  t.is(loadCheckpoint(path.join(killed, 'last.safetensors')).state.epoch, 1);
  for (const line of fs.readFileSync(path.join(killed, 'metrics.jsonl'), 'utf8').trim().split('\n')) t.notThrows(() => JSON.parse(line));

  const resumed = spawnSync(process.execPath, [cli, 'train', '--resume', killed], { encoding: 'utf8' });
  t.is(resumed.status, 0, resumed.stderr);
  t.regex(resumed.stdout, new RegExp(`taking over a stale lock on ${killed}: process ${child.pid} `));
  t.regex(resumed.stdout, /resuming from .*: epoch 1, step 100/);
  const a = readSafetensorsFile(path.join(whole, 'last.safetensors')).tensors, b = readSafetensorsFile(path.join(killed, 'last.safetensors')).tensors;
  t.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, v] of a) t.deepEqual(b.get(name)!.data, v.data, name);
  const lines = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .map((m) => ({ epoch: m.epoch, lr: m.lr, train_loss: m.train_loss, val_top1_error: m.val_top1_error }));
  t.deepEqual(lines(killed), lines(whole));
});

test('a truncated or garbage checkpoint gives a clear error and changes nothing', async (t) => {
  const out = tmp('garbage');
  await fit(options(out));
  const last = path.join(out, 'last.safetensors');
  const good = fs.readFileSync(last);
  for (const [what, bytes] of [['truncated', good.subarray(0, good.length >> 1)], ['garbage', Buffer.from('not a checkpoint at all, just text')]] as const) {
    fs.writeFileSync(last, bytes);
    const before = new Map(fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f))]));
    const r = spawnSync(process.execPath, [cli, 'train', '--resume', out, '--epochs', '2'], { encoding: 'utf8' });
    t.is(r.status, 1, what);
    t.regex(r.stderr, /last\.safetensors: not a valid safetensors file \(/, what);
    const after = new Map(fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f))]));
    t.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), `${what}: no file added or removed`);
    for (const [f, b] of before) t.true(after.get(f)!.equals(b), `${what}: ${f} unchanged`);
    const e = spawnSync(process.execPath, [cli, 'eval', '--checkpoint', last, '--data', small], { encoding: 'utf8' });
    t.is(e.status, 1);
    t.regex(e.stderr, /^alexnet eval: .*last\.safetensors: not a valid safetensors file/);
  }
});
