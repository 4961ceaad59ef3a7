// Every op's forward (and the backward of conv, pooling and linear) against the naive loop
// references of _reference.ts, on small odd shapes, on every backend present.
import test, { ExecutionContext } from 'ava';
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { Backend, backends, eachBackend } from './_backends';
import {
  compare, ConvCase, convBackwardRef, convOut, convRef, linearRef, LrnCase, lrnRef, maxPoolBackwardRef,
  maxPoolRef, PoolCase, poolOut, softmaxXentRef, uniform,
} from './_reference';
import { gemmCloseness } from './_precision';
import { hasBothSides, sameBits } from './_bits';

function close(t: ExecutionContext, what: string, actual: Tensor | Float32Array, expected: ArrayLike<number>, rtol = 1e-4, atol = 1e-5) {
  const a = actual instanceof Tensor ? actual.toFloat32Array() : actual;
  const problem = compare(a, expected, rtol, atol);
  t.is(problem, null, `${what}: ${problem}`);
}

// For the outputs of GEMM-shaped ops (conv2d, linear, gemm): on the cuda backend with TF32
// tensor cores (ALEXNET_GEMM=tf32) the error scales with the result, so the bound does too.
function gemmClose(t: ExecutionContext, b: Backend, what: string, actual: Tensor, expected: ArrayLike<number>, rtol = 1e-4, atol = 1e-5) {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const [r, a] = gemmCloseness(b.name, rtol, atol, scale);
  close(t, `${what} (GEMM ${b.name === 'cuda' ? process.env.ALEXNET_GEMM || 'v1' : b.name})`, actual, expected, r, a);
}

const convCases: Array<ConvCase & { name: string }> = [
  { name: 'batch 1, 3x3, stride 1', n: 1, c: 3, h: 7, w: 9, k: 4, kh: 3, kw: 3, stride: [1, 1], pad: [0, 0], groups: 1 },
  { name: 'batch 3, stride 2, pad 1, groups 2', n: 3, c: 4, h: 9, w: 8, k: 6, kh: 3, kw: 2, stride: [2, 2], pad: [1, 1], groups: 2 },
  { name: 'conv1-like 11x11 stride 4', n: 2, c: 3, h: 23, w: 19, k: 4, kh: 11, kw: 11, stride: [4, 4], pad: [0, 0], groups: 1 },
  { name: 'conv2-like 5x5 pad 2 groups 2', n: 3, c: 4, h: 5, w: 7, k: 4, kh: 5, kw: 5, stride: [1, 1], pad: [2, 2], groups: 2 },
  { name: 'pointwise 1x1 groups 2', n: 2, c: 4, h: 5, w: 3, k: 6, kh: 1, kw: 1, stride: [1, 1], pad: [0, 0], groups: 2 },
  { name: 'asymmetric stride and padding', n: 1, c: 2, h: 6, w: 7, k: 3, kh: 3, kw: 4, stride: [2, 1], pad: [1, 0], groups: 1 },
  // 363 x 3025 im2col floats per image: the CPU backend takes these 9 images in two chunks
  { name: 'conv1 at 227x227, batch 9 (several im2col chunks)', n: 9, c: 3, h: 227, w: 227, k: 4, kh: 11, kw: 11, stride: [4, 4], pad: [0, 0], groups: 1 },
];

