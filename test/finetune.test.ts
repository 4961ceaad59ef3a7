// Fine-tuning: --init-from loads every layer of matching shape and re-initialises the rest
// (the classifier, for another class count), saying which; a fine-tuned run reaches a given
// validation accuracy in fewer steps than the same run from scratch; --freeze keeps layers
// fixed and --lr-mult scales a layer's steps.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writePreparedArrays } from '../lib/data/format';
import { encodeSafetensors, readSafetensorsFile } from '../lib/io/safetensors';
import { Network } from '../lib/nn/network';
import { foldTorchvisionInput, readWeights } from '../lib/nn/pretrained';
import { alexnet } from '../lib/nn/spec';
import { initFrom, layerLr, parseLrMult } from '../lib/train/finetune';
import { fit, FitOptions } from '../lib/train/loop';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alexnet-finetune-${name}-`));
const SIZE = 72;

/**
 * Stripes of one period (the class) at a random angle, phase and pair of colours, with noise:
 * a texture whose class survives crops and flips, and which conv1-conv5 learn to tell apart.
 */
function stripes(period: number, seed: number): Uint8Array {
  let s = (seed * 2654435761 + 12345) >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const angle = rnd() * Math.PI, phase = rnd() * 2 * Math.PI;
  const fg = [rnd(), rnd(), rnd()].map((v) => 200 + 55 * v), bg = [rnd(), rnd(), rnd()].map((v) => 50 * v);
  const img = new Uint8Array(3 * SIZE * SIZE);
  const [c, sn] = [Math.cos(angle), Math.sin(angle)];
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const a = 0.5 + 0.5 * Math.sin((2 * Math.PI * (x * c + y * sn)) / period + phase);
      for (let ch = 0; ch < 3; ch++) img[ch * SIZE * SIZE + y * SIZE + x] = Math.max(0, Math.min(255, Math.round(a * fg[ch] + (1 - a) * bg[ch] + 10 * (rnd() - 0.5))));
    }
  return img;
}

function stripeSet(periods: number[], train: number, val: number, seed: number): string {
  const dir = tmp('data');
  const split = (n: number, offset: number) => ({
    images: Array.from({ length: n }, (_, i) => stripes(periods[i % periods.length], seed + offset + i)),
    labels: Array.from({ length: n }, (_, i) => i % periods.length),
  });
  writePreparedArrays(dir, { size: SIZE, classes: periods.map((p) => `period${p}`), train: split(train, 0), val: split(val, 100_000) });
  return dir;
}

function options(data: string, out: string, extra: Partial<FitOptions> = {}): FitOptions {
  return {
    data, out, model: { width: 0.1, crop: 67, init: 'he', inputScale: 1 / 64, lrn: false, columns: 1 }, batchSize: 16, epochs: 6, lr: 0.01, momentum: 0.9,
    weightDecay: 0.0005, schedule: 'fixed', patience: 1, stepEvery: 30, device: 'cpu', seed: 3, resume: false,
    tenCrop: false, workers: 0, maxBatches: 0, progress: false, log: () => {}, ...extra,
  };
}

test('a run fine-tuned from a checkpoint on other classes reaches 90% validation accuracy in fewer steps than from scratch', async (t) => {
  // pretraining: 4 stripe periods; the new task: 3 other periods from 24 images (a new 3-way classifier)
  const pre = await fit(options(stripeSet([4, 8, 16, 32], 96, 32, 1), tmp('pre'), { epochs: 8 }));
  t.log(`pretraining: val top-1 error ${pre.metrics.map((m) => m.val_top1_error.toFixed(2)).join(' ')}`);
  const data = stripeSet([6, 11, 24], 24, 32, 2);
  const lines: string[] = [];
  // the same settings but for where the weights start; the fine-tuned run keeps the pretrained
  // convolutions fixed (--freeze), the scratch run trains them (freezing random ones would only hurt it)
  const same = { batchSize: 8, lrMult: { fc8: 3 } };
  const tuned = await fit(options(data, tmp('tuned'), {
    ...same, initFrom: pre.lastCheckpoint, freeze: ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'], log: (l) => lines.push(l),
  }));
  const scratch = await fit(options(data, tmp('scratch'), same));
  const stepsPerEpoch = 3;
  const reached = (r: typeof tuned) => {
    const e = r.metrics.findIndex((m) => m.val_top1_error <= 0.1);
    return e < 0 ? Infinity : (e + 1) * stepsPerEpoch;
  };
  t.log(`val top-1 error fine-tuned: ${tuned.metrics.map((m) => m.val_top1_error.toFixed(2)).join(' ')}; from scratch: ${scratch.metrics.map((m) => m.val_top1_error.toFixed(2)).join(' ')}`);
  t.true(Number.isFinite(reached(tuned)), 'the fine-tuned run reaches 90%');
  t.true(reached(tuned) < reached(scratch), `fine-tuned after ${reached(tuned)} steps, from scratch after ${reached(scratch)}`);
  const log = lines.find((l) => l.startsWith('initialised from'))!;
  t.regex(log, /loaded conv1, conv2, conv3, conv4, conv5, fc6, fc7; kept a fresh initialisation: fc8 \(fc8\.weight is \[4,\d+\], the model's fc8\.weight \[3,\d+\]\)/);
});

test('initFrom loads matching layers only; --freeze and --lr-mult name real layers', (t) => {
  const dir = tmp('init');
  const a = new Network(alexnet({ width: 0.1, crop: 67, classes: 5, columns: 1 }), { seed: 1 });
  const file = path.join(dir, 'a.safetensors');
  // any safetensors file with our names will do: write a's weights
  fs.writeFileSync(file, encodeSafetensors(a.toSingleDevice((p) => p.value)));
  const b = new Network(alexnet({ width: 0.1, crop: 67, classes: 3, columns: 1 }), { seed: 2 });
  const before = b.toSingleDevice((p) => p.value);
  const report = initFrom(b, file, () => {});
  t.deepEqual(report.loaded, ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7']);
  t.deepEqual([...report.skipped.keys()], ['fc8']);
  const after = b.toSingleDevice((p) => p.value), src = a.toSingleDevice((p) => p.value);
  t.deepEqual(after.get('conv3.weight')!.data, src.get('conv3.weight')!.data);
  t.deepEqual(after.get('fc8.weight')!.data, before.get('fc8.weight')!.data);
  const other = new Network(alexnet({ width: 0.2, crop: 67, classes: 3, columns: 1 }), { seed: 2 });
  t.throws(() => initFrom(other, file, () => {}), { message: /no layer of this model matches/ });
  for (const n of [a, b, other]) n.dispose();

  const config = alexnet({ width: 0.1, crop: 67, classes: 3 });
  t.deepEqual(layerLr(config, { freeze: ['conv1'], lrMult: { fc8: 10 } }), { fc8: 10, conv1: 0 });
  t.throws(() => layerLr(config, { freeze: ['conv9'] }), { message: /--freeze: no layer with weights named "conv9"/ });
  t.throws(() => layerLr(config, { lrMult: { relu1: 2 } }), { message: /--lr-mult: no layer with weights named "relu1"/ });
  t.deepEqual(parseLrMult('fc8=10, fc7=2.5'), { fc8: 10, fc7: 2.5 });
  t.throws(() => parseLrMult('fc8'), { message: /--lr-mult: expected LAYER=MULTIPLIER/ });
});

test('frozen layers keep their weights through training; the others move', async (t) => {
  const data = stripeSet([4, 10], 16, 8, 5);
  const r = await fit(options(data, tmp('frozen'), { epochs: 1, freeze: ['conv1', 'fc6'] }));
  const init = new Network(alexnet({ width: 0.1, crop: 67, init: 'he', inputScale: 1 / 64, lrn: false, columns: 1, classes: 2 }), { seed: 3 });
  const start = init.toSingleDevice((p) => p.value);
  const end = readSafetensorsFile(r.lastCheckpoint).tensors;
  for (const name of ['conv1.weight', 'conv1.bias', 'fc6.weight']) t.deepEqual(end.get(name)!.data, start.get(name)!.data, name);
  for (const name of ['conv2.weight', 'fc8.weight']) t.notDeepEqual(end.get(name)!.data, start.get(name)!.data, name);
  init.dispose();
});

test("--init-from a torchvision .pth: torchvision's names are mapped, conv1 takes our input, a new classifier starts afresh", (t) => {
  const file = path.join(__dirname, 'fixtures', 'torchvision_narrow.pth');
  const net = new Network(alexnet({ arch: 'torchvision', width: 0.05, classes: 5 }), { seed: 1 });
  const lines: string[] = [];
  const report = initFrom(net, file, (l) => lines.push(l));
  t.deepEqual(report.loaded, ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7']);
  t.regex(lines[0], /\(torchvision's names\).*fc8 \(classifier\.6\.weight is \[10,205\], the model's fc8\.weight \[5,205\]\)/);
  const w = readWeights(file).tensors;
  const got = net.toSingleDevice((p) => p.value);
  t.deepEqual(got.get('conv2.weight')!.data, w.get('conv2.weight')!.data);
  t.deepEqual(got.get('conv1.weight')!.data, foldTorchvisionInput(w.get('conv1.weight')!, net.config.options.inputScale).data);
  net.dispose();
});
