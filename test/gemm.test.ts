// The CPU backend's packed AVX-512 GEMM (native/cpu/gemm_packed.cc) against float64 loops:
// every transpose combination, sizes that cross its blocks (12 x 32 micro-tiles, 96 rows,
// 384 deep, 4096 wide) with ragged edges, alpha and beta (beta = 0 must ignore NaN in C),
// the split of C between threads by columns and by rows, and the few-rows-times-B^T route
// of a fully connected layer; and, with it, the one-row and one-column products our GEMV
// (gemv.cc) takes. ALEXNET_CPU_GEMM is read at every call: "packed" asks for this
// kernel (an error on a CPU without AVX-512, where these tests skip), "blas" for the BLAS.
import test from 'ava';
import * as ops from '../lib/core/ops';
import { backendInfo } from '../lib/core/info';
import { Tensor } from '../lib/core/tensor';
import { withEnv } from './_env';
import { uniform } from './_reference';

const packedHere = backendInfo().cpu.packedGemm;

const withGemm = <T>(setting: string | undefined, body: () => T): T => withEnv('ALEXNET_CPU_GEMM', setting, body);

/** C = alpha op(A) op(B) + beta C in float64, and the sum of |terms| per element (the error scale). */
function gemmRef(m: number, n: number, k: number, ta: boolean, tb: boolean, alpha: number, beta: number, a: Float32Array, b: Float32Array, c: Float32Array) {
  const out = new Float64Array(m * n), scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0, sa = 0;
      for (let p = 0; p < k; p++) {
        const av = ta ? a[p * m + i] : a[i * k + p], bv = tb ? b[j * k + p] : b[p * n + j];
        s += av * bv;
        sa += Math.abs(av * bv);
      }
      const cv = beta === 0 ? 0 : beta * c[i * n + j];
      out[i * n + j] = alpha * s + cv;
      scale[i * n + j] = Math.abs(alpha) * sa + Math.abs(cv);
    }
  return { out, scale };
}

const shapes: Array<[number, number, number, string]> = [
  [12, 32, 7, 'one micro-tile'],
  [13, 33, 5, 'one past a micro-tile both ways'],
  [97, 129, 385, 'past the 96-row, 384-deep blocks'],
  [200, 70, 900, 'taller than wide: the threads split rows'],
  [5, 300, 77, 'a few rows times a wide B'],
  [3, 4100, 40, 'wider than the 4096-column block'],
  // one row or one column: our GEMV (native/cpu/gemv.cc), 4 rows or 128 columns at a time
  [1, 4133, 37, 'one row (GEMV): columns past 128-wide blocks and 16-wide vectors'],
  [1, 1000, 3001, 'one row (GEMV) split between threads'],
  [4103, 1, 37, 'one column (GEMV): rows not a multiple of 4, a depth past 16-wide vectors'],
  [999, 1, 3000, 'one column (GEMV) split between threads'],
  [1, 1, 50, 'one element (GEMV)'],
];

for (const [m, n, k, what] of shapes) {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    // alpha 1 lets A be read in place where its panels serve few tiles (256 columns or fewer)
    const title = `cpu: packed gemm ${m}x${n} (k ${k}, ${what}) transA=${ta} transB=${tb}, alpha 0.5 and 1, beta 2 and 0, matches float64 loops`;
    if (!packedHere) {
      test.skip(`${title} (skipped: this CPU has no AVX-512)`, () => {});
      continue;
    }
    test(title, (t) => {
      const as = uniform(m * k, 81), bs = uniform(k * n, 82), cs = uniform(m * n, 83);
      const a = Tensor.fromArray(as, ta ? [k, m] : [m, k]), b = Tensor.fromArray(bs, tb ? [n, k] : [k, n]);
      for (const [alpha, beta] of [[0.5, 2], [0.5, 0], [1, 0], [1, 2]]) {
        const c0 = Float32Array.from(cs);
        if (beta === 0) c0.fill(NaN, 0, Math.min(50, c0.length));  // beta 0: what C held is never read
        const c = Tensor.fromArray(c0, [m, n]);
        withGemm('packed', () => ops.gemm(a, b, c, { transA: ta, transB: tb, alpha, beta }));
        const got = c.toFloat32Array();
        const ref = gemmRef(m, n, k, ta, tb, alpha, beta, as, bs, c0);
        let bad = '';
        for (let i = 0; i < got.length && !bad; i++)
          if (!(Math.abs(got[i] - ref.out[i]) <= 1e-5 * ref.scale[i] + 1e-30)) bad = `[${i}] ${got[i]} vs ${ref.out[i]} (scale ${ref.scale[i]})`;
        t.is(bad, '', `alpha ${alpha}, beta ${beta}: ${bad}`);
        c.dispose();
      }
      a.dispose();
      b.dispose();
    });
  }
}

test('cpu: ALEXNET_CPU_GEMM chooses the kernel, info says which, and a bad value names the variable', (t) => {
  const a = Tensor.full([64, 64], 1), b = Tensor.full([64, 64], 2), c = Tensor.zeros([64, 64]);
  t.regex(withGemm('blas', () => backendInfo().cpu.gemm), /OpenBLAS|BLAS|built-in/i);
  t.is(withGemm(undefined, () => backendInfo().cpu.gemm.startsWith('packed')), packedHere);
  const err = withGemm('fast', () => t.throws(() => ops.gemm(a, b, c)));
  t.regex(err!.message, /ALEXNET_CPU_GEMM must be one of auto, blas, packed \(got 'fast'\)/);
  if (!packedHere) {
    const e2 = withGemm('packed', () => t.throws(() => ops.gemm(a, b, c)));
    t.regex(e2!.message, /no AVX-512/);
  }
});

test('cpu: the packed kernel and the BLAS agree on a training step of conv and linear shapes', (t) => {
  // a product of fc7's shape at batch 8, both ways round, within float32 rounding of each other
  const x = Tensor.fromArray(uniform(8 * 4096, 84), [8, 4096]), w = Tensor.fromArray(uniform(4096 * 512, 85, -0.02, 0.02), [512, 4096]);
  const viaBlas = withGemm('blas', () => ops.linear(x, w, null).toFloat32Array());
  const viaAuto = withGemm(undefined, () => ops.linear(x, w, null).toFloat32Array());
  let worst = 0;
  for (let i = 0; i < viaBlas.length; i++) worst = Math.max(worst, Math.abs(viaBlas[i] - viaAuto[i]));
  t.true(worst < 1e-4, `max |blas - auto| ${worst}`);
});
