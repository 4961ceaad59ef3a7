// torchvision's AlexNet: the preset's shapes, its weights read from torch.save's .pth and from
// safetensors, and the logits PyTorch computed for the same batch (the fixture written by
// test/fixtures/make_torchvision_fixture.py); the .pth reader refusing what a state_dict does
// not hold (a pickle naming os.system, an unknown opcode) and damaged files.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor } from '../lib/core/tensor';
import { decodePytorch } from '../lib/io/pytorch';
import { crc32 } from '../lib/io/zip';
import { Dropout } from '../lib/nn/layers';
import { Network } from '../lib/nn/network';
import { foldTorchvisionInput, IMAGENET_MEAN, IMAGENET_STD, loadPretrained, readWeights } from '../lib/nn/pretrained';
import { alexnet, summarize } from '../lib/nn/spec';
import { eachBackend } from './_backends';

const FIXTURES = path.join(__dirname, 'fixtures');
const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'torchvision_narrow.json'), 'utf8')) as {
  width: number; classes: number; pixels: number[]; tensors: Record<string, number[]>; logits: number[][];
};

test("the torchvision preset has torchvision's 61,100,840 parameters and its maps for a 224 input", (t) => {
  const config = alexnet({ arch: 'torchvision' });
  const { rows, total } = summarize(config);
  t.is(total, 61_100_840);  // sum(p.numel() for p in torchvision.models.alexnet().parameters())
  const out = (name: string) => rows.find((r) => r.name === name)!.output;
  t.deepEqual(out('conv1'), [64, 55, 55]);
  t.deepEqual(out('pool5'), [256, 6, 6]);
  t.is(config.layers.filter((l) => l.type === 'lrn').length, 0);
  const order = config.layers.map((l) => l.name);
  t.true(order.indexOf('drop6') < order.indexOf('fc6') && order.indexOf('drop7') < order.indexOf('fc7'));
  t.true(config.layers.every((l) => l.type !== 'dropout' || l.style === 'inverted'));
  // the paper's model keeps the paper's dropout (no style field: its config is unchanged)
  t.true(alexnet().layers.every((l) => l.type !== 'dropout' || l.style === undefined));
});

/** torchvision's input for the fixture's uint8 batch, in float32 steps as PyTorch does them. */
function torchvisionInput(): Float32Array {
  const pixels = fs.readFileSync(path.join(FIXTURES, 'torchvision_narrow_pixels.u8'));
  const [n, c, h, w] = fixture.pixels;
  t0(pixels.length === n * c * h * w);
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < x.length; i++) {
    const ch = Math.floor(i / (h * w)) % c;
    x[i] = Math.fround(Math.fround(Math.fround(pixels[i] / 255) - Math.fround(IMAGENET_MEAN[ch])) / Math.fround(IMAGENET_STD[ch]));
  }
  return x;
}

function t0(ok: boolean): void {
  if (!ok) throw new Error('fixture pixels do not match their shape');
}

function maxError(got: Float32Array, want: number[][]): { abs: number; scale: number } {
  const flat = want.flat();
  let abs = 0, scale = 0;
  flat.forEach((v, i) => {
    abs = Math.max(abs, Math.abs(got[i] - v));
    scale = Math.max(scale, Math.abs(v));
  });
  return { abs, scale };
}

for (const file of ['torchvision_narrow.pth', 'torchvision_narrow.safetensors']) {
  eachBackend(`${file}: torchvision's weights give PyTorch's logits`, (t, b) => {
    const config = alexnet({ arch: 'torchvision', width: fixture.width, classes: fixture.classes });
    const net = new Network(config, { seed: 1, device: b.device });
    const w = loadPretrained(net, path.join(FIXTURES, file), { foldInput: false });
    t.true(w.torchvision);
    t.is(w.kind, file.endsWith('.pth') ? 'pytorch' : 'safetensors');
    const x = Tensor.fromArray(torchvisionInput(), fixture.pixels, b.device);
    const logits = net.forward(x, { training: false, seed: 0, step: 0 });
    const { abs, scale } = maxError(logits.toFloat32Array(), fixture.logits);
    t.log(`max |ours - torch| ${abs.toExponential(2)} over logits up to ${scale.toFixed(3)}`);
    t.true(scale > 0.05, 'the fixture logits are not all near zero');
    t.true(abs < 1e-4 * scale, `max abs error ${abs}`);
    for (const z of [x, logits]) z.dispose();
    net.dispose();
  });
}

