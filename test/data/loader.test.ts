// The batch loader over a prepared folder: determinism, epochs, last batch, workers, shutdown.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Batch, DataLoader, LoaderOptions, batchToTensor, openLoaders } from '../../lib/data/loader';
import { preparedGradients } from './_fixtures';

const SIZE = 20, CROP = 16;
const dir = preparedGradients(SIZE, 23, 7, 3, 5);

async function collect(options: LoaderOptions, epoch = 0): Promise<Batch[]> {
  const loader = new DataLoader(dir, { crop: CROP, batchSize: 4, ...options });
  try {
    const out: Batch[] = [];
    for await (const b of loader.epoch(epoch)) out.push(b);
    return out;
  } finally {
    await loader.close();
  }
}

const strip = (bs: Batch[]) => bs.map((b) => ({ images: b.images, shape: b.shape, labels: b.labels, indices: b.indices }));

test('the same seed gives the same batches, with worker threads or without; another seed differs', async (t) => {
  const a = await collect({ seed: 11, workers: 2 });
  const b = await collect({ seed: 11, workers: 0 });
  const c = await collect({ seed: 11, workers: 1, prefetch: 1 });
  const d = await collect({ seed: 12, workers: 2 });
  t.deepEqual(strip(a), strip(b));
  t.deepEqual(strip(a), strip(c));
  t.notDeepEqual(strip(a).map((x) => x.indices), strip(d).map((x) => x.indices));
});

test('an epoch sees every image once, shuffled differently per epoch; labels follow the images', async (t) => {
  const loader = new DataLoader(dir, { crop: CROP, batchSize: 4, seed: 3, workers: 2, lastBatch: 'keep' });
  const orders: number[][] = [];
  for (const epoch of [0, 1]) {
    const seen: number[] = [];
    for await (const b of loader.epoch(epoch)) {
      t.deepEqual(b.shape, [b.indices.length, 3, CROP, CROP]);
      t.is(b.images.length, b.indices.length * 3 * CROP * CROP);
      for (let k = 0; k < b.indices.length; k++) t.is(b.labels[k], b.indices[k] % 3);
      seen.push(...b.indices);
    }
    t.deepEqual([...seen].sort((x, y) => x - y), Array.from({ length: 23 }, (_, i) => i));
    orders.push(seen);
  }
  t.notDeepEqual(orders[0], orders[1]);
  await loader.close();
});

test('the last partial batch is kept or dropped as asked; train drops and eval keeps by default', async (t) => {
  const keep = await collect({ workers: 0, lastBatch: 'keep' });
  t.deepEqual(keep.map((b) => b.shape[0]), [4, 4, 4, 4, 4, 3]);
  const drop = await collect({ workers: 0, lastBatch: 'drop' });
  t.deepEqual(drop.map((b) => b.shape[0]), [4, 4, 4, 4, 4]);
  t.is(new DataLoader(dir, { batchSize: 4, crop: CROP }).batchesPerEpoch, 5);
  const val = await collect({ split: 'val', workers: 1 });
  t.deepEqual(val.map((b) => b.shape[0]), [4, 3]);
  t.deepEqual(val.flatMap((b) => [...b.indices]), [0, 1, 2, 3, 4, 5, 6], 'eval is in order');
});

test('ten-crop batches hold 10 crops per image and one label per image', async (t) => {
  const bs = await collect({ split: 'val', mode: 'tencrop', workers: 2 });
  t.deepEqual(bs.map((b) => b.shape), [[40, 3, CROP, CROP], [30, 3, CROP, CROP]]);
  t.deepEqual(bs.map((b) => b.labels.length), [4, 3]);
});

test('breaking out of an epoch early stops cleanly; the loader serves the next epoch, then closes', async (t) => {
  const loader = new DataLoader(dir, { crop: CROP, batchSize: 2, workers: 2, prefetch: 4, seed: 1 });
  let n = 0;
  for await (const b of loader.epoch(0)) {
    t.truthy(b);
    if (++n === 2) break;
  }
  const full: Batch[] = [];
  for await (const b of loader.epoch(1)) full.push(b);
  t.is(full.length, loader.batchesPerEpoch);
  const ref = await collect({ batchSize: 2, workers: 0, seed: 1 }, 1);
  t.deepEqual(strip(full), strip(ref), 'results of the abandoned epoch do not leak into the next');
  await loader.close();
  await loader.close(); // twice is fine
  await t.throwsAsync(async () => { for await (const _ of loader.epoch(2)) void _; }, { message: /after close/ });
});