for (const p of convCases) {
  eachBackend(`conv2d forward and backward match the loop reference (${p.name})`, (t, b) => {
    const [oh, ow] = convOut(p);
    const xs = uniform(p.n * p.c * p.h * p.w, 1), ws = uniform(p.k * (p.c / p.groups) * p.kh * p.kw, 2), bs = uniform(p.k, 3);
    const dys = uniform(p.n * p.k * oh * ow, 4);
    const x = Tensor.fromArray(xs, [p.n, p.c, p.h, p.w], b.device);
    const w = Tensor.fromArray(ws, [p.k, p.c / p.groups, p.kh, p.kw], b.device);
    const bias = Tensor.fromArray(bs, [p.k], b.device);
    const opts = { stride: p.stride, padding: p.pad, groups: p.groups };
    const y = ops.conv2d(x, w, bias, opts);
    t.deepEqual(y.shape, [p.n, p.k, oh, ow]);
    gemmClose(t, b, 'y', y, convRef(p, xs, ws, bs));
    gemmClose(t, b, 'y without bias', ops.conv2d(x, w, null, opts), convRef(p, xs, ws, null));
    const g = ops.conv2dBackward(x, w, Tensor.fromArray(dys, [p.n, p.k, oh, ow], b.device), opts);
    const ref = convBackwardRef(p, xs, ws, dys);
    gemmClose(t, b, 'dx', g.dx!, ref.dx);
    // dweight and dbias sum N*OH*OW products in float32: the error grows with that count
    const reduction = p.n * oh * ow;
    gemmClose(t, b, 'dweight', g.dweight, ref.dw, 1e-4, Math.max(1e-5, 1e-7 * reduction));
    close(t, 'dbias', g.dbias!, ref.db, 1e-4, Math.max(1e-5, 1e-7 * reduction));
  });
}

const lrnCases: Array<LrnCase & { name: string }> = [
  { name: "paper's n=5, 7 channels", n: 2, c: 7, h: 3, w: 5, size: 5, alpha: 1e-4, beta: 0.75, k: 2, groups: 1 },
  { name: 'groups 2: the window stops at the column boundary', n: 3, c: 8, h: 4, w: 3, size: 5, alpha: 0.3, beta: 0.75, k: 2, groups: 2 },
  { name: 'even window 4, strong alpha', n: 1, c: 6, h: 5, w: 5, size: 4, alpha: 0.5, beta: 0.6, k: 1, groups: 1 },
  { name: 'window wider than the channels', n: 1, c: 3, h: 2, w: 2, size: 9, alpha: 0.2, beta: 0.75, k: 2, groups: 1 },
  { name: 'more than 256 pixels per plane', n: 2, c: 5, h: 17, w: 19, size: 5, alpha: 0.1, beta: 0.75, k: 2, groups: 1 },
];

for (const p of lrnCases) {
  eachBackend(`lrn forward matches the loop reference (${p.name})`, (t, b) => {
    const xs = uniform(p.n * p.c * p.h * p.w, 5, -3, 3);
    const x = Tensor.fromArray(xs, [p.n, p.c, p.h, p.w], b.device);
    close(t, 'y', ops.lrn(x, p), lrnRef(p, xs));
  });
}

eachBackend('lrn with alpha on the sum equals PyTorch LocalResponseNorm(size, alpha*size) semantics', (t, b) => {
  // PyTorch divides by (k + alpha' / size * sum)^beta; with alpha' = alpha * size both agree.
  const p: LrnCase = { n: 1, c: 6, h: 2, w: 2, size: 5, alpha: 1e-4, beta: 0.75, k: 2, groups: 1 };
  const xs = uniform(24, 9, -40, 40);
  const y = ops.lrn(Tensor.fromArray(xs, [1, 6, 2, 2], b.device), p).toFloat32Array();
  const alphaTorch = p.alpha * p.size;
  const expected = new Float64Array(24);
  for (let c = 0; c < 6; c++)
    for (let i = 0; i < 4; i++) {
      let sum = 0;
      for (let j = c - 2; j <= c + 2; j++) if (j >= 0 && j < 6) sum += xs[j * 4 + i] ** 2;
      expected[c * 4 + i] = xs[c * 4 + i] / (p.k + (alphaTorch / p.size) * sum) ** p.beta;
    }
  close(t, 'y', y, expected);
});