test('.pth and safetensors hold the same tensors, with torchvision\'s names and shapes', (t) => {
  const pth = readWeights(path.join(FIXTURES, 'torchvision_narrow.pth'));
  const st = readWeights(path.join(FIXTURES, 'torchvision_narrow.safetensors'));
  t.deepEqual([...pth.fileNames.values()], Object.keys(fixture.tensors));
  for (const [name, a] of pth.tensors) {
    t.deepEqual(a.shape, fixture.tensors[pth.fileNames.get(name)!]);
    t.deepEqual(Array.from(a.data), Array.from(st.tensors.get(name)!.data), name);
  }
});

test('folding the normalisation into conv1 takes (pixels - mean) * inputScale to the same logits', (t) => {
  const config = alexnet({ arch: 'torchvision', width: fixture.width, classes: fixture.classes });
  const net = new Network(config, { seed: 1 });
  loadPretrained(net, path.join(FIXTURES, 'torchvision_narrow.pth'), { foldInput: true });
  const pixels = fs.readFileSync(path.join(FIXTURES, 'torchvision_narrow_pixels.u8'));
  const hw = 224 * 224, s = config.options.inputScale;
  const ours = Float32Array.from(pixels, (p, i) => (p - 255 * IMAGENET_MEAN[Math.floor(i / hw) % 3]) * s);
  const x = Tensor.fromArray(ours, fixture.pixels);
  const logits = net.forward(x, { training: false, seed: 0, step: 0 });
  const { abs, scale } = maxError(logits.toFloat32Array(), fixture.logits);
  t.true(abs < 1e-4 * scale, `max abs error ${abs}`);
  t.throws(() => foldTorchvisionInput({ shape: [2, 1, 3, 3], data: new Float32Array(18) }), { message: /3 input channels/ });
  x.dispose();
  logits.dispose();
  net.dispose();
});

test('a missing or mis-shaped tensor is named, with torchvision\'s name', (t) => {
  const wide = new Network(alexnet({ arch: 'torchvision', width: 0.1, classes: fixture.classes }), { seed: 1 });
  t.throws(() => loadPretrained(wide, path.join(FIXTURES, 'torchvision_narrow.pth'), { foldInput: false }), {
    message: /torchvision_narrow\.pth: features\.0\.weight has shape \[3,3,11,11\] but this model's conv1\.weight is \[6,3,11,11\]/,
  });
  wide.dispose();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tv-'));
  const st = fs.readFileSync(path.join(FIXTURES, 'torchvision_narrow.safetensors'));
  // drop classifier.6.bias from the header: the last tensor, so the offsets of the rest still hold
  const n = Number(st.readBigUInt64LE(0));
  const header = JSON.parse(st.subarray(8, 8 + n).toString('utf8'));
  delete header['classifier.6.bias'];
  const head = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  const file = path.join(dir, 'missing.safetensors');
  fs.writeFileSync(file, Buffer.concat([len, head, st.subarray(8 + n)]));
  const net = new Network(alexnet({ arch: 'torchvision', width: fixture.width, classes: fixture.classes }), { seed: 1 });
  t.throws(() => loadPretrained(net, file, { foldInput: false }), { message: /no tensor classifier\.6\.bias \(our fc8\.bias\)/ });
  net.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- the reader refuses

/** A zip of stored entries (the layout torch.save writes), for crafted files. */
function storedZip(entries: [string, Buffer][]): Buffer {
  const locals: Buffer[] = [], centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name), crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

// pickle protocol 2 of `os.system('echo pwned')`: what a malicious "checkpoint" holds
const EVIL = Buffer.concat([
  Buffer.from([0x80, 0x02]), Buffer.from('cos\nsystem\n', 'latin1'), Buffer.from([0x71, 0x00]),
  Buffer.from([0x58]), (() => { const b = Buffer.alloc(4); b.writeUInt32LE(10); return b; })(), Buffer.from('echo pwned'),
  Buffer.from([0x85, 0x52, 0x2e]),
]);

test('a pickle that names os.system is refused, naming it, and nothing runs', (t) => {
  const buf = storedZip([['evil/data.pkl', EVIL], ['evil/version', Buffer.from('3\n')]]);
  t.throws(() => decodePytorch(buf, 'evil.pth'), { message: /evil\.pth: refused: the pickle names os\.system, which a state_dict does not hold/ });
});

test('a pickle calling an allowed storage type, or using an opcode a state_dict never does, is refused', (t) => {
  // GLOBAL torch.FloatStorage, EMPTY_TUPLE, REDUCE: a call of something that is only a type marker
  const call = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('ctorch\nFloatStorage\n', 'latin1'), Buffer.from([0x29, 0x52, 0x2e])]);
  t.throws(() => decodePytorch(storedZip([['a/data.pkl', call]]), 'a.pth'), { message: /refused: the pickle calls torch\.FloatStorage/ });
  // INST (0x69) builds an object from a class name: not in a state_dict
  const inst = Buffer.concat([Buffer.from([0x80, 0x02, 0x28]), Buffer.from('ios\nsystem\n', 'latin1'), Buffer.from([0x2e])]);
  t.throws(() => decodePytorch(storedZip([['a/data.pkl', inst]]), 'a.pth'), { message: /refused: pickle opcode 0x69/ });
});

