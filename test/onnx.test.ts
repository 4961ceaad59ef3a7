// export --onnx: the exported file, run by onnxruntime, gives our outputs on random inputs.
import test, { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { alexnet, ModelConfig } from '../lib/nn/spec';
import { Network } from '../lib/nn/network';
import { exportOnnx } from '../lib/tools/export';
import { SoftmaxCrossEntropy } from '../lib/nn/layers';
import { loadCheckpoint, saveCheckpoint } from '../lib/train/checkpoint';
import { Tensor } from '../lib/core/tensor';
import { compare, uniform } from './_reference';

// onnxruntime-node is a dev dependency of this test only; where it is absent (the GPU bundle
// leaves it out: it is most of node_modules) the runtime comparisons skip, saying so.
// The part of onnxruntime-node's API used here (its own types need the package present).
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
const withOrt = (title: string, body: (t: ExecutionContext, runtime: Ort) => Promise<void>) =>
  ort ? test(title, (t) => body(t, ort!)) : test.skip(`${title} (skipped: onnxruntime-node not available: ${ortMissing})`, () => {});

const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alexnet-onnx-'));

const variants = [
  // paper init on pixel-scale inputs: the LRN sums are large enough that its alpha convention shows
  { name: 'two columns (grouped conv and LRN), relu, dropout', options: { width: 0.1, crop: 67, classes: 5, init: 'paper' as const }, range: 100 },
  { name: 'one column, tanh, no LRN, 2x2 pooling, no dropout', options: { width: 0.1, crop: 67, classes: 4, columns: 1 as const, activation: 'tanh' as const, lrn: false, overlappingPool: false, dropout: false, init: 'he' as const }, range: 2 },
];

for (const v of variants) {
  withOrt(`the exported ONNX model matches ours on random inputs (${v.name})`, async (t, ort) => {
    const config = alexnet(v.options);
    const net = new Network(config, { seed: 4 });
    const ck = path.join(dir, `${v.options.classes}.safetensors`);
    saveCheckpoint(ck, net, null, { epoch: 1, batchInEpoch: 0, step: 0, seed: 4, schedule: { kind: 'fixed', lr: 0.01 }, bestValTop1: 1,
      partial: { loss: 0, errors: 0, images: 0, seconds: 0, dataSeconds: 0 } });
    const onnx = path.join(dir, `${v.options.classes}.onnx`);
    const r = spawnSync(process.execPath, [cli, 'export', '--checkpoint', ck, '--onnx', onnx], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);

    const n = 3, crop = config.options.crop;
    const xs = uniform(n * 3 * crop * crop, 5, -v.range, v.range);
    const x = Tensor.fromArray(xs, [n, 3, crop, crop]);
    const logits = net.forward(x, { training: false, seed: 0, step: 0 });
    const xent = new SoftmaxCrossEntropy();
    xent.forward(logits, new Int32Array(n));
    const ours = xent.probabilities().toFloat32Array();

    const session = await ort.InferenceSession.create(onnx);
    const result = await session.run({ input: new ort.Tensor('float32', xs, [n, 3, crop, crop]) });
    const theirs = result.probabilities.data as Float32Array;
    t.log(`probabilities ${Array.from(ours.slice(0, 4), (p) => p.toFixed(4)).join(' ')} ...`);
    t.deepEqual(result.probabilities.dims, [n, config.options.classes]);
    t.is(compare(theirs, ours, 1e-3, 1e-5), null);
    // the weights in the file are the checkpoint's
    t.is(loadCheckpoint(ck).weights.size, net.params().length);
    net.dispose();
  });
}

withOrt('a strong LRN (alpha 0.5, groups 2) exports with alpha converted to ONNX convention', async (t, ort) => {
  // AlexNet's alpha (1e-4) barely moves the outputs, so the conversion is checked on a net
  // where the LRN term dominates: a convention slip changes the outputs by far more than 1e-3.
  const config: ModelConfig = {
    name: 'lrn-check', options: { ...alexnet().options, classes: 3, crop: 8, init: 'he' }, input: [3, 8, 8],
    layers: [
      { type: 'conv', name: 'c1', out: 4, kernel: 3, stride: 1, padding: 1, groups: 1, biasInit: 0 },
      { type: 'lrn', name: 'n1', size: 3, alpha: 0.5, beta: 0.75, k: 1, groups: 2 },
      { type: 'maxpool', name: 'p1', kernel: 3, stride: 2 },
      { type: 'flatten', name: 'f' },
      { type: 'fc', name: 'fc', out: 3, biasInit: 0 },
    ],
  };
  const net = new Network(config, { seed: 9 });
  const weights = new Map(net.params().map((p) => [p.name, { shape: [...p.value.shape], data: p.value.toFloat32Array() }]));
  const onnx = path.join(dir, 'lrn.onnx');
  fs.writeFileSync(onnx, exportOnnx(config, weights));
  const xs = uniform(2 * 3 * 8 * 8, 6, -3, 3);
  const x = Tensor.fromArray(xs, [2, 3, 8, 8]);
  const logits = net.forward(x, { training: false, seed: 0, step: 0 });
  const xent = new SoftmaxCrossEntropy();
  xent.forward(logits, new Int32Array(2));
  const ours = xent.probabilities().toFloat32Array();
  const session = await ort.InferenceSession.create(onnx);
  const theirs = (await session.run({ input: new ort.Tensor('float32', xs, [2, 3, 8, 8]) })).probabilities.data as Float32Array;
  t.is(compare(theirs, ours, 1e-4, 1e-6), null);
  net.dispose();
});

test('export with a missing checkpoint or no --onnx is a clear error', (t) => {
  const missing = spawnSync(process.execPath, [cli, 'export', '--checkpoint', path.join(dir, 'none.safetensors'), '--onnx', path.join(dir, 'x.onnx')], { encoding: 'utf8' });
  t.is(missing.status, 1);
  t.regex(missing.stderr, /checkpoint not found/);
  const noOut = spawnSync(process.execPath, [cli, 'export', '--checkpoint', 'x'], { encoding: 'utf8' });
  t.is(noOut.status, 2);
  t.regex(noOut.stderr, /--onnx FILE is required/);
});