const poolCases: Array<PoolCase & { name: string }> = [
  { name: 'overlapping 3x3 stride 2, 13x13 -> 6x6', n: 2, c: 3, h: 13, w: 13, kernel: [3, 3], stride: [2, 2], pad: [0, 0] },
  { name: 'overlapping 3x3 stride 2, odd 7x9', n: 1, c: 2, h: 7, w: 9, kernel: [3, 3], stride: [2, 2], pad: [0, 0] },
  { name: '2x2 stride 2 on odd 7x7', n: 3, c: 2, h: 7, w: 7, kernel: [2, 2], stride: [2, 2], pad: [0, 0] },
  { name: '3x3 stride 1 pad 1', n: 1, c: 2, h: 5, w: 6, kernel: [3, 3], stride: [1, 1], pad: [1, 1] },
  { name: 'non-square window 2x3 stride [1, 2]', n: 2, c: 1, h: 6, w: 9, kernel: [2, 3], stride: [1, 2], pad: [0, 0] },
];

for (const p of poolCases) {
  eachBackend(`maxPool2d forward and backward match the loop reference (${p.name})`, (t, b) => {
    const [oh, ow] = poolOut(p);
    const xs = uniform(p.n * p.c * p.h * p.w, 6);
    const dys = uniform(p.n * p.c * oh * ow, 7);
    const x = Tensor.fromArray(xs, [p.n, p.c, p.h, p.w], b.device);
    const opts = { kernel: p.kernel, stride: p.stride, padding: p.pad };
    const y = ops.maxPool2d(x, opts);
    t.deepEqual(y.shape, [p.n, p.c, oh, ow]);
    close(t, 'y', y, maxPoolRef(p, xs), 0, 0);
    const dx = ops.maxPool2dBackward(x, y, Tensor.fromArray(dys, y.shape, b.device), opts);
    close(t, 'dx', dx, maxPoolBackwardRef(p, xs, dys));
  });
}

eachBackend('maxPool2d backward sends a tie to the first maximum only', (t, b) => {
  const x = Tensor.fromArray([1, 5, 5, 2], [1, 1, 2, 2], b.device);
  const y = ops.maxPool2d(x, { kernel: 2, stride: 2 });
  const dx = ops.maxPool2dBackward(x, y, Tensor.fromArray([3], [1, 1, 1, 1], b.device), { kernel: 2, stride: 2 });
  t.deepEqual(Array.from(dx.toFloat32Array()), [0, 3, 0, 0]);
});

for (const [n, inF, out] of [[1, 5, 3], [3, 17, 9], [7, 64, 33]]) {
  eachBackend(`linear forward and backward match the loop reference (${n}x${inF} -> ${out})`, (t, b) => {
    const xs = uniform(n * inF, 8), ws = uniform(out * inF, 9), bs = uniform(out, 10), dys = uniform(n * out, 11);
    const x = Tensor.fromArray(xs, [n, inF], b.device), w = Tensor.fromArray(ws, [out, inF], b.device);
    const y = ops.linear(x, w, Tensor.fromArray(bs, [out], b.device));
    gemmClose(t, b, 'y', y, linearRef(n, inF, out, xs, ws, bs));
    const g = ops.linearBackward(x, w, Tensor.fromArray(dys, [n, out], b.device));
    const dx = new Float64Array(n * inF), dw = new Float64Array(out * inF), db = new Float64Array(out);
    for (let i = 0; i < n; i++)
      for (let o = 0; o < out; o++) {
        db[o] += dys[i * out + o];
        for (let j = 0; j < inF; j++) {
          dx[i * inF + j] += dys[i * out + o] * ws[o * inF + j];
          dw[o * inF + j] += dys[i * out + o] * xs[i * inF + j];
        }
      }
    gemmClose(t, b, 'dx', g.dx!, dx);
    gemmClose(t, b, 'dweight', g.dweight, dw);
    close(t, 'dbias', g.dbias!, db);
  });
}

// ---- a fused ReLU (conv2d's and linear's relu option): bit for bit the op followed by relu,
// where the backend's epilogue applies it. On cuda, for the GEMM version ALEXNET_GEMM names
// (test:emulator runs this file for each); the split-K cases check that the ReLU follows the
// sum of the partial products, never a partial one.