test('a truncated or damaged .pth is refused with a message, never a crash', (t) => {
  const good = fs.readFileSync(path.join(FIXTURES, 'torchvision_narrow.pth'));
  t.throws(() => decodePytorch(good.subarray(0, good.length - 100), 'cut.pth'), { message: /cut\.pth: .*(truncated|central directory|end of central)/ });
  t.throws(() => decodePytorch(good.subarray(0, 5000), 'cut.pth'), { message: /cut\.pth: / });
  const flipped = Buffer.from(good);
  // a byte inside the first storage (features.0.weight's data, after the pickle)
  flipped[good.indexOf(Buffer.from('data/0')) + 200] ^= 0xff;
  t.throws(() => decodePytorch(flipped, 'bad.pth'), { message: /bad\.pth: .*(CRC-32|signature)/ });
  // a pickle cut short inside an opcode
  const zipOfCut = storedZip([['a/data.pkl', Buffer.from([0x80, 0x02, 0x58, 0x10, 0x00])]]);
  t.throws(() => decodePytorch(zipOfCut, 'short.pth'), { message: /short\.pth: the pickle ends inside an opcode/ });
  t.throws(() => decodePytorch(Buffer.from([0x80, 0x02, 0x8a, 0x0a]), 'old.pth'), { message: /legacy torch\.save format/ });
});

eachBackend("inverted dropout (torchvision's): kept values times 1 / (1 - p) in training, the identity at test; the paper's unchanged", (t, b) => {
  const n = 4096;
  const x = Tensor.fromArray(Float32Array.from({ length: n }, (_, i) => 1 + (i % 7)), [1, n], b.device);
  const inv = new Dropout('d', [n], 0.5, 0, 1, 'inverted'), paper = new Dropout('d', [n], 0.5, 0, 1);
  const ctx = { training: true, seed: 11, step: 3 };
  const y = inv.forward(x, ctx).toFloat32Array();
  const yp = paper.forward(x, ctx).toFloat32Array();
  const xs = x.toFloat32Array();
  let kept = 0;
  for (let i = 0; i < n; i++) {
    // the same mask as the paper's layer draws, scaled by 2
    t.true(y[i] === 2 * yp[i], `element ${i}: ${y[i]} vs paper ${yp[i]}`);
    if (yp[i] !== 0) (kept++, t.true(yp[i] === xs[i]));
  }
  t.true(Math.abs(kept / n - 0.5) < 0.05, `kept ${kept} of ${n}`);
  const dy = Tensor.full([1, n], 1, b.device);
  const dx = inv.backward(dy, true)!.toFloat32Array();
  for (let i = 0; i < n; i++) if (dx[i] !== (yp[i] !== 0 ? 2 : 0)) t.fail(`dx[${i}] = ${dx[i]}`);
  t.deepEqual(inv.forward(x, { ...ctx, training: false }).toFloat32Array(), xs);
  t.deepEqual(paper.forward(x, { ...ctx, training: false }).toFloat32Array(), xs.map((v) => v * 0.5));
  inv.dispose();
  paper.dispose();
});
