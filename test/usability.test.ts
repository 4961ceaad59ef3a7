// What a new user meets on their own data: defaults chosen from the data and said at the start,
// warnings when a run does not learn, --resume from a run folder with the run's own settings,
// run folders where a checkpoint is asked for, predict that answers every image, neighbours by
// file, --val-split, and the small things (--version, 1/64, one error prefix, summary FLOPs,
// round axis ticks).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { parseFlags } from '../lib/cli/flags';
import { chooseRecipe, PAPER, SMALL, SMALL_DATA } from '../lib/cli/presets';
import { openPrepared, readLabels } from '../lib/data/format';
import { layerCosts } from '../lib/nn/cost';
import { alexnet } from '../lib/nn/spec';
import { lineChart, niceTicks } from '../lib/tools/report';
import { chwToHwc } from '../lib/tools/predict';
import { loadCheckpoint } from '../lib/train/checkpoint';
import { fit, FitOptions } from '../lib/train/loop';
import { nextSchedule, plateauSchedule, PLATEAU_MIN_STEPS } from '../lib/train/schedule';
import { learningWarnings } from '../lib/train/watch';
import { gradient, noiseImage, preparedGradients } from './data/_fixtures';

const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alexnet-usability-${name}-`));
const data = preparedGradients(76, 24, 6, 3);
const tiny = ['--width', '0.1', '--crop', '67'];

function options(out: string, extra: Partial<FitOptions> = {}): FitOptions {
  return {
    data, out, model: { width: 0.1, crop: 67 }, batchSize: 8, epochs: 3, lr: 0.01, momentum: 0.9, weightDecay: 0.0005,
    schedule: 'fixed', patience: 2, stepEvery: 30, device: 'cpu', seed: 1, resume: false, tenCrop: false, workers: 0,
    maxBatches: 0, progress: false, log: () => {}, ...extra,
  };
}

/** A folder of PNGs: DIR/train/c<k>/img<i>.png, `perClass` each, no val/. */
async function photoFolder(classes: number, perClass: number): Promise<string> {
  const dir = tmp('photos');
  for (let c = 0; c < classes; c++) {
    fs.mkdirSync(path.join(dir, 'train', `c${c}`), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const img = i % 2 ? noiseImage(80, 10 * c + i) : gradient(80, 10 * c + i);
      await sharp(chwToHwc(img, 80), { raw: { width: 80, height: 80, channels: 3 } }).png().toFile(path.join(dir, 'train', `c${c}`, `img${i}.png`));
    }
  }
  return dir;
}

test('the recipe follows the data: small under 20,000 training images, the paper\'s from there, the built-in run\'s on the built-in set', (t) => {
  t.is(SMALL_DATA, 20_000);
  t.is(chooseRecipe('auto', { builtIn: false, trainImages: 250 }).recipe, SMALL);
  t.regex(chooseRecipe('auto', { builtIn: false, trainImages: 250 }).why, /small data set: 250 training images, under 20,000/);
  t.is(chooseRecipe('auto', { builtIn: false, trainImages: 19_999 }).recipe.name, 'small');
  t.is(chooseRecipe('auto', { builtIn: false, trainImages: 1_281_167 }).recipe, PAPER);
  t.is(chooseRecipe('auto', { builtIn: true, trainImages: 6000 }).recipe.name, 'builtin');
  t.is(chooseRecipe('paper', { builtIn: false, trainImages: 250 }).recipe, PAPER);
  t.deepEqual(SMALL.model, { init: 'he', inputScale: 1 / 64 });
  t.is(SMALL.batchSize, 32);
  t.is(SMALL.schedule, 'step');
});

test('train on small data announces the small-data recipe and uses it; --recipe paper gives the paper\'s', (t) => {
  const out = tmp('recipe');
  const r = run('train', '--data', data, '--out', out, '--epochs', '1', '--max-batches', '1', ...tiny);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /recipe small \(small data set: 24 training images, under 20,000\): He init, input scale 1\/64, batch 24, lr 0\.01 divided by 10 every 20 epochs, 30 epochs; --recipe paper for the paper's/);
  const ck = loadCheckpoint(path.join(out, 'last.safetensors'));
  t.is(ck.config.options.init, 'he');
  t.is(ck.config.options.inputScale, 1 / 64);
  t.is(ck.state.batchSize, 24);
  t.is(ck.state.schedule.kind, 'step');
  const paper = tmp('paper');
  const p = run('train', '--data', data, '--out', paper, '--epochs', '1', '--max-batches', '1', '--recipe', 'paper', ...tiny);
  t.is(p.status, 0, p.stderr);
  t.regex(p.stdout, /recipe paper \(--recipe paper\): N\(0, 0\.01\) init, inputs in 0\.\.255, batch 24, lr 0\.01 divided by 10 on validation plateaus/);
  const pk = loadCheckpoint(path.join(paper, 'last.safetensors'));
  t.is(pk.config.options.init, 'paper');
  t.is(pk.config.options.inputScale, 1);
});

test('the plateau schedule does not cut the rate before its minimum number of steps', (t) => {
  let s = plateauSchedule(0.01, 1);
  s = nextSchedule(s, 1, 0.5, 1);
  s = nextSchedule(s, 2, 0.6, 2);  // worse, patience 1: a cut, were it not for the handful of steps
  s = nextSchedule(s, 3, 0.6, 3);
  t.is(s.lr, 0.01);
  s = nextSchedule(s, 4, 0.6, PLATEAU_MIN_STEPS);
  t.is(s.lr, 0.001);
});

test('a run that does not learn says so: loss above its start, validation at chance', async (t) => {
  const base = { epoch: 0, batchInEpoch: 0, step: 0, seed: 1, bestValTop1: 1, schedule: { kind: 'fixed' as const, lr: 0.01 }, partial: { loss: 0, errors: 0, images: 0, seconds: 0, dataSeconds: 0 } };
  const m = (epoch: number, loss: number, valError: number) => ({ epoch, lr: 0.01, train_loss: loss, train_top1_error: 0.8, val_top1_error: valError, val_top5_error: 0, images_per_second: 1, seconds: 1, data_seconds: 0, compute_seconds: 1 });
  t.regex(learningWarnings({ ...base, startLoss: 1.76 }, m(1, 4.07, 0.5), 5).join(), /the training loss of epoch 1 \(4\.070\) is above the loss at the start \(1\.760\)/);
  t.deepEqual(learningWarnings({ ...base, startLoss: 1.76 }, m(1, 1.5, 0.5), 5), []);
  t.deepEqual(learningWarnings({ ...base, startLoss: 1.76 }, m(2, 1.5, 0.8), 5), [], 'not before epoch 3');
  t.regex(learningWarnings({ ...base, startLoss: 1.76 }, m(3, 1.5, 0.8), 5).join(), /validation top-1 accuracy after 3 epochs is 20\.0%, chance level for 5 classes \(20\.0%\)/);

  // the paper's init at a rate too high for this data: the loss climbs, validation stays at chance
  const log: string[] = [];
  await fit(options(tmp('notlearning'), { lr: 0.2, log: (l) => log.push(l) }));
  t.true(log.some((l) => /^warning: not learning: the training loss of epoch \d/.test(l)), log.join('\n'));
  t.true(log.some((l) => /^warning: not learning: validation top-1 accuracy after 3 epochs/.test(l)), log.join('\n'));
});

test('--resume RUN continues with the checkpoint\'s model, data and batch size; a conflicting flag names only what differs', (t) => {
  const out = tmp('resume');
  t.is(run('train', '--data', data, '--out', out, '--epochs', '1', '--batch-size', '8', ...tiny).status, 0);
  const r = run('train', '--resume', out, '--epochs', '2');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /resuming AlexNet \(width 0\.1, crop 67, relu\)/);
  t.regex(r.stdout, /epoch 2\/2: /);
  const ck = loadCheckpoint(path.join(out, 'last.safetensors'));
  t.is(ck.state.epoch, 2);
  t.is(ck.state.step, 6);  // 3 steps of 8 an epoch: the batch size came from the checkpoint
  const bad = run('train', '--resume', out, '--epochs', '3', '--width', '0.2', '--crop', '67');
  t.is(bad.status, 1);
  t.regex(bad.stderr, /--resume: .*last\.safetensors was trained with width 0\.1 \(asked: 0\.2\); leave those flags out/);
  t.notRegex(bad.stderr, /crop/);
  const two = run('train', '--resume', out, '--out', tmp('other'));
  t.is(two.status, 1);
  t.regex(two.stderr, /name two different run folders/);
});

test('--checkpoint takes a run folder (its best checkpoint) and says which file it used', (t) => {
  const out = tmp('ckdir');
  t.is(run('train', '--data', data, '--out', out, '--epochs', '1', ...tiny).status, 0);
  const r = run('eval', '--checkpoint', out, '--data', data, '--json');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`checkpoint: ${out}/best\\.safetensors`));
  t.is(JSON.parse(r.stdout).images, 6);
  const empty = tmp('empty');
  const e = run('eval', '--checkpoint', empty, '--data', data);
  t.is(e.status, 1);
  t.regex(e.stderr, /is a folder without a checkpoint/);
});

test('prepare --val-split holds out a deterministic part of each class; train refuses data without validation before creating anything', async (t) => {
  const photos = await photoFolder(3, 4);
  const none = path.join(tmp('prep'), 'none');
  const p0 = run('prepare', '--data', photos, '--out', none, '--size', '76');
  t.is(p0.status, 0, p0.stderr);
  t.regex(p0.stderr, /has no validation images, which train needs: .*--val-split 0\.1/);
  const runDir = path.join(tmp('noval'), 'run');
  const r = run('train', '--data', none, '--out', runDir, '--epochs', '1', ...tiny);
  t.is(r.status, 1);
  t.regex(r.stderr, /has no validation images, which training needs after every epoch: .*prepare --val-split 0\.1/);
  t.false(fs.existsSync(runDir), 'no run folder was created');

  const a = path.join(tmp('prep'), 'a'), b = path.join(tmp('prep'), 'b');
  for (const out of [a, b]) t.is(run('prepare', '--data', photos, '--out', out, '--size', '76', '--val-split', '0.25').status, 0);
  const da = openPrepared(a), db = openPrepared(b);
  t.is(da.index.splits.train.count, 9);
  t.is(da.index.splits.val!.count, 3);
  t.deepEqual([...readLabels(a, da.index.splits.val!)].sort(), [0, 1, 2], 'one of each class');
  const valFiles = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'val', 'shard-00000.json'), 'utf8')).files;
  t.deepEqual(valFiles(a), valFiles(b), 'the same split every time');
  t.true(valFiles(a).every((f: string) => f.startsWith('train/')));
  const twice = run('prepare', '--data', photos, '--out', path.join(tmp('prep'), 'c'), '--val-split', '0.25', '--size', '76');
  t.is(twice.status, 0, 'a folder without val/ splits');
});

test('predict answers every readable image, reports the bad ones and fails at the end; it takes folders; neighbors show source files', async (t) => {
  const photos = await photoFolder(3, 4);
  const prepared = path.join(tmp('nb'), 'prepared');
  t.is(run('prepare', '--data', photos, '--out', prepared, '--size', '76', '--val-split', '0.25').status, 0);
  const out = tmp('nbrun');
  t.is(run('train', '--data', prepared, '--out', out, '--epochs', '1', '--batch-size', '3', ...tiny).status, 0);

  const bad = path.join(tmp('bad'), 'broken.jpg');
  fs.writeFileSync(bad, 'not an image');
  const good = path.join(photos, 'train', 'c1', 'img0.png');
  const r = run('predict', '--checkpoint', out, '--json', good, bad, path.join(photos, 'train', 'c2'));
  t.is(r.status, 1);
  const results = JSON.parse(r.stdout);
  t.deepEqual(results.map((x: { file: string }) => path.basename(x.file)), ['img0.png', 'broken.jpg', 'img0.png', 'img1.png', 'img2.png', 'img3.png']);
  t.is(results.filter((x: { top: unknown[] }) => x.top.length === 3).length, 5, 'every readable image has its answer');
  t.regex(results[1].error, /broken\.jpg: not a readable image/);
  t.regex(r.stderr, /alexnet predict: .*broken\.jpg: not a readable image/);
  t.regex(r.stderr, /1 of 6 image\(s\) could not be read/);

  const index = path.join(tmp('idx'), 'features.safetensors');
  t.is(run('features', '--checkpoint', out, '--data', prepared, '--out', index).status, 0);
  const n = run('neighbors', '--checkpoint', out, '--index', index, '--k', '2', good);
  t.is(n.status, 0, n.stderr);
  t.regex(n.stdout, new RegExp(`^ +\\d+\\.\\d{3}  ${photos}/train/c\\d/img\\d\\.png  \\(c\\d\\)$`, 'm'));
});

test('small things: --version, 1/64 as a number, one error prefix, summary FLOPs and memory, round axis ticks', async (t) => {
  const v = run('--version');
  t.is(v.status, 0);
  t.is(v.stdout.trim(), `alexnet-native ${require('../package.json').version}`);

  const spec = { s: { type: 'number' as const, min: 1e-6, help: '' } };
  t.is(parseFlags('x', ['--s', '1/64'], spec).flags.s, 1 / 64);
  t.throws(() => parseFlags('x', ['--s', '1/0'], spec), { message: '--s must be a number, not "1/0"' });

  const p = run('prepare', '--data', await photoFolder(2, 1), '--out', tmp('o'), '--size', '5000');
  t.is(p.status, 1);
  t.regex(p.stderr, /^alexnet prepare: [^\n]*--size but received 5000/);
  t.notRegex(p.stderr, /prepare: prepare:/);

  // conv1 of the paper's model: 96 x 55 x 55 outputs, each 3 x 11 x 11 multiply-adds
  const { rows, total } = layerCosts(alexnet(), 2);
  t.is(rows[0].flops, 2 * 2 * 96 * 55 * 55 * 3 * 11 * 11);
  t.is(rows[0].activationBytes, 4 * 2 * 96 * 55 * 55);
  t.is(total.params, 60_965_224);
  t.is(total.parameterBytes, 4 * 60_965_224);
  const s = run('summary', '--json', '--batch-size', '2');
  t.is(s.status, 0, s.stderr);
  t.is(JSON.parse(s.stdout).flops, total.flops);
  t.regex(run('summary', '--batch-size', '1').stdout, /^conv1 +conv +55x55x96 +34,944 +211 MFLOP +1\.11 MiB +137 KiB$/m);

  t.deepEqual(niceTicks(0.801, 0.95).ticks, [0.8, 0.85, 0.9, 0.95]);
  const loss = lineChart('loss', [{ name: 'train', color: '#000', values: [0.801, 0.95] }]);
  t.true(loss.includes('>0.85</text>'));
  t.false(loss.includes('0.801'));
  const lr = lineChart('lr', [{ name: 'lr', color: '#000', values: [3e-3, 3e-4] }], { log: true });
  t.true(lr.includes('>1e-3</text>'));
  t.false(lr.includes('3e-3'));
});