// How the CUDA GEMM splits K (gemm_tile.cuh's tile_gemm_splits for v1, gemm_tile2.cuh's
// tile_gemm2_splits for the others, on the emulator's default 132 SMs): a case marked split-K
// must take more than one split in every version.
function splitsV1(groups: number, m: number, n: number, k: number): number {
  const tiles = groups * Math.ceil(m / 128) * Math.ceil(n / 128);
  const splits = Math.max(1, Math.min(Math.ceil(528 / tiles), Math.ceil(k / 256), 64));
  const chunk = Math.ceil(Math.ceil(k / splits) / 8) * 8;
  return Math.ceil(k / chunk);
}
function splitsV2(groups: number, m: number, n: number, k: number, sms = Number(process.env.ALEXNET_CUDA_EMULATOR_SMS ?? 132)): number {
  const bm = (Math.ceil(m / 64) * 64 - m) < (Math.ceil(m / 128) * 128 - m) ? 64 : 128;
  const tiles = groups * Math.ceil(m / bm) * Math.ceil(n / 128), slots = 2 * sms;
  let best = 1, bestCost = Math.ceil(tiles / slots) * k;
  for (let s = 2; s <= Math.min(Math.floor(k / 128), 128); s++) {
    const chunk = Math.ceil(Math.ceil(k / s) / 16) * 16, used = Math.ceil(k / chunk);
    const cost = Math.ceil((tiles * used) / slots) * chunk;
    if (cost < 0.9 * bestCost) (best = s, bestCost = cost);
  }
  const chunk = Math.ceil(Math.ceil(k / best) / 16) * 16;
  return Math.ceil(k / chunk);
}

const fusedConvCases: Array<ConvCase & { name: string; splitK?: boolean }> = [
  // GEMM per group: M = 8 kernels, N = 2 * 5 * 5 pixels, K = 32 * 3 * 3 = 288: two splits
  { name: 'split-K: 64 -> 16 channels, 3x3 pad 1, groups 2', n: 2, c: 64, h: 5, w: 5, k: 16, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 2, splitK: true },
  { name: 'stride 2, pad 1, groups 2, odd sizes', n: 3, c: 4, h: 9, w: 8, k: 6, kh: 3, kw: 2, stride: [2, 2], pad: [1, 1], groups: 2 },
  { name: 'conv1-like 11x11 stride 4', n: 2, c: 3, h: 23, w: 19, k: 5, kh: 11, kw: 11, stride: [4, 4], pad: [0, 0], groups: 1 },
];

for (const p of fusedConvCases) {
  eachBackend(`conv2d with relu equals relu(conv2d) bit for bit (${p.name})`, (t, b) => {
    if (p.splitK) {
      const m = p.k / p.groups, [oh, ow] = convOut(p), k = (p.c / p.groups) * p.kh * p.kw;
      t.true(splitsV1(p.groups, m, p.n * oh * ow, k) > 1 && splitsV2(p.groups, m, p.n * oh * ow, k) > 1, 'the case takes split-K');
    }
    const x = Tensor.fromArray(uniform(p.n * p.c * p.h * p.w, 21), [p.n, p.c, p.h, p.w], b.device);
    const w = Tensor.fromArray(uniform(p.k * (p.c / p.groups) * p.kh * p.kw, 22), [p.k, p.c / p.groups, p.kh, p.kw], b.device);
    const bias = Tensor.fromArray(uniform(p.k, 23, -0.5, 0.5), [p.k], b.device);
    const opts = { stride: p.stride, padding: p.pad, groups: p.groups };
    for (const withBias of [true, false]) {
      const fused = ops.conv2d(x, w, withBias ? bias : null, { ...opts, relu: true });
      const plain = ops.conv2d(x, w, withBias ? bias : null, opts);
      const unfused = ops.relu(plain);
      const what = `y${withBias ? '' : ' without bias'} (GEMM ${b.name === 'cuda' ? process.env.ALEXNET_GEMM || 'v1' : b.name})`;
      hasBothSides(t, what, fused);
      sameBits(t, what, fused, unfused);
      sameBits(t, `${what}, relu: false`, ops.conv2d(x, w, withBias ? bias : null, { ...opts, relu: false }), plain);
      for (const y of [fused, plain, unfused]) y.dispose();
    }
  });
}

