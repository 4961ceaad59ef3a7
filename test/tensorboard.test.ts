// Each run writes its scalars as TensorBoard event files in its folder: read back here with an
// independent reader of the record format (its own bitwise CRC-32C and protobuf parsing), and
// with the tensorboard Python package's EventAccumulator where that is installed
// ($ALEXNET_PYTHON, default python3; `pip install tensorboard`).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fit } from '../lib/train/loop';
import { preparedGradients } from './data/_fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alexnet-tb-'));
const out = path.join(dir, 'run');
const run = fit({
  data: preparedGradients(76, 24, 6, 3), out, model: { width: 0.1, crop: 67, init: 'he', inputScale: 1 / 64 }, batchSize: 8, epochs: 2,
  lr: 0.01, momentum: 0.9, weightDecay: 0.0005, schedule: 'fixed', patience: 1, stepEvery: 30, device: 'cpu', seed: 3,
  resume: false, tenCrop: false, workers: 0, maxBatches: 0, progress: false, log: () => {},
});

/** CRC-32C bit by bit (no table), then TensorBoard's mask. */
function masked(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  c = (c ^ 0xffffffff) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

interface Ev { wallTime: number; step: number; fileVersion?: string; scalars: Map<string, number> }

/** Records, each checked, then Event / Summary / Value fields by number. */
function readEvents(file: string): Ev[] {
  const buf = fs.readFileSync(file);
  const events: Ev[] = [];
  for (let at = 0; at < buf.length; ) {
    const n = Number(buf.readBigUInt64LE(at));
    if (buf.readUInt32LE(at + 8) !== masked(buf.subarray(at, at + 8))) throw new Error(`bad length CRC at ${at}`);
    const data = buf.subarray(at + 12, at + 12 + n);
    if (buf.readUInt32LE(at + 12 + n) !== masked(data)) throw new Error(`bad data CRC at ${at}`);
    at += 16 + n;
    const ev: Ev = { wallTime: 0, step: 0, scalars: new Map() };
    for (const [field, v] of proto(data)) {
      if (field === 1) ev.wallTime = (v as Buffer).readDoubleLE(0);
      else if (field === 2) ev.step = v as number;
      else if (field === 3) ev.fileVersion = (v as Buffer).toString('utf8');
      else if (field === 5)
        for (const [f, value] of proto(v as Buffer)) {
          if (f !== 1) continue;
          const kv = new Map(proto(value as Buffer));
          ev.scalars.set((kv.get(1) as Buffer).toString('utf8'), (kv.get(2) as Buffer).readFloatLE(0));
        }
    }
    events.push(ev);
  }
  return events;
}

function proto(b: Buffer): [number, number | Buffer][] {
  const out: [number, number | Buffer][] = [];
  let at = 0;
  const varint = () => {
    let v = 0, s = 0, x: number;
    do {
      x = b[at++];
      v += (x & 0x7f) * 2 ** s;
      s += 7;
    } while (x & 0x80);
    return v;
  };
  while (at < b.length) {
    const key = varint(), field = Math.floor(key / 8), wire = key & 7;
    if (wire === 0) out.push([field, varint()]);
    else if (wire === 1) (out.push([field, b.subarray(at, at + 8)]), (at += 8));
    else if (wire === 5) (out.push([field, b.subarray(at, at + 4)]), (at += 4));
    else if (wire === 2) {
      const n = varint();
      out.push([field, b.subarray(at, at + n)]);
      at += n;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

const metricsOf = () => fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const eventFiles = () => fs.readdirSync(out).filter((f) => f.startsWith('events.out.tfevents.'));

test("the run's event file holds each epoch's scalars, in records whose CRCs check", async (t) => {
  const r = await run;
  const files = eventFiles();
  t.is(files.length, 1);
  const events = readEvents(path.join(out, files[0]));
  t.is(events[0].fileVersion, 'brain.Event:2');
  const scalars = events.slice(1);
  const metrics = metricsOf();
  t.is(scalars.length, metrics.length);
  scalars.forEach((ev, i) => {
    const m = metrics[i];
    t.is(ev.step, (i + 1) * 3);  // optimizer steps: 24 images / batch 8 per epoch
    t.true(Math.abs(ev.wallTime - Date.now() / 1000) < 600);
    t.is(ev.scalars.get('train/loss'), Math.fround(m.train_loss));
    t.is(ev.scalars.get('val/top1_error'), Math.fround(m.val_top1_error));
    t.is(ev.scalars.get('val/top5_error'), Math.fround(m.val_top5_error));
    t.is(ev.scalars.get('lr'), Math.fround(m.lr));
    t.is(ev.scalars.get('images_per_second'), Math.fround(m.images_per_second));
    t.is(ev.scalars.get('epoch'), m.epoch);
  });
  t.is(r.metrics.length, 2);
});

const python = process.env.ALEXNET_PYTHON ?? 'python3';
const probe = spawnSync(python, ['-c', 'import tensorboard'], { encoding: 'utf8' });
const READ = `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator(sys.argv[1]); ea.Reload()
print(json.dumps({tag: [[e.step, e.value] for e in ea.Scalars(tag)] for tag in ea.Tags()['scalars']}))
`;
if (probe.status === 0)
  test("tensorboard's own EventAccumulator reads the run's scalars", async (t) => {
    await run;
    const r = spawnSync(python, ['-c', READ, out], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const tags = JSON.parse(r.stdout) as Record<string, [number, number][]>;
    const metrics = metricsOf();
    t.deepEqual(Object.keys(tags).sort(), ['epoch', 'images_per_second', 'lr', 'train/loss', 'train/top1_error', 'val/top1_error', 'val/top5_error']);
    t.deepEqual(tags['train/loss'].map(([s]) => s), [3, 6]);
    tags['train/loss'].forEach(([, v], i) => t.is(v, Math.fround(metrics[i].train_loss)));
    tags['val/top1_error'].forEach(([, v], i) => t.is(v, Math.fround(metrics[i].val_top1_error)));
  });
else
  test.skip(`tensorboard's own EventAccumulator reads the run's scalars (skipped: ${python} has no tensorboard package: ${(probe.stderr || String(probe.error)).trim().split('\n').pop()})`, () => {});
