// The CPU backend's Winograd convolutions (native/cpu/winograd.cc: F(4x4,3x3) and
// F(4x4,5x5) for stride-1 layers: forward, gradient to the data, gradient to the filters)
// against float64 loops.
// Winograd's transforms round differently from a direct sum, so the check is the bound the
// source states: each output's error at most kBound times the sum of |x| |w| over its window
// (for dx: of |w| |dy|; for dw: the largest such sum of |x| |dy| over the filter's taps),
// which is what a rounding error of a sum of products scales with.
// ALEXNET_CPU_CONV picks the algorithm per call: "winograd" forces it onto small shapes that
// the automatic choice would leave to im2col + GEMM, "gemm" forbids it.
import test, { ExecutionContext } from 'ava';
import * as ops from '../lib/core/ops';
import { backendInfo } from '../lib/core/info';
import { Tensor } from '../lib/core/tensor';
import { withEnv } from './_env';
import { gradCheck, through } from './_gradcheck';
import { compare, ConvCase, convBackwardRef, convOut, convRef, uniform } from './_reference';

/** The bound stated in native/cpu/winograd.cc: 2^-17 of the sum of |products|. */
const kBound = 2 ** -17;

const withAlgorithm = <T>(setting: string | undefined, body: () => T): T => withEnv('ALEXNET_CPU_CONV', setting, body);

/** Largest |actual - exact| / magnitude over all outputs, and the first output over the bound. */
function worstRatio(actual: Float32Array, exact: Float64Array, magnitude: Float64Array, bound: number) {
  let worst = 0;
  let first = '';
  for (let i = 0; i < actual.length; i++) {
    const ratio = Math.abs(actual[i] - exact[i]) / Math.max(magnitude[i], 1e-30);
    if (ratio > worst) worst = ratio;
    if (!first && !(ratio <= bound)) first = `[${i}] ${actual[i]} vs ${exact[i]} (sum of |products| ${magnitude[i]})`;
  }
  return { worst, first };
}

const abs = (a: Float32Array) => a.map(Math.abs);

const cases: Array<ConvCase & { name: string; range: number }> = [
  { name: "conv3-like 3x3 pad 1, 13x13 (partial 4x4 tiles at the edges)", n: 2, c: 32, h: 13, w: 13, k: 24, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 1, range: 1 },
  { name: 'conv4-like with groups 2, pixel-scale inputs', n: 3, c: 32, h: 13, w: 13, k: 32, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 2, range: 150 },
  { name: "conv2-like F(4x4,5x5): 5x5 pad 2, groups 2, 27x27", n: 2, c: 16, h: 27, w: 27, k: 16, kh: 5, kw: 5, stride: [1, 1], pad: [2, 2], groups: 2, range: 1 },
  { name: '3x3 without padding, 10x9', n: 1, c: 5, h: 10, w: 9, k: 7, kh: 3, kw: 3, stride: [1, 1], pad: [0, 0], groups: 1, range: 1 },
  { name: '5x5 pad 1 (between none and full), 11x8', n: 2, c: 6, h: 11, w: 8, k: 3, kh: 5, kw: 5, stride: [1, 1], pad: [1, 1], groups: 1, range: 1 },
  { name: 'unequal padding of rows and columns, one pixel wide', n: 2, c: 3, h: 6, w: 1, k: 4, kh: 3, kw: 3, stride: [1, 1], pad: [0, 1], groups: 1, range: 1 },
  { name: 'images in several chunks (14 images of 64 -> 64 channels at 27x27)', n: 14, c: 64, h: 27, w: 27, k: 64, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 1, range: 1 },
];

for (const p of cases) {
  test(`cpu: winograd conv2d forward, gradient to the data and to the filters within 2^-17 of the sum of |products| (${p.name})`, (t) => {
    const [oh, ow] = convOut(p);
    const xs = uniform(p.n * p.c * p.h * p.w, 61, -p.range, p.range), ws = uniform(p.k * (p.c / p.groups) * p.kh * p.kw, 62);
    const bs = uniform(p.k, 63), dys = uniform(p.n * p.k * oh * ow, 64);
    const x = Tensor.fromArray(xs, [p.n, p.c, p.h, p.w]);
    const w = Tensor.fromArray(ws, [p.k, p.c / p.groups, p.kh, p.kw]);
    const bias = Tensor.fromArray(bs, [p.k]);
    const dy = Tensor.fromArray(dys, [p.n, p.k, oh, ow]);
    const opts = { stride: p.stride, padding: p.pad, groups: p.groups };
    const { y, g } = withAlgorithm('winograd', () => ({ y: ops.conv2d(x, w, bias, opts), g: ops.conv2dBackward(x, w, dy, opts) }));

    const fwd = worstRatio(y.toFloat32Array(), convRef(p, xs, ws, bs), convRef(p, abs(xs), abs(ws), null), kBound);
    t.is(fwd.first, '', `y: ${fwd.first}`);
    const ref = convBackwardRef(p, xs, ws, dys);
    const bwd = worstRatio(g.dx!.toFloat32Array(), ref.dx, convBackwardRef(p, abs(xs), abs(ws), abs(dys)).dx, kBound);
    t.is(bwd.first, '', `dx: ${bwd.first}`);
    // dw: the scale is the filter's own, the largest sum of |x| |dy| over its taps (a tap that
    // sees only padding has an exact gradient of 0 but shares its transforms with the others)
    const taps = p.kh * p.kw, dwMagnitude = convBackwardRef(p, abs(xs), abs(ws), abs(dys)).dw;
    for (let f = 0; f < dwMagnitude.length; f += taps) dwMagnitude.fill(Math.max(...dwMagnitude.subarray(f, f + taps)), f, f + taps);
    const wgt = worstRatio(g.dweight.toFloat32Array(), ref.dw, dwMagnitude, kBound);
    t.is(wgt.first, '', `dweight: ${wgt.first}`);
    t.log(`worst error / sum of |products|: y ${fwd.worst.toExponential(2)}, dx ${bwd.worst.toExponential(2)}, dweight ${wgt.worst.toExponential(2)} (bound ${kBound.toExponential(2)})`);
    // the bias gradient is a plain sum whatever the setting
    t.is(compare(g.dbias!.toFloat32Array(), ref.db, 1e-5, 1e-5), null);
    for (const v of [x, w, bias, dy, y, g.dx!, g.dweight, g.dbias!]) v.dispose();
  });
}