// linear: GEMM M = batch, N = out, K = in; in = 300 takes two splits
for (const [n, inF, out, splitK] of [[1, 7, 5, false], [3, 300, 37, true], [5, 16, 130, false]] as const) {
  eachBackend(`linear with relu equals relu(linear) bit for bit (${n}x${inF} -> ${out}${splitK ? ', split-K' : ''})`, (t, b) => {
    if (splitK) t.true(splitsV1(1, n, out, inF) > 1 && splitsV2(1, n, out, inF) > 1, 'the case takes split-K');
    const x = Tensor.fromArray(uniform(n * inF, 24), [n, inF], b.device), w = Tensor.fromArray(uniform(out * inF, 25), [out, inF], b.device);
    const bias = Tensor.fromArray(uniform(out, 26, -0.5, 0.5), [out], b.device);
    for (const withBias of [true, false]) {
      const fused = ops.linear(x, w, withBias ? bias : null, { relu: true });
      const plain = ops.linear(x, w, withBias ? bias : null);
      const what = `y${withBias ? '' : ' without bias'} (GEMM ${b.name === 'cuda' ? process.env.ALEXNET_GEMM || 'v1' : b.name})`;
      hasBothSides(t, what, fused);
      sameBits(t, what, fused, ops.relu(plain));
    }
  });
}

eachBackend('a fused ReLU is checked like the other options, and the backward ops ignore it', (t, b) => {
  const x = Tensor.fromArray(uniform(2 * 3 * 5 * 5, 27), [2, 3, 5, 5], b.device), w = Tensor.fromArray(uniform(4 * 3 * 9, 28), [4, 3, 3, 3], b.device);
  t.throws(() => ops.conv2d(x, w, null, { relu: 1 as unknown as boolean }), { message: 'conv2d: Expected true or false for relu but received 1' });
  const xf = Tensor.fromArray(uniform(6, 29), [2, 3], b.device), wf = Tensor.fromArray(uniform(12, 30), [4, 3], b.device);
  t.throws(() => ops.linear(xf, wf, null, { relu: 'yes' as unknown as boolean }), { message: /^linear: Expected true or false for relu but received/ });
  const dy = Tensor.fromArray(uniform(2 * 4 * 3 * 3, 31), [2, 4, 3, 3], b.device);
  const g = ops.conv2dBackward(x, w, dy, { relu: true }), h = ops.conv2dBackward(x, w, dy);
  sameBits(t, 'dx', g.dx!, h.dx!);
  sameBits(t, 'dweight', g.dweight, h.dweight);
  sameBits(t, 'dbias', g.dbias!, h.dbias!);
});

eachBackend('relu and tanh forward and backward match their definitions', (t, b) => {
  const xs = uniform(1000, 12, -3, 3), dys = uniform(1000, 13);
  const x = Tensor.fromArray(xs, [10, 100], b.device), dy = Tensor.fromArray(dys, [10, 100], b.device);
  const r = ops.relu(x);
  close(t, 'relu', r, Array.from(xs, (v) => Math.max(v, 0)), 0, 0);
  close(t, 'relu backward', ops.reluBackward(r, dy), Array.from(xs, (v, i) => (v > 0 ? dys[i] : 0)), 0, 0);
  const th = ops.tanh(x);
  close(t, 'tanh', th, Array.from(xs, Math.tanh), 1e-5, 1e-6);
  close(t, 'tanh backward', ops.tanhBackward(th, dy), Array.from(xs, (v, i) => dys[i] * (1 - Math.tanh(v) ** 2)), 1e-4, 1e-6);
});

