// By hand, where PyTorch is installed: the full-size torchvision AlexNet on the fixture's batch.
//   python3 test/fixtures/make_torchvision_fixture.py --out /tmp --full /tmp/alexnet_full.json [--pretrained alexnet-owt-7be5be79.pth]
//   node benchmarks/torchvision_full.js /tmp/alexnet_full.json
// reads /tmp/alexnet_full.json.pth (233 MB, torch.save) with our reader, runs our CPU network
// on the same 2 images and prints the largest difference from PyTorch's logits.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../lib/core/tensor';
import { Network } from '../lib/nn/network';
import { IMAGENET_MEAN, IMAGENET_STD, loadPretrained } from '../lib/nn/pretrained';
import { alexnet } from '../lib/nn/spec';

const json = process.argv[2];
if (!json) throw new Error('usage: node benchmarks/torchvision_full.js FULL.json (written by make_torchvision_fixture.py --full)');
const want = JSON.parse(fs.readFileSync(json, 'utf8')) as { torch: string; pretrained: boolean; logits: number[][] };
const pixels = fs.readFileSync(path.join(__dirname, '..', 'test', 'fixtures', 'torchvision_narrow_pixels.u8'));
const plane = 224 * 224;
const x = Float32Array.from(pixels, (p, i) => {
  const c = Math.floor(i / plane) % 3;
  return Math.fround(Math.fround(Math.fround(p / 255) - Math.fround(IMAGENET_MEAN[c])) / Math.fround(IMAGENET_STD[c]));
});
let t = Date.now();
const net = new Network(alexnet({ arch: 'torchvision', classes: 1000 }), { seed: 1 });
loadPretrained(net, `${json}.pth`, { foldInput: false });
const loadSeconds = (Date.now() - t) / 1000;
t = Date.now();
const input = Tensor.fromArray(x, [2, 3, 224, 224]);
const logits = net.forward(input, { training: false, seed: 0, step: 0 }).toFloat32Array();
const flat = want.logits.flat();
let abs = 0, scale = 0, argmaxSame = 0;
flat.forEach((v, i) => ((abs = Math.max(abs, Math.abs(v - logits[i]))), (scale = Math.max(scale, Math.abs(v)))));
for (let n = 0; n < 2; n++) {
  const row = (a: ArrayLike<number>) => Array.from({ length: 1000 }, (_, k) => a[n * 1000 + k]);
  const am = (r: number[]) => r.indexOf(Math.max(...r));
  if (am(row(logits)) === am(row(flat))) argmaxSame++;
}
console.log(JSON.stringify({
  torch: want.torch, pretrained: want.pretrained, parameters: net.parameterCount(), load_seconds: loadSeconds,
  forward_seconds: (Date.now() - t) / 1000, max_abs_error: abs, max_abs_logit: scale, same_top1: `${argmaxSame}/2`,
}));
