// export's metadata_props (classes, mean, scale, crop and resize rule) and --with-preprocessing:
// onnxruntime-node given the raw 0..255 centre crop of an image returns the probabilities that
// `predict --json` prints for that image.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { centerOffset } from '../lib/data/augment';
import { chwToHwc, decodeFile } from '../lib/tools/predict';
import { fit } from '../lib/train/loop';
import { loadCheckpoint } from '../lib/train/checkpoint';
import { noiseImage, preparedGradients } from './data/_fixtures';

interface Ort {
  InferenceSession: { create(file: string): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[] }>> }> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}
let ort: Ort | null = null;
let ortMissing = '';
try {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  ort = require('onnxruntime-node') as Ort;
} catch (err) {
  ortMissing = (err as Error).message.split('\n')[0];
}

const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alexnet-onnx-meta-'));
const SIZE = 76, CROP = 67;

// torchvision's layout (inverted dropout: Identity in the graph) trained briefly on small data
const trained = fit({
  data: preparedGradients(SIZE, 24, 6, 3), out: path.join(dir, 'run'),
  model: { arch: 'torchvision', width: 0.1, crop: CROP, init: 'he', inputScale: 1 / 64 }, batchSize: 8, epochs: 1,
  lr: 0.01, momentum: 0.9, weightDecay: 0.0005, schedule: 'fixed', patience: 1, stepEvery: 30, device: 'cpu', seed: 3,
  resume: false, tenCrop: false, workers: 0, maxBatches: 0, progress: false, log: () => {},
});

/** ModelProto.metadata_props read straight from the protobuf bytes (field 14: key 1, value 2). */
function metadataProps(buf: Buffer): Record<string, string> {
  const varint = (at: number): [number, number] => {
    let v = 0, shift = 0, b: number;
    do {
      b = buf[at++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return [v, at];
  };
  const fields = (start: number, end: number) => {
    const out: [number, Buffer][] = [];
    for (let at = start; at < end; ) {
      const [key, a] = varint(at);
      const wire = key & 7;
      if (wire === 0) at = varint(a)[1];
      else if (wire === 5) at = a + 4;
      else if (wire === 1) at = a + 8;
      else if (wire === 2) {
        const [n, b] = varint(a);
        out.push([Math.floor(key / 8), buf.subarray(b, b + n)]);
        at = b + n;
      } else throw new Error(`wire type ${wire}`);
    }
    return out;
  };
  const props: Record<string, string> = {};
  for (const [field, entry] of fields(0, buf.length)) {
    if (field !== 14) continue;
    const off = entry.byteOffset - buf.byteOffset;
    const kv = Object.fromEntries(fields(off, off + entry.length).map(([f, v]) => [f, v.toString('utf8')]));
    props[kv[1]] = kv[2];
  }
  return props;
}

test('export writes classes, mean, scale, crop and the resize rule into metadata_props', async (t) => {
  const { lastCheckpoint } = await trained;
  const onnx = path.join(dir, 'plain.onnx');
  const r = spawnSync(process.execPath, [cli, 'export', '--checkpoint', lastCheckpoint, '--onnx', onnx], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const m = metadataProps(fs.readFileSync(onnx));
  t.deepEqual(JSON.parse(m.classes), ['c0', 'c1', 'c2']);
  t.is(Number(m.input_scale), 1 / 64);
  t.is(m.crop, String(CROP));
  t.is(m.image_size, String(SIZE));
  t.is(m.preprocessing_in_graph, 'false');
  t.regex(m.resize, /shorter side is 76 .* centre 67x67/);
  const mean = new Float32Array(Buffer.from(m.mean_image_f32le_base64, 'base64').buffer.slice(0));
  t.deepEqual(JSON.parse(m.mean_image_shape), [3, CROP, CROP]);
  const ck = loadCheckpoint(lastCheckpoint);
  const c = centerOffset(SIZE, CROP);
  t.is(mean[0], ck.input!.mean[c * SIZE + c]);
  t.is(mean[3 * CROP * CROP - 1], ck.input!.mean[2 * SIZE * SIZE + (c + CROP - 1) * SIZE + c + CROP - 1]);
  t.is(JSON.parse(m.mean_rgb).length, 3);
});

if (ort)
  test('export --with-preprocessing: a raw 0..255 crop through onnxruntime gives predict --json\'s probabilities', async (t) => {
    const { lastCheckpoint } = await trained;
    const onnx = path.join(dir, 'pre.onnx');
    const r = spawnSync(process.execPath, [cli, 'export', '--checkpoint', lastCheckpoint, '--onnx', onnx, '--with-preprocessing'], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    t.is(metadataProps(fs.readFileSync(onnx)).preprocessing_in_graph, 'true');
    const session = await ort!.InferenceSession.create(onnx);
    for (const [name, side, seed] of [['noise.png', 100, 1], ['wide.jpg', 90, 2]] as const) {
      const img = path.join(dir, name);
      await sharp(chwToHwc(noiseImage(side, seed), side), { raw: { width: side, height: side, channels: 3 } }).toFile(img);
      const p = spawnSync(process.execPath, [cli, 'predict', '--checkpoint', lastCheckpoint, '--json', '--top', '3', img], { encoding: 'utf8' });
      t.is(p.status, 0, p.stderr);
      const printed = JSON.parse(p.stdout)[0].top as { index: number; probability: number }[];
      // the raw centre crop of the image decoded as predict decodes it
      const chw = await decodeFile(img, SIZE);
      const c = centerOffset(SIZE, CROP);
      const crop = new Float32Array(3 * CROP * CROP);
      for (let ch = 0; ch < 3; ch++)
        for (let y = 0; y < CROP; y++)
          for (let x = 0; x < CROP; x++) crop[(ch * CROP + y) * CROP + x] = chw[ch * SIZE * SIZE + (y + c) * SIZE + x + c];
      const out = await session.run({ input: new ort!.Tensor('float32', crop, [1, 3, CROP, CROP]) });
      const probs = out.probabilities.data as Float32Array;
      t.log(`${name}: predict ${printed.map((q) => `${q.index}:${q.probability.toFixed(5)}`).join(' ')}, onnxruntime ${Array.from(probs, (v) => v.toFixed(5)).join(' ')}`);
      for (const q of printed) t.true(Math.abs(probs[q.index] - q.probability) < 1e-5, `${name} class ${q.index}: ${probs[q.index]} vs ${q.probability}`);
    }
  });
else test.skip(`export --with-preprocessing through onnxruntime (skipped: onnxruntime-node not available: ${ortMissing})`, () => {});
