// The training loop end to end on small prepared data: resume equals uninterrupted, eval of
// a checkpoint reproduces the reported accuracy, divergence stops cleanly, the CLI runs.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensorsFile } from '../lib/io/safetensors';
import { DataLoader } from '../lib/data/loader';
import { evaluate } from '../lib/train/evaluate';
import { fit, FitOptions } from '../lib/train/loop';
import { networkFromCheckpoint } from '../lib/train/checkpoint';
import { preparedGradients } from './data/_fixtures';

const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alexnet-train-${name}-`));

// 24 train and 12 val images of 76x76 in 3 classes; a narrow AlexNet on 67x67 crops.
const data = preparedGradients(76, 24, 12, 3);

function options(out: string, extra: Partial<FitOptions> = {}): FitOptions {
  return {
    data, out, model: { width: 0.1, crop: 67, init: 'he', inputScale: 1 / 64 }, batchSize: 8, epochs: 3, lr: 0.01, momentum: 0.9,
    weightDecay: 0.0005, schedule: 'plateau', patience: 1, stepEvery: 30, device: 'cpu', seed: 7, resume: false,
    tenCrop: false, workers: 0, maxBatches: 0, progress: false, log: () => {}, ...extra,
  };
}

function tensors(file: string): Map<string, Float32Array> {
  return new Map([...readSafetensorsFile(file).tensors].map(([k, v]) => [k, v.data]));
}

test('an interrupted and resumed run ends with the same weights as an uninterrupted one', async (t) => {
  const whole = tmp('whole');
  const r = await fit(options(whole));
  t.false(r.interrupted);
  t.is(r.metrics.length, 3);

  // Ctrl-C in the middle of epoch 2 (after step 4 of 3 per epoch), then --resume to the end.
  const parts = tmp('parts');
  const controller = new AbortController();
  const first = await fit(options(parts, { signal: controller.signal, onStep: (s) => s === 4 && controller.abort() }));
  t.true(first.interrupted);
  t.is(first.state.epoch, 1);
  t.is(first.state.batchInEpoch, 1);
  const second = await fit(options(parts, { resume: true }));
  t.false(second.interrupted);
  t.is(second.state.step, r.state.step);

  const a = tensors(path.join(whole, 'last.safetensors')), b = tensors(path.join(parts, 'last.safetensors'));
  t.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, v] of a) t.deepEqual(b.get(name), v, name);
  // the metrics of the interrupted epoch come out whole: same lines either way
  const lines = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const strip = (m: Record<string, number>) => ({ epoch: m.epoch, lr: m.lr, train_loss: m.train_loss, val_top1_error: m.val_top1_error });
  t.deepEqual(lines(parts).map(strip), lines(whole).map(strip));
});

test('a stop on the last batch of an epoch still validates and saves that epoch, and resume goes on from the next', async (t) => {
  const whole = tmp('whole2');
  await fit(options(whole, { epochs: 2 }));
  const parts = tmp('parts2');
  const controller = new AbortController();
  const first = await fit(options(parts, { epochs: 2, signal: controller.signal, onStep: (s) => s === 3 && controller.abort() }));
  t.true(first.interrupted);
  t.is(first.state.epoch, 1);
  t.is(first.metrics.length, 1);
  const second = await fit(options(parts, { epochs: 2, resume: true }));
  t.is(second.metrics.length, 1);
  t.is(second.metrics[0].epoch, 2);
  const a = tensors(path.join(whole, 'last.safetensors')), b = tensors(path.join(parts, 'last.safetensors'));
  for (const [name, v] of a) t.deepEqual(b.get(name), v, name);
});

test('eval of a saved checkpoint reproduces the accuracy the training loop reported', async (t) => {
  const out = tmp('eval');
  const r = await fit(options(out, { epochs: 2, schedule: 'fixed' }));
  const reported = r.metrics[1];
  const net = networkFromCheckpoint(r.lastCheckpoint);
  const loader = new DataLoader(data, { split: 'val', mode: 'center', crop: 67, scale: 1 / 64, batchSize: 5, workers: 0 });
  const v = await evaluate(net, loader, 'cpu');
  await loader.close();
  t.is(v.top1, reported.val_top1_error);
  t.is(v.top5, reported.val_top5_error);
  const cmd = spawnSync(process.execPath, [cli, 'eval', '--checkpoint', r.lastCheckpoint, '--data', data, '--json'], { encoding: 'utf8' });
  t.is(cmd.status, 0, cmd.stderr);
  t.is(JSON.parse(cmd.stdout).top1_error, reported.val_top1_error);
  const ten = spawnSync(process.execPath, [cli, 'eval', '--checkpoint', r.lastCheckpoint, '--data', data, '--ten-crop', '--json'], { encoding: 'utf8' });
  t.is(ten.status, 0, ten.stderr);
  t.is(JSON.parse(ten.stdout).images, 12);
});

test('metrics.jsonl has one line per epoch with the fields the paper reports', async (t) => {
  const out = tmp('metrics');
  await fit(options(out, { epochs: 2 }));
  const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.is(lines.length, 2);
  for (const key of ['epoch', 'lr', 'train_loss', 'train_top1_error', 'val_top1_error', 'val_top5_error', 'images_per_second', 'seconds'])
    t.true(key in lines[0], key);
  t.true(fs.existsSync(path.join(out, 'best.safetensors')));
});

test('a diverging loss stops training with a clear message and the last good checkpoint intact', async (t) => {
  const out = tmp('nan');
  await fit(options(out, { epochs: 1 }));
  const good = fs.readFileSync(path.join(out, 'last.safetensors'));
  // start the run again in the same folder with an absurd learning rate: it diverges in its
  // first epoch, before it would replace the checkpoint
  const err = await t.throwsAsync(fit(options(out, { epochs: 1, lr: 1e30, schedule: 'fixed', overwrite: true })));
  t.regex(err!.message, /training diverged: the loss is (NaN|Infinity) at epoch 1, batch \d+ \(lr 1e\+30\); the last good checkpoint is .*last\.safetensors/);
  t.deepEqual(fs.readFileSync(path.join(out, 'last.safetensors')), good);
  t.false(fs.readdirSync(out).some((f) => f.includes('.tmp-')), 'no temporary file left behind');
});

test('resume without a checkpoint, with another model, or a new run over an old one, is a clear error', async (t) => {
  const out = tmp('noresume');
  await t.throwsAsync(fit(options(out, { resume: true })), { message: /--resume: no checkpoint to resume from at .*last\.safetensors/ });
  await fit(options(out, { epochs: 1 }));
  await t.throwsAsync(fit(options(out, { epochs: 1 })), { message: /already holds a run \(.*last\.safetensors\): use --resume to continue it, --overwrite to start it again, or another --out/ });
  await t.throwsAsync(fit(options(out, { resume: true, model: { width: 0.2, crop: 67, init: 'he', inputScale: 1 / 64 } })), { message: /--resume: the checkpoint's model .* differs from the one asked for/ });
});

test('train and eval on the command line: shortened run, outputs written; bad flags print usage', (t) => {
  const out = tmp('cli');
  const r = spawnSync(process.execPath, [cli, 'train', '--data', data, '--out', out, '--epochs', '1', '--width', '0.1', '--crop', '67',
    '--init', 'he', '--input-scale', '0.015625', '--batch-size', '8', '--workers', '1'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /epoch 1\/1: lr 0\.01 loss \d/);
  t.regex(r.stdout, /validation top-1 accuracy \d+\.\d%/);
  t.true(fs.existsSync(path.join(out, 'last.safetensors')));
  t.true(fs.existsSync(path.join(out, 'metrics.jsonl')));
  const bad = spawnSync(process.execPath, [cli, 'train', '--epochs', 'many'], { encoding: 'utf8' });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--epochs must be an integer, not "many"/);
  t.regex(bad.stderr, /usage: node lib\/cli\.js train/);
  const unknown = spawnSync(process.execPath, [cli, 'train', '--lr-decay', '2'], { encoding: 'utf8' });
  t.is(unknown.status, 2);
  t.regex(unknown.stderr, /unknown flag for train: --lr-decay/);
  const missing = spawnSync(process.execPath, [cli, 'eval', '--checkpoint', path.join(out, 'nope.safetensors'), '--data', data], { encoding: 'utf8' });
  t.is(missing.status, 1);
  t.regex(missing.stderr, /checkpoint not found: .*nope\.safetensors/);
  const noData = spawnSync(process.execPath, [cli, 'train', '--data', path.join(out, 'missing-folder')], { encoding: 'utf8' });
  t.is(noData.status, 1);
  t.regex(noData.stderr, /--data: no such folder/);
});

test('the default train run, shortened through its flags, makes its data once, trains and writes its outputs', (t) => {
  const cache = tmp('cache');
  const cwd = tmp('cwd');
  const env = { ...process.env, ALEXNET_CACHE: cache };
  const r = spawnSync(process.execPath, [cli, 'train', '--epochs', '1', '--max-batches', '3'], { encoding: 'utf8', env, cwd });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /generating the synthetic set into /);
  t.regex(r.stdout, /training AlexNet \(width 0\.25, crop 67, relu\)/);
  t.regex(r.stdout, /validation top-1 accuracy \d+\.\d%, top-5 accuracy \d+\.\d% after epoch 1/);
  const ck = /checkpoint: (\S+last\.safetensors)/.exec(r.stdout);
  t.truthy(ck, r.stdout);
  t.true(fs.existsSync(path.join(cwd, ck![1])));
  t.true(fs.existsSync(path.join(cwd, path.dirname(ck![1]), 'metrics.jsonl')));
  // the second run finds the data in the cache
  const again = spawnSync(process.execPath, [cli, 'train', '--epochs', '1', '--max-batches', '1', '--out', 'second'], { encoding: 'utf8', env, cwd });
  t.is(again.status, 0, again.stderr);
  t.notRegex(again.stdout, /generating/);
});