test('a throw inside the loop propagates and leaves no busy worker behind', async (t) => {
  const loader = new DataLoader(dir, { crop: CROP, batchSize: 2, workers: 2 });
  await t.throwsAsync(async () => {
    for await (const _ of loader.epoch(0)) { void _; throw new Error('training blew up'); }
  }, { message: 'training blew up' });
  await loader.close();
});

test('a second epoch while one is being iterated is refused', async (t) => {
  const loader = new DataLoader(dir, { crop: CROP, batchSize: 2, workers: 0 });
  const it = loader.epoch(0);
  await it.next();
  await t.throwsAsync(async () => { await loader.epoch(1).next(); }, { message: /another epoch/ });
  await it.return(undefined);
  await loader.close();
});

test('a truncated shard is an error naming the file, from a worker or not', async (t) => {
  const bad = preparedGradients(SIZE, 8, 0, 2, 8);
  const shard = path.join(bad, 'train', 'shard-00000.bin');
  fs.truncateSync(shard, 3 * SIZE * SIZE * 5);
  for (const workers of [0, 2]) {
    const loader = new DataLoader(bad, { crop: CROP, batchSize: 8, workers, shuffle: false, lastBatch: 'keep' });
    await t.throwsAsync(async () => { for await (const _ of loader.epoch(0)) void _; }, { message: /shard-00000\.bin is truncated/ });
    await loader.close();
  }
});

test('bad options are clear errors', (t) => {
  t.throws(() => new DataLoader(dir, { batchSize: 0 }), { message: 'DataLoader: Expected an integer >= 1 for batchSize but received 0' });
  t.throws(() => new DataLoader(dir, { crop: 21 }), { message: /Expected a crop side <= the stored image side 20 for crop but received 21/ });
  t.throws(() => new DataLoader(dir, { mode: 'x' as never }), { message: /for mode but received "x"/ });
  t.throws(() => new DataLoader(dir, { lastBatch: 'maybe' as never }), { message: /for lastBatch/ });
  t.throws(() => new DataLoader(dir, { seed: -1 }), { message: /for seed but received -1/ });
  t.throws(() => new DataLoader(dir, { workers: 1.5 }), { message: /for workers but received 1.5/ });
  t.throws(() => new DataLoader(dir, { lighting: -0.1 }), { message: /for lighting/ });
  const noVal = preparedGradients(SIZE, 4);
  t.throws(() => new DataLoader(noVal, { split: 'val' }), { message: /has no val split/ });
});

test('openLoaders gives a train and a val loader; batchToTensor makes a float32 NCHW tensor', async (t) => {
  const { train, val } = openLoaders(dir, { train: { crop: CROP, batchSize: 8, workers: 1 }, val: { crop: CROP, batchSize: 8, workers: 0 } });
  t.truthy(val);
  t.is(train.config.mode, 'train');
  t.is(val!.config.mode, 'center');
  const first = (await train.epoch(0).next()).value as Batch;
  await train.close();
  await val!.close();
  let tensor;
  try {
    tensor = batchToTensor(first);
  } catch (err) {
    t.log(`batchToTensor skipped: the native addon did not load (${(err as Error).message})`);
    t.pass();
    return;
  }
  t.deepEqual([...tensor.shape], first.shape);
  t.deepEqual(tensor.toFloat32Array(), first.images);
  tensor.dispose();
});

test('released batches recycle their buffers and the batches stay the same', async (t) => {
  for (const workers of [0, 2]) {
    const ref = await collect({ seed: 4, workers: 0, lastBatch: 'keep' }, 2);
    const loader = new DataLoader(dir, { crop: CROP, batchSize: 4, seed: 4, workers, lastBatch: 'keep', prefetch: 2 });
    const got: Batch[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for (let round = 0; round < 2; round++) {
      let k = 0;
      for await (const b of loader.epoch(2)) {
        t.deepEqual(b.images, ref[k].images, `workers ${workers} round ${round} batch ${k}`);
        t.deepEqual(b.shape, ref[k++].shape);
        buffers.add(b.images.buffer);
        got.push(b);
        loader.release(b);
        loader.release(b); // a second release is ignored
      }
    }
    if (workers === 0) t.true(buffers.size <= 2, `in-thread batches reuse buffers (${buffers.size} distinct)`);
    await loader.close();
  }
});

test('a process that stops early without close() still exits (idle workers do not hold it)', (t) => {
  const script = `
    const { DataLoader } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'lib', 'data', 'loader.js'))});
    (async () => {
      const loader = new DataLoader(${JSON.stringify(dir)}, { crop: ${CROP}, batchSize: 2, workers: 2, prefetch: 6 });
      for await (const b of loader.epoch(0)) { console.log('got', b.shape[0]); break; }
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
  t.is(r.signal, null, 'not killed by the timeout');
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'got 2');
});
