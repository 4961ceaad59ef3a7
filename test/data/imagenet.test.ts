// ImageNet as distributed: small generated devkit-shaped and Kaggle-shaped folders prepared,
// their validation labels mapped through meta.mat / LOC_val_solution.csv to the sorted-WNID
// classes, the synset words carried into checkpoints and printed by predict, and images decoded
// by content (a PNG named .JPEG, a CMYK JPEG).
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { openPrepared, readLabels } from '../../lib/data/format';
import { openAnySource } from '../../lib/data/imagenet';
import { prepare } from '../../lib/data/prepare';
import { fit } from '../../lib/train/loop';
import { tmpdir } from './_fixtures';

const quiet = { log: () => {}, progress: false };
const META = path.join(__dirname, '..', 'fixtures', 'ilsvrc_meta_small.mat');
const cli = path.join(__dirname, '..', '..', 'lib', 'cli.js');
const SIDE = 40;

// each class one flat colour, so a label can be checked against the pixels it came with;
// muted colours, inside the CMYK gamut, so the CMYK JPEG comes back within a few levels
const COLOUR: Record<string, [number, number, number]> = {
  n01440764: [180, 90, 90], n02085620: [90, 160, 110], n02123045: [90, 100, 170], n04591713: [120, 140, 100],
};
const TRAIN = ['n02123045', 'n01440764', 'n02085620'];  // not sorted on purpose
const SORTED = ['n01440764', 'n02085620', 'n02123045'];
// validation images 1..6 by their devkit ILSVRC2012_ID (meta: 1 tabby, 2 tench, 3 Chihuahua, 4 wine bottle)
const VAL_IDS = [1, 2, 3, 4, 1, 3];
const WNID_OF_ID: Record<number, string> = { 1: 'n02123045', 2: 'n01440764', 3: 'n02085620', 4: 'n04591713' };

type Kind = 'jpeg' | 'png' | 'cmyk';
async function image(file: string, wnid: string, kind: Kind = 'jpeg'): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const [r, g, b] = COLOUR[wnid];
  const img = sharp({ create: { width: SIDE, height: SIDE, channels: 3, background: { r, g, b } } });
  if (kind === 'png') await img.png().toFile(file);
  else if (kind === 'cmyk') await img.toColourspace('cmyk').jpeg({ quality: 95 }).toFile(file);
  else await img.jpeg({ quality: 95 }).toFile(file);
}

/** val image n (1-based): a PNG named .JPEG for n = 2, a CMYK JPEG for n = 3. */
const valKind = (n: number): Kind => (n === 2 ? 'png' : n === 3 ? 'cmyk' : 'jpeg');
const valName = (n: number) => `ILSVRC2012_val_${String(n).padStart(8, '0')}.JPEG`;

async function devkitFolder(): Promise<string> {
  const root = tmpdir('devkit');
  for (const w of TRAIN) for (let i = 0; i < 2; i++) await image(path.join(root, 'train', w, `${w}_${i}.JPEG`), w);
  for (let n = 1; n <= VAL_IDS.length; n++) await image(path.join(root, 'val', valName(n)), WNID_OF_ID[VAL_IDS[n - 1]], valKind(n));
  const data = path.join(root, 'ILSVRC2012_devkit_t12', 'data');
  fs.mkdirSync(data, { recursive: true });
  fs.copyFileSync(META, path.join(data, 'meta.mat'));
  fs.writeFileSync(path.join(data, 'ILSVRC2012_validation_ground_truth.txt'), VAL_IDS.join('\n') + '\n');
  return root;
}

async function kaggleFolder(): Promise<string> {
  const root = tmpdir('kaggle');
  const data = path.join(root, 'ILSVRC', 'Data', 'CLS-LOC');
  for (const w of TRAIN) for (let i = 0; i < 2; i++) await image(path.join(data, 'train', w, `${w}_${i}.JPEG`), w);
  const rows = ['ImageId,PredictionString'];
  for (let n = 1; n <= VAL_IDS.length; n++) {
    const w = WNID_OF_ID[VAL_IDS[n - 1]];
    await image(path.join(data, 'val', valName(n)), w, valKind(n));
    rows.push(`${valName(n).replace('.JPEG', '')},${w} 1 2 30 35 ${w} 3 4 20 25`);
  }
  fs.writeFileSync(path.join(root, 'LOC_val_solution.csv'), rows.join('\n') + '\n');
  fs.writeFileSync(path.join(root, 'LOC_synset_mapping.txt'),
    'n01440764 tench, Tinca tinca\nn02085620 Chihuahua\nn02123045 tabby, tabby cat\nn04591713 wine bottle\n');
  return root;
}

