// The fast CPU kernels (issue 16) at AlexNet's own channel counts and plane sizes, where the
// vector loops, their tails and the task blocking are exercised, against float64 loops
// straight from the definitions. Finite-difference checks of the same ops are in
// gradients.test.ts.
import { ExecutionContext } from 'ava';
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { eachBackend } from './_backends';
import { gradCheck, through } from './_gradcheck';
import {
  compare, ConvCase, convBackwardRef, convOut, convRef, LrnCase, lrnRef, maxPoolBackwardRef, maxPoolRef, PoolCase, poolOut, uniform,
} from './_reference';

function close(t: ExecutionContext, what: string, actual: Tensor, expected: ArrayLike<number>, rtol: number, atol: number) {
  const problem = compare(actual.toFloat32Array(), expected, rtol, atol);
  t.is(problem, null, `${what}: ${problem}`);
}

/** dx of LRN by the definition's loops in float64 (lib/ops.ts's lrnBackward formula, not its code). */
function lrnBackwardRef(p: LrnCase, x: Float32Array, dy: Float32Array): Float64Array {
  const cg = p.c / p.groups, hw = p.h * p.w, before = Math.floor(p.size / 2), after = Math.floor((p.size - 1) / 2);
  const scale = new Float64Array(x.length);
  for (let n = 0; n < p.n; n++)
    for (let c = 0; c < p.c; c++) {
      const g = Math.floor(c / cg), lo = Math.max(g * cg, c - before), hi = Math.min(g * cg + cg - 1, c + after);
      for (let i = 0; i < hw; i++) {
        let sum = 0;
        for (let j = lo; j <= hi; j++) sum += x[(n * p.c + j) * hw + i] ** 2;
        scale[(n * p.c + c) * hw + i] = p.k + p.alpha * sum;
      }
    }
  // y_j = x_j s_j^-beta; dy_j/dx_i = [i == j] s_j^-beta - 2 alpha beta x_j x_i s_j^(-beta-1) [i in W(j)]
  const dx = new Float64Array(x.length);
  for (let n = 0; n < p.n; n++)
    for (let j = 0; j < p.c; j++) {
      const g = Math.floor(j / cg), lo = Math.max(g * cg, j - before), hi = Math.min(g * cg + cg - 1, j + after);
      for (let q = 0; q < hw; q++) {
        const at = (n * p.c + j) * hw + q, s = scale[at];
        dx[at] += dy[at] * s ** -p.beta;
        for (let i = lo; i <= hi; i++) {
          const ai = (n * p.c + i) * hw + q;
          dx[ai] -= 2 * p.alpha * p.beta * dy[at] * x[at] * x[ai] * s ** (-p.beta - 1);
        }
      }
    }
  return dx;
}

const lrnCases: Array<LrnCase & { name: string; range: number }> = [
  // pixel-scale activations: the paper's alpha moves the outputs by tens of percent
  { name: "lrn2's 2 x 128 channels, 13x13 (vector tails)", n: 2, c: 256, h: 13, w: 13, size: 5, alpha: 1e-4, beta: 0.75, k: 2, groups: 2, range: 150 },
  { name: "lrn1's 2 x 48 channels, 27x27 (three pixel blocks per plane)", n: 1, c: 96, h: 27, w: 27, size: 5, alpha: 1e-4, beta: 0.75, k: 2, groups: 2, range: 150 },
  { name: 'beta 0.6 (the pow path), 17 channels, 11x7', n: 3, c: 17, h: 11, w: 7, size: 5, alpha: 0.01, beta: 0.6, k: 1, groups: 1, range: 10 },
  { name: 'beta 0.75, size 3, strong alpha, one pixel', n: 5, c: 9, h: 1, w: 1, size: 3, alpha: 0.7, beta: 0.75, k: 1, groups: 3, range: 3 },
];

for (const p of lrnCases) {
  eachBackend(`lrn forward and backward match float64 loops (${p.name})`, (t, b) => {
    const shape = [p.n, p.c, p.h, p.w];
    const count = shape.reduce((a, c) => a * c);
    const xs = uniform(count, 31, -p.range, p.range), dys = uniform(count, 32);
    const x = Tensor.fromArray(xs, shape, b.device), dy = Tensor.fromArray(dys, shape, b.device);
    const y = ops.lrn(x, p), dx = ops.lrnBackward(x, dy, p);
    // float32 sums of 5 squares and a few roundings in s^-beta: a few ulp relative
    close(t, 'y', y, lrnRef(p, xs), 2e-6, 1e-6 * p.range);
    close(t, 'dx', dx, lrnBackwardRef(p, xs, dys), 1e-5, 1e-6);
    for (const v of [x, dy, y, dx]) v.dispose();
  });
}

