// CIFAR-10/100 binary batches and MNIST IDX files (plain and gzipped), generated here.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { openPrepared, readLabels } from '../../lib/data/format';
import { prepare } from '../../lib/data/prepare';
import { openSource, readIdx } from '../../lib/data/sources';
import { tmpdir } from './_fixtures';

const quiet = { log: () => {}, progress: false };

/** CIFAR record r: pixel (c, i) = (r * 7 + c * 50 + i) mod 256. */
function cifarFile(file: string, labels: number[], labelBytes: 1 | 2, first = 0) {
  const record = labelBytes + 3072;
  const buf = Buffer.alloc(labels.length * record);
  labels.forEach((l, k) => {
    const r = first + k;
    const base = k * record;
    if (labelBytes === 2) buf[base] = 100 + l; // coarse label: ignored
    buf[base + labelBytes - 1] = l;
    for (let c = 0; c < 3; c++) for (let i = 0; i < 1024; i++) buf[base + labelBytes + c * 1024 + i] = (r * 7 + c * 50 + i) % 256;
  });
  fs.writeFileSync(file, buf);
}

function idx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

test('CIFAR-10: records, label names, planar pixels stored exactly at 32x32', async (t) => {
  const dir = tmpdir('cifar10'), out = tmpdir('cifar10-prep');
  cifarFile(path.join(dir, 'data_batch_1.bin'), [3, 1, 4], 1, 0);
  cifarFile(path.join(dir, 'data_batch_2.bin'), [1, 5], 1, 3);
  cifarFile(path.join(dir, 'test_batch.bin'), [9, 2], 1, 5);
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
  const src = openSource(dir);
  t.is(src.kind, 'cifar10');
  t.is(src.classes[3], 'cat');
  t.deepEqual(src.train.map((i) => i.name), ['data_batch_1.bin#0', 'data_batch_1.bin#1', 'data_batch_1.bin#2', 'data_batch_2.bin#0', 'data_batch_2.bin#1']);
  const s = await prepare({ data: dir, out, ...quiet });
  t.is(s.size, 32);
  const data = openPrepared(out);
  t.deepEqual([...readLabels(out, data.index.splits.train)], [3, 1, 4, 1, 5]);
  t.deepEqual([...readLabels(out, data.index.splits.val!)], [9, 2]);
  const shard = fs.readFileSync(path.join(out, data.index.splits.train.shards[0].file));
  for (const r of [0, 4])
    for (const [c, i] of [[0, 0], [1, 33], [2, 1023]]) t.is(shard[r * 3072 + c * 1024 + i], (r * 7 + c * 50 + i) % 256);
});

test('CIFAR-100: the fine label (second byte) is the class; a partial record is a clear error', async (t) => {
  const dir = tmpdir('cifar100');
  cifarFile(path.join(dir, 'train.bin'), [42, 99, 0], 2);
  cifarFile(path.join(dir, 'test.bin'), [7], 2);
  const src = openSource(dir);
  t.is(src.kind, 'cifar100');
  t.is(src.classes.length, 100);
  t.deepEqual(src.train.map((i) => i.label), [42, 99, 0]);
  const out = tmpdir('cifar100-prep');
  await prepare({ data: dir, out, size: 48, ...quiet });
  t.is(openPrepared(out).size, 48, 'resized when asked');
  fs.appendFileSync(path.join(dir, 'train.bin'), Buffer.alloc(10));
  t.throws(() => openSource(dir), { message: /train\.bin has 9232 bytes, which is not a whole number of 3074-byte records/ });
});

test('MNIST IDX, gzipped and not: images expanded to RGB, labels kept', async (t) => {
  for (const gz of [false, true]) {
    const dir = tmpdir(`mnist${gz ? '-gz' : ''}`), out = tmpdir('mnist-prep');
    const n = 5, h = 28, w = 28;
    const pixels = Uint8Array.from({ length: n * h * w }, (_, i) => (i * 13) % 256);
    const write = (name: string, buf: Buffer) => fs.writeFileSync(path.join(dir, name + (gz ? '.gz' : '')), gz ? zlib.gzipSync(buf) : buf);
    write('train-images-idx3-ubyte', idx([n, h, w], pixels));
    write('train-labels-idx1-ubyte', idx([n], Uint8Array.from([7, 2, 1, 0, 4])));
    write('t10k-images-idx3-ubyte', idx([2, h, w], pixels.subarray(0, 2 * h * w)));
    write('t10k-labels-idx1-ubyte', idx([2], Uint8Array.from([9, 9])));
    const s = await prepare({ data: dir, out, ...quiet });
    t.is(s.size, 28);
    t.is(s.train, 5);
    t.is(s.val, 2);
    const data = openPrepared(out);
    t.deepEqual(data.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    t.deepEqual([...readLabels(out, data.index.splits.train)], [7, 2, 1, 0, 4]);
    const shard = fs.readFileSync(path.join(out, data.index.splits.train.shards[0].file));
    const plane = h * w;
    for (const [img, p] of [[0, 0], [1, 100], [4, 783]]) {
      const want = pixels[img * plane + p];
      t.deepEqual([shard[img * 3 * plane + p], shard[img * 3 * plane + plane + p], shard[img * 3 * plane + 2 * plane + p]], [want, want, want]);
    }
  }
});

test('IDX errors name the file and what is wrong', (t) => {
  const dir = tmpdir('idx-bad');
  const f = path.join(dir, 'x');
  fs.writeFileSync(f, Buffer.from([1, 2, 3, 4]));
  t.throws(() => readIdx(f), { message: /IDX file .*x: Expected the magic bytes 00 00 <type> <dims> but received 01 02 03 04/ });
  fs.writeFileSync(f, idx([3], Uint8Array.from([1, 2])));
  t.throws(() => readIdx(f), { message: /Expected 3 bytes of data for dimensions \[3\] but received 2/ });
  fs.writeFileSync(f, Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 0]));
  t.throws(() => readIdx(f), { message: /Expected unsigned-byte data \(type 0x08\) but received type 0xd/ });
  fs.writeFileSync(f, Buffer.from([0x1f, 0x8b, 0, 0]));
  t.throws(() => readIdx(f), { message: /IDX file .*x cannot be read/ });
  fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idx([1, 2, 2], Uint8Array.from([1, 2, 3, 4])));
  t.throws(() => openSource(dir), { message: /has train-images-idx3-ubyte but no train-labels-idx1-ubyte/ });
});