/** Prepared val images (CHW) with their labels; each label's colour must be the image's. */
async function checkPrepared(t: import('ava').ExecutionContext, out: string): Promise<void> {
  const p = openPrepared(out);
  t.deepEqual(p.classes, SORTED);
  t.deepEqual(p.index.classNames, ['tench, Tinca tinca', 'Chihuahua', 'tabby, tabby cat']);
  const split = p.index.splits.val!;
  t.is(split.count, 5);  // the wine bottle image is of a class train does not hold
  const labels = readLabels(out, split);
  const pixels = Buffer.concat(split.shards.map((s) => fs.readFileSync(path.join(out, s.file))));
  const plane = p.size * p.size;
  // the val order is the file order, minus image 4: ids 1, 2, 3, 1, 3
  t.deepEqual(Array.from(labels), [1, 2, 3, 1, 3].map((id) => SORTED.indexOf(WNID_OF_ID[id])));
  for (let i = 0; i < split.count; i++) {
    const centre = i * 3 * plane + (p.size >> 1) * p.size + (p.size >> 1);
    const got = [0, 1, 2].map((c) => pixels[centre + c * plane]);
    const want = COLOUR[SORTED[labels[i]]];
    // the CMYK JPEG round-trips through a colour profile: within a few levels, not exact
    t.true(got.every((v, c) => Math.abs(v - want[c]) <= 16), `val image ${i}: pixels ${got} but class colour ${want}`);
  }
}

test('a devkit-shaped folder: ground-truth ids go through meta.mat to sorted WNIDs; PNG-as-JPEG and CMYK decode', async (t) => {
  const root = await devkitFolder();
  const out = tmpdir('devkit-prepared');
  const s = await prepare({ data: root, out, size: 32, ...quiet });
  t.is(s.skipped.length, 0, JSON.stringify(s.skipped));
  await checkPrepared(t, out);
  // the files really are what the test says they are
  t.is((await sharp(path.join(root, 'val', valName(2))).metadata()).format, 'png');
  t.is((await sharp(path.join(root, 'val', valName(3))).metadata()).space, 'cmyk');
});

test('a Kaggle-shaped folder: LOC_val_solution.csv and LOC_synset_mapping.txt', async (t) => {
  const root = await kaggleFolder();
  const out = tmpdir('kaggle-prepared');
  const s = await prepare({ data: root, out, size: 32, ...quiet });
  t.is(s.skipped.length, 0, JSON.stringify(s.skipped));
  await checkPrepared(t, out);
});

test('the synset words go into the checkpoint and predict prints them', async (t) => {
  const root = await devkitFolder();
  const out = tmpdir('devkit-p2');
  await prepare({ data: root, out, size: 76, ...quiet });
  const r = await fit({
    data: out, out: path.join(out, 'run'), model: { width: 0.1, crop: 67, init: 'he', inputScale: 1 / 64 }, batchSize: 6, epochs: 1,
    lr: 0.01, momentum: 0.9, weightDecay: 0.0005, schedule: 'fixed', patience: 1, stepEvery: 30, device: 'cpu', seed: 3,
    resume: false, tenCrop: false, workers: 0, maxBatches: 0, progress: false, log: () => {},
  });
  const p = spawnSync(process.execPath, [cli, 'predict', '--checkpoint', r.lastCheckpoint, '--top', '3', path.join(root, 'val', valName(1))], { encoding: 'utf8' });
  t.is(p.status, 0, p.stderr);
  t.regex(p.stdout, /%\s+tabby, tabby cat$/m);
  t.regex(p.stdout, /%\s+tench, Tinca tinca$/m);
});

test('bad devkit and Kaggle files are clear errors', async (t) => {
  const root = await devkitFolder();
  fs.writeFileSync(path.join(root, 'ILSVRC2012_devkit_t12', 'data', 'ILSVRC2012_validation_ground_truth.txt'), '1\n2\n7\n');
  t.throws(() => openAnySource(root), { message: /ground_truth\.txt line 3: "7" is not an ILSVRC2012_ID of meta\.mat/ });
  fs.writeFileSync(path.join(root, 'ILSVRC2012_devkit_t12', 'data', 'meta.mat'), Buffer.from('MATLAB 5.0 MAT-file'));
  t.throws(() => openAnySource(root), { message: /meta\.mat: not a MAT-file/ });
  const k = await kaggleFolder();
  fs.writeFileSync(path.join(k, 'LOC_synset_mapping.txt'), 'n01440764 tench\n');
  t.throws(() => openAnySource(k), { message: /train class folder n02085620 is not a synset of LOC_synset_mapping\.txt/ });
});