// Convolutions with at least 512 outputs per plane take one image per GEMM, written straight
// into y, with the bias as an extra GEMM column (native/cpu/conv.cc); smaller ones are batched.
const convCases: Array<ConvCase & { name: string }> = [
  { name: 'conv2-like 5x5, pad 2, groups 2, 27x27 (one image per GEMM)', n: 2, c: 4, h: 27, w: 27, k: 6, kh: 5, kw: 5, stride: [1, 1], pad: [2, 2], groups: 2 },
  { name: '3x3 pad 1 at 23x23 (529 outputs: one image per GEMM)', n: 3, c: 3, h: 23, w: 23, k: 2, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 1 },
  { name: '3x3 pad 1 at 22x22 (484 outputs: batched)', n: 3, c: 3, h: 22, w: 22, k: 2, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 1 },
  { name: 'one image, 13x13, groups 2 (a batch of one: one GEMM per group straight into y)', n: 1, c: 4, h: 13, w: 13, k: 6, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 2 },
  { name: 'padding wider than the kernel reaches (stride 1 rows all zero at the edges)', n: 1, c: 2, h: 20, w: 30, k: 3, kh: 3, kw: 3, stride: [1, 1], pad: [3, 3], groups: 1 },
  // Strided ones of at least 512 outputs take one pixel row per output (im2row, runs of KW
  // taps copied in 8- or 4-float pieces, the last one overlapping; KW 11 fixed at compile
  // time), edges zero-filled around shorter runs, and the bias's gradient as a GEMM column.
  { name: "conv1's own shape, 227x227, 11x11 stride 4 (pixel rows, the KW = 11 copy)", n: 2, c: 3, h: 227, w: 227, k: 96, kh: 11, kw: 11, stride: [4, 4], pad: [0, 0], groups: 1 },
  { name: 'stride 3, pad 2, 5x7 kernel wider than the stride, width 71 not a multiple of 3 (runs of 7)', n: 2, c: 2, h: 70, w: 71, k: 3, kh: 5, kw: 7, stride: [3, 3], pad: [2, 2], groups: 1 },
  { name: 'stride (1, 2), pad (0, 1), 3x3 (runs shorter than 4), groups 2', n: 2, c: 4, h: 24, w: 60, k: 4, kh: 3, kw: 3, stride: [1, 2], pad: [0, 1], groups: 2 },
  { name: 'stride 2, pad 4, 9x10 kernel (an 8-float piece, then an overlapping one)', n: 1, c: 3, h: 50, w: 53, k: 5, kh: 9, kw: 10, stride: [2, 2], pad: [4, 4], groups: 1 },
  { name: 'stride (2, 3), padding wider than the kernel (windows wholly in the padding)', n: 2, c: 1, h: 60, w: 40, k: 2, kh: 3, kw: 5, stride: [2, 3], pad: [4, 6], groups: 1 },
  { name: 'stride 2, an image narrower than the kernel (every window at both edges)', n: 1, c: 2, h: 600, w: 4, k: 3, kh: 1, kw: 5, stride: [1, 2], pad: [0, 2], groups: 1 },
];