eachBackend('softmax cross-entropy matches the loop reference, mean over the batch', (t, b) => {
  const n = 5, classes = 7;
  const zs = uniform(n * classes, 14, -30, 30);
  const labels = Int32Array.from([0, 6, 3, 3, 1]);
  const { loss, probs } = ops.softmaxCrossEntropy(Tensor.fromArray(zs, [n, classes], b.device), labels);
  const ref = softmaxXentRef(n, classes, zs, labels);
  t.true(Math.abs(loss - ref.loss) <= 1e-5 * Math.max(1, ref.loss), `loss ${loss} vs ${ref.loss}`);
  close(t, 'probs', probs, ref.probs, 1e-5, 1e-7);
  const d = ops.softmaxCrossEntropyBackward(probs, labels, 2);
  close(t, 'dlogits', d, Array.from(ref.probs, (q, i) => (2 * (q - (labels[Math.floor(i / classes)] === i % classes ? 1 : 0))) / n), 1e-5, 1e-7);
});

eachBackend('softmax cross-entropy stays finite for huge logits', (t, b) => {
  const { loss, probs } = ops.softmaxCrossEntropy(Tensor.fromArray([1e30, -1e30, 0, 88, 89, 90], [2, 3], b.device), [1, 2]);
  t.true(Number.isFinite(loss));
  t.true(Array.from(probs.toFloat32Array()).every(Number.isFinite));
});

eachBackend('copy and Tensor.to copy values exactly', (t, b) => {
  const xs = uniform(37, 15);
  const x = Tensor.fromArray(xs, [37], b.device);
  const y = x.to('cpu');
  t.deepEqual(y.toFloat32Array(), xs);
  const z = Tensor.zeros([37], b.device);
  ops.copy(x, z);
  t.deepEqual(z.toFloat32Array(), xs);
});

// The built-in blocked GEMM is the CPU's fallback, so it runs on cpu tensors only.
const cpuOnly = (title: string, body: (t: ExecutionContext, b: Backend) => void): void => {
  test(`cpu: ${title}`, (t) => body(t, backends()[0]));
};

for (const builtin of [false, true]) {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    (builtin ? cpuOnly : eachBackend)(`gemm (${builtin ? 'built-in blocked' : 'default'}) transA=${ta} transB=${tb} matches loops`, (t, b) => {
      const m = 37, n = 531, k = 141;  // crosses the built-in GEMM's 16/128/512 blocks
      const as = uniform(m * k, 16), bs = uniform(k * n, 17), cs = uniform(m * n, 18);
      const a = Tensor.fromArray(as, ta ? [k, m] : [m, k], b.device);
      const bb = Tensor.fromArray(bs, tb ? [n, k] : [k, n], b.device);
      const c = Tensor.fromArray(cs, [m, n], b.device);
      ops.gemm(a, bb, c, { transA: ta, transB: tb, alpha: 0.5, beta: 2, builtin });
      const ref = new Float64Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += (ta ? as[p * m + i] : as[i * k + p]) * (tb ? bs[j * k + p] : bs[p * n + j]);
          ref[i * n + j] = 0.5 * s + 2 * cs[i * n + j];
        }
      gemmClose(t, b, 'c', c, ref, 1e-4, 1e-4);
    });
  }
}

eachBackend('add: out = a + b, into a new tensor or in place', (t, b) => {
  const as = uniform(1031, 51), bs = uniform(1031, 52);
  const a = Tensor.fromArray(as, [1031], b.device), bb = Tensor.fromArray(bs, [1031], b.device);
  const expected = Float32Array.from(as, (v, i) => v + bs[i]);
  t.deepEqual(ops.add(a, bb).toFloat32Array(), expected);
  ops.add(a, bb, a);
  t.deepEqual(a.toFloat32Array(), expected);
  t.throws(() => ops.add(a, Tensor.zeros([1030], b.device)), { message: /add: Expected shape \[1031\] for b/ });
});