test('cpu: the automatic choice takes winograd for AlexNet conv3 at batch 8 and im2col + GEMM at batch 1; the two agree', (t) => {
  const opts = { stride: 1, padding: 1 };
  const ws = uniform(384 * 256 * 9, 66, -0.01, 0.01);
  const w = Tensor.fromArray(ws, [384, 256, 3, 3]), bias = Tensor.full([384], 0.1);
  for (const n of [8, 1]) {
    const xs = uniform(n * 256 * 169, 65, 0, 20);
    const x = Tensor.fromArray(xs, [n, 256, 13, 13]);
    const auto = withAlgorithm(undefined, () => ops.conv2d(x, w, bias, opts)).toFloat32Array();
    const wino = withAlgorithm('winograd', () => ops.conv2d(x, w, bias, opts)).toFloat32Array();
    const gemm = withAlgorithm('gemm', () => ops.conv2d(x, w, bias, opts)).toFloat32Array();
    t.notDeepEqual(wino, gemm, 'winograd and gemm gave bit-identical results: one of them did not run');
    t.deepEqual(auto, n === 8 ? wino : gemm, `batch ${n}: the automatic choice is not ${n === 8 ? 'winograd' : 'im2col + GEMM'}`);
    // within twice the bound of an upper bound of each output's sum of |products|: max|x| sum|w_k|
    const xmax = xs.reduce((a, v) => Math.max(a, v), 0), magnitude = new Float64Array(gemm.length);
    for (let k = 0; k < 384; k++) {
      let s = 0;
      for (let i = 0; i < 256 * 9; i++) s += Math.abs(ws[k * 256 * 9 + i]);
      for (let i = 0; i < n; i++) magnitude.fill(xmax * s, (i * 384 + k) * 169, (i * 384 + k + 1) * 169);
    }
    const r = worstRatio(wino, Float64Array.from(gemm), magnitude, 2 * kBound);
    t.is(r.first, '', `batch ${n}: ${r.first}`);
    x.dispose();
  }
});

test('cpu: winograd gradients to x and to the filters match finite differences (3x3 pad 1 and 5x5 pad 2, forced onto 3 channels)', (t) => {
  for (const [kernel, padding] of [[3, 1], [5, 2]]) {
    const xShape = [2, 3, 9, 7], wShape = [2, 3, kernel, kernel];
    const opts = { stride: 1, padding };
    const xs = uniform(2 * 3 * 63, 67), ws = uniform(2 * 3 * kernel * kernel, 68);
    const x = Tensor.fromArray(xs, xShape), w = Tensor.fromArray(ws, wShape), bias = Tensor.fromArray([0.3, -0.2], [2]);
    withAlgorithm('winograd', () => {
      const y = ops.conv2d(x, w, bias, opts);
      const r = uniform(y.size, 69);
      const g = ops.conv2dBackward(x, w, Tensor.fromArray(r, y.shape), opts);
      const res = gradCheck(xs, g.dx!.toFloat32Array(), r, through(xShape, 'cpu', (xx) => ops.conv2d(xx, w, bias, opts)));
      t.true(res.checked > 0, 'dx: nothing checked');
      t.deepEqual(res.failures, [], `${kernel}x${kernel} dx: ${res.failures.join('; ')} (${res.checked} checked)`);
      const rw = gradCheck(ws, g.dweight.toFloat32Array(), r, through(wShape, 'cpu', (ww) => ops.conv2d(x, ww, bias, opts)));
      t.true(rw.checked > 0, 'dweight: nothing checked');
      t.deepEqual(rw.failures, [], `${kernel}x${kernel} dweight: ${rw.failures.join('; ')} (${rw.checked} checked)`);
    });
  }
});

test('cpu: a bad ALEXNET_CPU_CONV is an error naming the variable and the choices; info reports the setting', (t: ExecutionContext) => {
  const x = Tensor.zeros([1, 16, 5, 5]), w = Tensor.zeros([16, 16, 3, 3]);
  const err = withAlgorithm('winnograd', () => t.throws(() => ops.conv2d(x, w, null, { padding: 1 })));
  t.regex(err!.message, /ALEXNET_CPU_CONV must be one of auto, gemm, winograd \(got 'winnograd'\)/);
  t.is(withAlgorithm('gemm', () => backendInfo().cpu.convAlgorithm), 'gemm');
  t.is(withAlgorithm(undefined, () => backendInfo().cpu.convAlgorithm), 'auto');
});