for (const p of convCases) {
  eachBackend(`conv2d forward and backward match the loop reference (${p.name})`, (t, b) => {
    const [oh, ow] = convOut(p);
    const xs = uniform(p.n * p.c * p.h * p.w, 41), ws = uniform(p.k * (p.c / p.groups) * p.kh * p.kw, 42), bs = uniform(p.k, 43);
    const dys = uniform(p.n * p.k * oh * ow, 44);
    const x = Tensor.fromArray(xs, [p.n, p.c, p.h, p.w], b.device);
    const w = Tensor.fromArray(ws, [p.k, p.c / p.groups, p.kh, p.kw], b.device);
    const bias = Tensor.fromArray(bs, [p.k], b.device);
    const opts = { stride: p.stride, padding: p.pad, groups: p.groups };
    close(t, 'y', ops.conv2d(x, w, bias, opts), convRef(p, xs, ws, bs), 1e-4, 1e-5);
    close(t, 'y without bias', ops.conv2d(x, w, null, opts), convRef(p, xs, ws, null), 1e-4, 1e-5);
    const g = ops.conv2dBackward(x, w, Tensor.fromArray(dys, [p.n, p.k, oh, ow], b.device), opts);
    const ref = convBackwardRef(p, xs, ws, dys);
    // each dx sums (K / groups) * ceil(KH / stride) * ceil(KW / stride) products, in an order
    // that differs by backend: the absolute error grows with that count (at conv1's shape,
    // 864 products of values in [-1, 1], CUDA's serial sum lands 1.6e-5 from float64)
    const dxTerms = (p.k / p.groups) * Math.ceil(p.kh / p.stride[0]) * Math.ceil(p.kw / p.stride[1]);
    close(t, 'dx', g.dx!, ref.dx, 1e-4, Math.max(1e-5, 1e-7 * dxTerms));
    const reduction = p.n * oh * ow;
    close(t, 'dweight', g.dweight, ref.dw, 1e-4, Math.max(1e-5, 1e-7 * reduction));
    close(t, 'dbias', g.dbias!, ref.db, 1e-4, Math.max(1e-5, 1e-7 * reduction));
    // without the bias's gradient: the filter's GEMM has no column of ones
    const noBias = ops.conv2dBackward(x, w, Tensor.fromArray(dys, [p.n, p.k, oh, ow], b.device), opts, { inputGrad: false, biasGrad: false });
    t.is(noBias.dbias, undefined);
    close(t, 'dweight without dbias', noBias.dweight, ref.dw, 1e-4, Math.max(1e-5, 1e-7 * reduction));
  });
}

eachBackend('conv2d gradients to x and weight match finite differences on the one-image-per-GEMM path (23x23, pad 1)', (t, b) => {
  const xShape = [2, 2, 23, 23], wShape = [2, 2, 3, 3];
  const opts = { stride: 1, padding: 1 };
  const xs = uniform(xShape.reduce((a, c) => a * c), 45), ws = uniform(wShape.reduce((a, c) => a * c), 46);
  const x = Tensor.fromArray(xs, xShape, b.device), w = Tensor.fromArray(ws, wShape, b.device), bias = Tensor.fromArray([0.3, -0.2], [2], b.device);
  const y = ops.conv2d(x, w, bias, opts);
  const r = uniform(y.size, 47);
  const g = ops.conv2dBackward(x, w, Tensor.fromArray(r, y.shape, b.device), opts);
  const res = gradCheck(xs, g.dx!.toFloat32Array(), r, through(xShape, b.device, (xx) => ops.conv2d(xx, w, bias, opts)));
  t.true(res.checked > 0, 'dx: nothing checked');
  t.deepEqual(res.failures, [], `dx: ${res.failures.join('; ')} (${res.checked} checked)`);
  const rw = gradCheck(ws, g.dweight.toFloat32Array(), r, through(wShape, b.device, (ww) => ops.conv2d(x, ww, bias, opts)));
  t.true(rw.checked > 0, 'dweight: nothing checked');
  t.deepEqual(rw.failures, [], `dweight: ${rw.failures.join('; ')} (${rw.checked} checked)`);
});

eachBackend('conv2d gradients to x, weight and bias match finite differences on the pixel-row path (stride 3, pad 2, 5x7)', (t, b) => {
  const xShape = [2, 2, 70, 71], wShape = [2, 2, 5, 7];
  const opts = { stride: 3, padding: 2 };
  const xs = uniform(xShape.reduce((a, c) => a * c), 50), ws = uniform(wShape.reduce((a, c) => a * c), 51), bs = Float32Array.from([0.3, -0.2]);
  const x = Tensor.fromArray(xs, xShape, b.device), w = Tensor.fromArray(ws, wShape, b.device), bias = Tensor.fromArray(bs, [2], b.device);
  const y = ops.conv2d(x, w, bias, opts);
  t.deepEqual(y.shape, [2, 2, 24, 23]);
  const r = uniform(y.size, 52);
  const g = ops.conv2dBackward(x, w, Tensor.fromArray(r, y.shape, b.device), opts);
  const checks: Array<[string, Float32Array, Float32Array, number[], (v: Tensor) => Tensor]> = [
    ['dx', xs, g.dx!.toFloat32Array(), xShape, (xx) => ops.conv2d(xx, w, bias, opts)],
    ['dweight', ws, g.dweight.toFloat32Array(), wShape, (ww) => ops.conv2d(x, ww, bias, opts)],
    ['dbias', bs, g.dbias!.toFloat32Array(), [2], (bb) => ops.conv2d(x, w, bb, opts)],
  ];
  for (const [what, input, analytic, shape, f] of checks) {
    const res = gradCheck(input, analytic, r, through(shape, b.device, f));
    t.true(res.checked > 0, `${what}: nothing checked`);
    t.deepEqual(res.failures, [], `${what}: ${res.failures.join('; ')} (${res.checked} checked)`);
  }
});

