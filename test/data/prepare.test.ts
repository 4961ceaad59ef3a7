// prepare over image folders: decoding rules, the mean image, bad files, resume, clear errors.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { main } from '../../lib/cli';
import { openPrepared, readLabels } from '../../lib/data/format';
import { DataLoader } from '../../lib/data/loader';
import { decodeImage, prepare } from '../../lib/data/prepare';
import { generateSynthetic } from '../../lib/data/synthetic';
import { gradient, tmpdir } from './_fixtures';

const quiet = { log: () => {}, progress: false };

function hwc(chw: Uint8Array, size: number): Buffer {
  const out = Buffer.alloc(chw.length);
  const plane = size * size;
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = chw[c * plane + i];
  return out;
}

async function png(file: string, chw: Uint8Array, size: number) {
  await sharp(hwc(chw, size), { raw: { width: size, height: size, channels: 3 } }).png().toFile(file);
}

test('the synthetic set is deterministic for a seed and differs across seeds', async (t) => {
  const a = tmpdir('syn-a'), b = tmpdir('syn-b'), c = tmpdir('syn-c');
  const opts = { classes: 3, trainPerClass: 2, valPerClass: 1, minSide: 40, maxSide: 60 };
  const ra = await generateSynthetic({ out: a, seed: 4, ...opts });
  await generateSynthetic({ out: b, seed: 4, ...opts });
  await generateSynthetic({ out: c, seed: 5, ...opts });
  t.deepEqual(ra.classes, ['00_disc', '01_square', '02_triangle']);
  const files = (d: string) => ['train', 'val'].flatMap((s) => ra.classes.flatMap((k) => fs.readdirSync(path.join(d, s, k)).map((f) => path.join(s, k, f))));
  t.is(files(a).length, 9);
  t.deepEqual(files(a), files(b));
  for (const f of files(a)) t.true(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f);
  t.false(files(a).every((f) => fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(c, f)))));
  const meta = await sharp(path.join(a, files(a)[0])).metadata();
  t.is(meta.format, 'jpeg');
  t.true(meta.width! >= 40 && meta.width! <= 60);
  const again = await generateSynthetic({ out: a, seed: 4, ...opts });
  t.true(again.cached, 'a matching set on disk is reused');
});

