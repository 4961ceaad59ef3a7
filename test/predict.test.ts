// predict and filters on a small trained checkpoint, and their bad inputs.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { DataLoader } from '../lib/data/loader';
import { readFeatures } from '../lib/tools/features';
import { chwToHwc, loadPredictor, predict } from '../lib/tools/predict';
import { fit } from '../lib/train/loop';
import { gradient, preparedGradients } from './data/_fixtures';

const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alexnet-predict-'));
const data = preparedGradients(76, 24, 6, 3);

const trained = fit({
  data, out: path.join(dir, 'run'), model: { width: 0.1, crop: 67, init: 'he', inputScale: 1 / 64 }, batchSize: 8, epochs: 1,
  lr: 0.01, momentum: 0.9, weightDecay: 0.0005, schedule: 'fixed', patience: 1, stepEvery: 30, device: 'cpu', seed: 3,
  resume: false, tenCrop: false, workers: 0, maxBatches: 0, progress: false, log: () => {},
});

async function image(name: string, size: number): Promise<string> {
  const file = path.join(dir, name);
  await sharp(chwToHwc(gradient(size), size), { raw: { width: size, height: size, channels: 3 } }).toFile(file);
  return file;
}

test('predict: the top classes of each image, sorted, with probabilities; 10 crops too', async (t) => {
  const { lastCheckpoint } = await trained;
  const files = [await image('a.png', 120), await image('b.jpg', 90)];
  const { net, input } = loadPredictor(lastCheckpoint);
  t.deepEqual(input.classes, ['c0', 'c1', 'c2']);
  t.is(input.size, 76);
  const r = await predict(net, input, files, { k: 3 });
  t.is(r.length, 2);
  for (const p of r) {
    t.is(p.top.length, 3);
    t.deepEqual([...p.top.map((x) => x.index)].sort(), [0, 1, 2]);
    t.true(p.top[0].probability >= p.top[1].probability && p.top[1].probability >= p.top[2].probability);
    t.true(Math.abs(p.top.reduce((s, x) => s + x.probability, 0) - 1) < 1e-5);
  }
  const ten = await predict(net, input, files.slice(0, 1), { k: 2, tenCrop: true });
  t.is(ten[0].top.length, 2);
  net.dispose();
});

test('predict and filters on the command line, and their bad inputs', async (t) => {
  const { lastCheckpoint } = await trained;
  const img = await image('c.png', 80);
  const r = spawnSync(process.execPath, [cli, 'predict', '--checkpoint', lastCheckpoint, '--json', '--top', '2', img], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.is(out[0].file, img);
  t.is(out[0].top.length, 2);
  const text = spawnSync(process.execPath, [cli, 'predict', '--checkpoint', lastCheckpoint, img], { encoding: 'utf8' });
  t.regex(text.stdout, /^ +\d+\.\d% +c\d$/m);

  const notImage = path.join(dir, 'not-an-image.jpg');
  fs.writeFileSync(notImage, 'hello');
  const bad = spawnSync(process.execPath, [cli, 'predict', '--checkpoint', lastCheckpoint, notImage], { encoding: 'utf8' });
  t.is(bad.status, 1);
  t.regex(bad.stderr, /not-an-image\.jpg: not a readable image/);
  const missing = spawnSync(process.execPath, [cli, 'predict', '--checkpoint', path.join(dir, 'nope.safetensors'), img], { encoding: 'utf8' });
  t.is(missing.status, 1);
  t.regex(missing.stderr, /checkpoint not found: .*nope\.safetensors/);
  const noImages = spawnSync(process.execPath, [cli, 'predict', '--checkpoint', lastCheckpoint], { encoding: 'utf8' });
  t.is(noImages.status, 2);
  t.regex(noImages.stderr, /give at least one IMAGE/);

  const png = path.join(dir, 'conv1.png');
  const f = spawnSync(process.execPath, [cli, 'filters', '--checkpoint', lastCheckpoint, '--out', png, '--zoom', '2'], { encoding: 'utf8' });
  t.is(f.status, 0, f.stderr);
  const meta = await sharp(png).metadata();
  // width 0.1: 10 kernels of 11x11, two columns of 5, each block one row of the 12-wide grid
  t.is(meta.width, 12 * (11 * 2 + 1) + 1);
  t.is(meta.height, 2 * (11 * 2 + 1) + 1 + 6);
  const noCk = spawnSync(process.execPath, [cli, 'filters', '--out', png], { encoding: 'utf8' });
  t.is(noCk.status, 2);
});

test('features and neighbors: an index of the training images, the nearest ones to a query, a contact sheet', async (t) => {
  const { lastCheckpoint } = await trained;
  const index = path.join(dir, 'features.safetensors');
  const f = spawnSync(process.execPath, [cli, 'features', '--checkpoint', lastCheckpoint, '--data', data, '--layer', 'fc7', '--out', index], { encoding: 'utf8' });
  t.is(f.status, 0, f.stderr);
  t.regex(f.stdout, /24 feature vectors of \d+ values at fc7/);
  const idx = readFeatures(index);
  t.is(idx.labels.length, 24);
  t.is(idx.features.length, 24 * idx.dim);

  // a training image itself, as a file: its own vector is in the index at distance ~0
  const reader = new DataLoader(data, { split: 'train', mode: 'center', crop: 76, batchSize: 24, workers: 0, subtractMean: false });
  let first: Float32Array | undefined;
  for await (const b of reader.epoch(0)) first = b.images.subarray(0, 3 * 76 * 76);
  await reader.close();
  const query = path.join(dir, 'train0.png');
  await sharp(chwToHwc(first!, 76), { raw: { width: 76, height: 76, channels: 3 } }).toFile(query);

  const sheet = path.join(dir, 'sheet.png');
  const n = spawnSync(process.execPath, [cli, 'neighbors', '--checkpoint', lastCheckpoint, '--index', index, '--k', '3', '--sheet', sheet, '--json', query], { encoding: 'utf8' });
  t.is(n.status, 0, n.stderr);
  const r = JSON.parse(n.stdout);
  t.is(r[0].neighbors.length, 3);
  t.is(r[0].neighbors[0].index, 0);
  t.true(r[0].neighbors[0].distance < 1e-3, `distance to itself ${r[0].neighbors[0].distance}`);
  t.true(r[0].neighbors[1].distance >= r[0].neighbors[0].distance);
  const meta = await sharp(sheet).metadata();
  t.is(meta.height, 4 + 76 + 4);
  t.is(meta.width, 8 + 4 * (76 + 4));

  const badLayer = spawnSync(process.execPath, [cli, 'features', '--checkpoint', lastCheckpoint, '--data', data, '--layer', 'fc9', '--out', index], { encoding: 'utf8' });
  t.is(badLayer.status, 1);
  t.regex(badLayer.stderr, /no layer named "fc9"; this model's layers are conv1, /);
  const noIndex = spawnSync(process.execPath, [cli, 'neighbors', '--checkpoint', lastCheckpoint, '--index', path.join(dir, 'none.st'), query], { encoding: 'utf8' });
  t.is(noIndex.status, 1);
  t.regex(noIndex.stderr, /feature index not found: .*none\.st/);
});