// ReLU's backward is a blend of dy and 0 on y's sign, in vector loops with tails
eachBackend('relu and its backward at a size with a vector tail, including zeros and negative zeros', (t, b) => {
  const count = 3 * 16411;
  const ys = uniform(count, 48);
  ys[5] = 0;
  ys[6] = -0;
  const dys = uniform(count, 49);
  const x = Tensor.fromArray(ys, [count], b.device);
  const y = ops.relu(x).toFloat32Array();
  const dx = ops.reluBackward(Tensor.fromArray(y, [count], b.device), Tensor.fromArray(dys, [count], b.device)).toFloat32Array();
  t.is(compare(y, Array.from(ys, (v) => Math.max(v, 0)), 0, 0), null);
  t.is(compare(dx, Array.from(ys, (v, i) => (v > 0 ? dys[i] : 0)), 0, 0), null);
});

// One-row and one-column products go to the BLAS's GEMV (batch-1 fully connected layers)
for (const [m, n] of [[1, 300], [300, 1], [1, 1]]) {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    eachBackend(`gemm ${m}x${n} (k 77) transA=${ta} transB=${tb} with alpha and beta matches loops`, (t, b) => {
      const k = 77;
      const as = uniform(m * k, 51), bs = uniform(k * n, 52), cs = uniform(m * n, 53);
      const a = Tensor.fromArray(as, ta ? [k, m] : [m, k], b.device);
      const bb = Tensor.fromArray(bs, tb ? [n, k] : [k, n], b.device);
      const c = Tensor.fromArray(cs, [m, n], b.device);
      ops.gemm(a, bb, c, { transA: ta, transB: tb, alpha: 0.5, beta: 2 });
      const ref = new Float64Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += (ta ? as[p * m + i] : as[i * k + p]) * (tb ? bs[j * k + p] : bs[p * n + j]);
          ref[i * n + j] = 0.5 * s + 2 * cs[i * n + j];
        }
      close(t, 'c', c, ref, 1e-4, 1e-4);
    });
  }
}

// Max pooling's fast path (3x3 and 2x2 windows, stride 2, no padding): vector loops over rows
// of outputs (forward) and over the plane's "virtual" outputs (backward), at AlexNet's plane
// sizes and at odd ones. Inputs on a coarse grid of values, so that most windows hold their
// maximum more than once (the first one, row-major, gets the gradient), with +0 and -0 among
// them.
const fastPoolCases: Array<PoolCase & { name: string }> = [
  { name: "pool1's 96 channels, 55x55 -> 27x27", n: 1, c: 96, h: 55, w: 55, kernel: [3, 3], stride: [2, 2], pad: [0, 0] },
  { name: "pool2's 256 channels, 27x27 -> 13x13", n: 1, c: 256, h: 27, w: 27, kernel: [3, 3], stride: [2, 2], pad: [0, 0] },
  { name: "pool5's 2 x 256 channels, 13x13 -> 6x6", n: 2, c: 256, h: 13, w: 13, kernel: [3, 3], stride: [2, 2], pad: [0, 0] },
  { name: '3x3 on 8x37 (a row and a column never read)', n: 3, c: 5, h: 8, w: 37, kernel: [3, 3], stride: [2, 2], pad: [0, 0] },
  { name: '3x3 on 3x3 (one window, the whole plane)', n: 2, c: 7, h: 3, w: 3, kernel: [3, 3], stride: [2, 2], pad: [0, 0] },
  { name: '3x3 on 5x40 (rows longer than a vector)', n: 1, c: 3, h: 5, w: 40, kernel: [3, 3], stride: [2, 2], pad: [0, 0] },
  { name: '2x2 on 55x55', n: 1, c: 9, h: 55, w: 55, kernel: [2, 2], stride: [2, 2], pad: [0, 0] },
  { name: '2x2 on 2x3 and odd channels', n: 5, c: 3, h: 2, w: 3, kernel: [2, 2], stride: [2, 2], pad: [0, 0] },
  { name: '2x2 on 9x36', n: 2, c: 4, h: 9, w: 36, kernel: [2, 2], stride: [2, 2], pad: [0, 0] },
];