test('synthetic -> prepare -> loader: counts, classes, mean image equal to the mean of the stored images', async (t) => {
  const src = tmpdir('syn'), out = tmpdir('syn-prep');
  await generateSynthetic({ out: src, seed: 1, classes: 4, trainPerClass: 3, valPerClass: 2, flatVal: true });
  const s = await prepare({ data: src, out, size: 64, shardSize: 5, ...quiet });
  t.is(s.train, 12);
  t.is(s.val, 8);
  t.is(s.skipped.length, 0);
  const data = openPrepared(out);
  t.deepEqual(data.classes, ['00_disc', '01_square', '02_triangle', '03_ring']);
  t.deepEqual(data.index.splits.train.shards.map((x) => x.count), [5, 5, 2]);
  t.deepEqual([...readLabels(out, data.index.splits.train)], [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
  const bytes = 3 * 64 * 64;
  const all = Buffer.concat(data.index.splits.train.shards.map((x) => fs.readFileSync(path.join(out, x.file))));
  for (let i = 0; i < bytes; i += 97) {
    let sum = 0;
    for (let k = 0; k < 12; k++) sum += all[k * bytes + i];
    t.true(Math.abs(data.mean[i] - sum / 12) < 1e-4);
  }
  t.is(data.pca.eigenvalues.length, 3);
  t.true(data.pca.eigenvalues[0] > 0);
  const loader = new DataLoader(out, { crop: 56, batchSize: 4, workers: 1 });
  let n = 0;
  for await (const b of loader.epoch(0)) n += b.shape[0];
  await loader.close();
  t.is(n, 12);

  // The flat validation folder with its labels file gives the same labels.
  fs.rmSync(path.join(src, 'val'), { recursive: true });
  fs.renameSync(path.join(src, 'val_flat'), path.join(src, 'val'));
  const out2 = tmpdir('syn-prep-flat');
  const s2 = await prepare({ data: src, out: out2, size: 64, ...quiet });
  t.is(s2.val, 8);
  t.deepEqual([...readLabels(out2, openPrepared(out2).index.splits.val!)], [0, 0, 1, 1, 2, 2, 3, 3]);
});

test('decodeImage: an exact 256 image is stored pixel for pixel; shorter side to S then centre crop', async (t) => {
  const dir = tmpdir('decode');
  const g = gradient(256);
  await png(path.join(dir, 'g.png'), g, 256);
  t.deepEqual(await decodeImage({ file: path.join(dir, 'g.png') }, 256), g);
  // A 3:1 image, black at the sides and white in the middle 64 of 96 columns: scaled to 48x16,
  // its centre 16x16 crop (original columns 32..63) lies inside the white band.
  const w = 96, h = 32;
  const wide = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 16; x < 80; x++) wide.fill(255, 3 * (y * w + x), 3 * (y * w + x) + 3);
  await sharp(wide, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(dir, 'wide.png'));
  const d = await decodeImage({ file: path.join(dir, 'wide.png') }, 16);
  t.is(d.length, 3 * 16 * 16);
  t.true(d.every((v) => v >= 250), 'centre crop of the wide image is the white middle');
});

test('grayscale, RGBA, CMYK and 16-bit images become 8-bit RGB', async (t) => {
  const dir = tmpdir('kinds');
  const size = 32;
  const rgb = hwc(gradient(size), size);
  const raw = { raw: { width: size, height: size, channels: 3 as const } };
  await sharp(rgb, raw).greyscale().png().toFile(path.join(dir, 'gray.png'));
  await sharp(rgb, raw).ensureAlpha(0.5).png().toFile(path.join(dir, 'rgba.png'));
  await sharp(rgb, raw).toColourspace('cmyk').jpeg().toFile(path.join(dir, 'cmyk.jpg'));
  await sharp(rgb, raw).toColourspace('rgb16').png().toFile(path.join(dir, 'rgb16.png'));
  t.is((await sharp(path.join(dir, 'cmyk.jpg')).metadata()).space, 'cmyk');
  t.is((await sharp(path.join(dir, 'rgb16.png')).metadata()).depth, 'ushort');
  const gray = await decodeImage({ file: path.join(dir, 'gray.png') }, size);
  const plane = size * size;
  t.deepEqual(gray.subarray(0, plane), gray.subarray(plane, 2 * plane), 'grey expanded to equal R and G');
  t.deepEqual(gray.subarray(0, plane), gray.subarray(2 * plane), 'and B');
  t.deepEqual(await decodeImage({ file: path.join(dir, 'rgba.png') }, size), gradient(size), 'alpha dropped, colour kept');
  t.deepEqual(await decodeImage({ file: path.join(dir, 'rgb16.png') }, size), gradient(size), '16-bit scaled to 8-bit exactly');
  const cmyk = await decodeImage({ file: path.join(dir, 'cmyk.jpg') }, size);
  const g = gradient(size);
  let err = 0;
  for (let i = 0; i < g.length; i++) err += Math.abs(cmyk[i] - g[i]);
  t.true(err / g.length < 20, `CMYK converted to RGB (mean abs error ${err / g.length})`);
});

test('corrupt, truncated, empty and non-image files are skipped with a warning each and counted; the rest is kept', async (t) => {
  const src = tmpdir('bad'), out = tmpdir('bad-prep');
  for (const cls of ['a', 'b']) fs.mkdirSync(path.join(src, 'train', cls), { recursive: true });
  await png(path.join(src, 'train', 'a', '1.png'), gradient(24), 24);
  await png(path.join(src, 'train', 'b', '1.png'), gradient(24, 9), 24);
  const jpeg = await sharp(hwc(gradient(24), 24), { raw: { width: 24, height: 24, channels: 3 } }).jpeg().toBuffer();
  fs.writeFileSync(path.join(src, 'train', 'a', 'truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  fs.writeFileSync(path.join(src, 'train', 'a', 'empty.jpg'), '');
  fs.writeFileSync(path.join(src, 'train', 'b', 'notes.txt'), 'not an image');
  const corrupt = Buffer.from(jpeg);
  corrupt.fill(0x55, 2, 200);
  fs.writeFileSync(path.join(src, 'train', 'b', 'corrupt.jpg'), corrupt);
  const lines: string[] = [];
  const s = await prepare({ data: src, out, size: 24, log: (l) => lines.push(l), progress: false });
  t.is(s.train, 2);
  t.is(s.skipped.find((k) => k.file === 'train/a/empty.jpg')?.reason, 'empty file');
  t.deepEqual(s.skipped.map((k) => k.file).sort(), ['train/a/empty.jpg', 'train/a/truncated.jpg', 'train/b/corrupt.jpg', 'train/b/notes.txt']);
  for (const k of s.skipped) t.true(lines.some((l) => l.includes('warning: skipped') && l.includes(k.file)), `warning for ${k.file}`);
  t.true(lines.some((l) => l.includes('4 file(s) skipped')), 'summary counts them');
  t.is(openPrepared(out).index.skipped.length, 4);
});

test('a re-run reuses finished shards and redoes only changed or missing ones', async (t) => {
  const src = tmpdir('resume'), out = tmpdir('resume-prep');
  await generateSynthetic({ out: src, seed: 2, classes: 2, trainPerClass: 4, valPerClass: 1, minSide: 32, maxSide: 48 });
  const first = await prepare({ data: src, out, size: 32, shardSize: 3, ...quiet });
  t.deepEqual([first.shardsWritten, first.shardsReused], [4, 0]);
  const shard1 = path.join(out, 'train', 'shard-00001.bin');
  const before = fs.statSync(shard1).mtimeMs;
  const again = await prepare({ data: src, out, size: 32, shardSize: 3, ...quiet });
  t.deepEqual([again.shardsWritten, again.shardsReused, again.decoded], [0, 4, 0]);
  t.is(fs.statSync(shard1).mtimeMs, before);
  // A shard cut short by a crash (its .json missing) is redone, alone.
  fs.rmSync(path.join(out, 'train', 'shard-00002.json'));
  const third = await prepare({ data: src, out, size: 32, shardSize: 3, ...quiet });
  t.deepEqual([third.shardsWritten, third.shardsReused], [1, 3]);
  // A different size changes every shard.
  const resized = await prepare({ data: src, out, size: 24, shardSize: 3, ...quiet });
  t.deepEqual([resized.shardsWritten, resized.shardsReused], [4, 0]);
  t.is(openPrepared(out).size, 24);
});

test('missing or empty folders, a class with no images and bad labels files are clear errors', async (t) => {
  const root = tmpdir('errors');
  const out = path.join(root, 'out');
  await t.throwsAsync(prepare({ data: path.join(root, 'nope'), out, ...quiet }), { message: /data folder .*nope does not exist/ });
  await t.throwsAsync(prepare({ data: root, out, ...quiet }), { message: /holds no known dataset/ });
  fs.mkdirSync(path.join(root, 'train'));
  await t.throwsAsync(prepare({ data: root, out, ...quiet }), { message: /train folder .*train is empty/ });
  fs.mkdirSync(path.join(root, 'train', 'cat'));
  fs.mkdirSync(path.join(root, 'train', 'dog'));
  await png(path.join(root, 'train', 'cat', '1.png'), gradient(16), 16);
  await t.throwsAsync(prepare({ data: root, out, ...quiet }), { message: /class folder .*dog has no images/ });
  fs.writeFileSync(path.join(root, 'train', 'dog', 'broken.jpg'), 'xx');
  await t.throwsAsync(prepare({ data: root, out, size: 16, ...quiet }), { message: /class 'dog' of .* has no readable training images/ });
  await png(path.join(root, 'train', 'dog', '1.png'), gradient(16, 3), 16);
  fs.mkdirSync(path.join(root, 'val'));
  await png(path.join(root, 'val', 'v1.png'), gradient(16, 5), 16);
  await t.throwsAsync(prepare({ data: root, out, size: 16, ...quiet }), { message: /no class folders and no labels file/ });
  await t.throwsAsync(prepare({ data: root, out, size: 16, valLabels: path.join(root, 'missing.txt'), ...quiet }), { message: /labels file .*missing\.txt cannot be read/ });
  fs.writeFileSync(path.join(root, 'val_labels.txt'), 'v1.png cat extra\n');
  await t.throwsAsync(prepare({ data: root, out, size: 16, ...quiet }), { message: /val_labels\.txt line 1: Expected '<file> <class>' but received 'v1.png cat extra'/ });
  fs.writeFileSync(path.join(root, 'val_labels.txt'), 'v1.png cow\n');
  await t.throwsAsync(prepare({ data: root, out, size: 16, ...quiet }), { message: /line 1: class 'cow' is not a class folder of train/ });
  fs.writeFileSync(path.join(root, 'val_labels.txt'), 'v1.png dog\ngone.png cat\n');
  const s = await prepare({ data: root, out, size: 16, ...quiet });
  t.is(s.val, 1);
  t.deepEqual(s.skipped.map((k) => k.file).sort(), ['train/dog/broken.jpg', 'val/gone.png']);
  t.deepEqual([...readLabels(out, openPrepared(out).index.splits.val!)], [1]);
});

test('the prepare command: usage errors exit 2, bad data exits 1, --synthetic works end to end', async (t) => {
  const root = tmpdir('cmd');
  const errs: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => { errs.push(a.join(' ')); };
  try {
    t.is(await main(['prepare', '--out', root, '--bogus']), 2);
    t.is(await main(['prepare', '--data', root]), 2);
    t.is(await main(['prepare', '--out', root, '--size', 'x', '--data', root]), 2);
    t.is(await main(['prepare', '--data', path.join(root, 'none'), '--out', root]), 1);
    t.is(await main(['prepare', '--synthetic', '--out', root, '--per-class', '2', '--val-per-class', '1', '--size', '40', '--no-progress']), 0);
  } finally {
    console.error = orig;
  }
  t.true(errs.some((e) => e.includes('unknown flag for prepare: --bogus')));
  t.true(errs.some((e) => e.includes('--out DIR is required')));
  t.true(errs.some((e) => e.includes('data folder') && e.includes('does not exist')));
  const data = openPrepared(root);
  t.is(data.index.splits.train.count, 20);
  t.is(data.size, 40);
});

test('ensureSyntheticPrepared generates and prepares once, then finds both again', async (t) => {
  const { ensureSyntheticPrepared } = await import('../../lib/data/index');
  const dir = tmpdir('ensure');
  const opts = { dir, classes: 2, trainPerClass: 3, valPerClass: 1, size: 32, seed: 9 };
  const first = await ensureSyntheticPrepared(opts);
  t.is(first.summary.train, 6);
  t.true(first.summary.shardsWritten > 0);
  const again = await ensureSyntheticPrepared(opts);
  t.is(again.prepared, first.prepared);
  t.deepEqual([again.summary.shardsWritten, again.summary.decoded], [0, 0]);
  t.is(openPrepared(again.prepared).classes.length, 2);
});