for (const p of fastPoolCases) {
  eachBackend(`maxPool2d fast path matches float64 loops, ties to the first maximum (${p.name})`, (t, b) => {
    const [oh, ow] = poolOut(p);
    const xs = uniform(p.n * p.c * p.h * p.w, 61).map((v) => Math.round(v * 3));  // -3 .. 3
    for (let i = 7; i < xs.length; i += 11) xs[i] = -0;
    const dys = uniform(p.n * p.c * oh * ow, 62);
    const opts = { kernel: p.kernel, stride: p.stride, padding: p.pad };
    const x = Tensor.fromArray(xs, [p.n, p.c, p.h, p.w], b.device);
    const y = ops.maxPool2d(x, opts);
    t.deepEqual(y.shape, [p.n, p.c, oh, ow]);
    close(t, 'y', y, maxPoolRef(p, xs), 0, 0);
    const dx = ops.maxPool2dBackward(x, y, Tensor.fromArray(dys, y.shape, b.device), opts);
    close(t, 'dx', dx, maxPoolBackwardRef(p, xs, dys), 1e-6, 1e-7);
  });
}

eachBackend('maxPool2d 3x3 stride 2: a maximum shared by overlapping windows gets both gradients, equal maxima the first', (t, b) => {
  const opts = { kernel: 3, stride: 2 };
  // 3x5: two windows (columns 0-2 and 2-4) sharing column 2
  const shared = Tensor.fromArray([0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 3, 5], b.device);
  const ys = ops.maxPool2d(shared, opts);
  const dxs = ops.maxPool2dBackward(shared, ys, Tensor.fromArray([3, 4], [1, 1, 1, 2], b.device), opts);
  t.deepEqual(Array.from(dxs.toFloat32Array()), [0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  // all equal: each window's first position, (0, 0) and (0, 2)
  const flat = Tensor.fromArray(new Float32Array(15).fill(2), [1, 1, 3, 5], b.device);
  const yf = ops.maxPool2d(flat, opts);
  const dxf = ops.maxPool2dBackward(flat, yf, Tensor.fromArray([3, 4], [1, 1, 1, 2], b.device), opts);
  t.deepEqual(Array.from(dxf.toFloat32Array()), [3, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

// A fully connected layer's weight gradient dw = dy^T x has K = the batch: the packed GEMM
// stores its tiles without reading dw (beta 0). Buffers of the same sizes filled with NaN are
// freed first (two of dw's: the zero weights take one), so that dw and db come from the cache
// holding NaN and must be overwritten.
for (const [n, inF, out, what] of [
  [5, 700, 300, 'fc6-like, smaller'],
  [3, 45, 13, 'edge tiles both ways'],
  [400, 70, 50, 'batch deeper than one K block'],
] as const) {
  eachBackend(`linear weight and bias gradients match float64 loops, overwriting NaN (${n} x ${inF} -> ${out}, ${what})`, (t, b) => {
    const xs = uniform(n * inF, 63), dys = uniform(n * out, 64);
    const nan = (shape: number[]) => Tensor.fromArray(new Float32Array(shape[0] * (shape[1] ?? 1)).fill(NaN), shape, b.device);
    [nan([out, inF]), nan([out, inF]), nan([out])].forEach((t) => t.dispose());
    const x = Tensor.fromArray(xs, [n, inF], b.device), w = Tensor.zeros([out, inF], b.device);
    const g = ops.linearBackward(x, w, Tensor.fromArray(dys, [n, out], b.device), { inputGrad: false });
    const dw = new Float64Array(out * inF), db = new Float64Array(out);
    for (let i = 0; i < n; i++)
      for (let o = 0; o < out; o++) {
        db[o] += dys[i * out + o];
        for (let j = 0; j < inF; j++) dw[o * inF + j] += dys[i * out + o] * xs[i * inF + j];
      }
    close(t, 'dweight', g.dweight, dw, 1e-4, 1e-5);
    // a sum over the batch: the CPU sums in double; a float sum (CUDA) is off by up to n roundings
    close(t, 'dbias', g.dbias!, db, 1e-6, Math.max(1e-6, 1e-7 * n));
  });
}
