// Dropout, checked statistically (drop rate within 1.96 standard errors of p), exactly (kept
// values unchanged, dropped ones 0) and for determinism (same seed and offset, same mask).
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { eachBackend } from './_backends';
import { uniform } from './_reference';

const N = 200_000;

for (const p of [0.5, 0.2]) {
  eachBackend(`dropout p=${p}: drop rate within 1.96 standard errors, kept values exact`, (t, b) => {
    const xs = uniform(N, 41, 0.5, 1.5);  // never 0, so a zero output always means dropped
    const { y, mask } = ops.dropout(Tensor.fromArray(xs, [N], b.device), { p, training: true, seed: 1234, offset: 0 });
    const ys = y.toFloat32Array(), ms = mask!.toFloat32Array();
    let dropped = 0;
    for (let i = 0; i < N; i++) {
      if (ms[i] === 0) {
        dropped++;
        if (ys[i] !== 0) return t.fail(`element ${i} dropped but y = ${ys[i]}`);
      } else if (ms[i] !== 1 || ys[i] !== xs[i]) {
        return t.fail(`element ${i}: mask ${ms[i]}, y ${ys[i]}, x ${xs[i]}`);
      }
    }
    const se = Math.sqrt((p * (1 - p)) / N);
    const rate = dropped / N;
    t.true(Math.abs(rate - p) <= 1.96 * se, `drop rate ${rate}, expected ${p} +- ${1.96 * se}`);
  });
}

eachBackend('dropout: the same seed and offset give the same mask; another offset or seed another', (t, b) => {
  const x = Tensor.fromArray(uniform(4096, 42), [4096], b.device);
  const mask = (seed: number, offset: number) => ops.dropout(x, { training: true, seed, offset }).mask!.toFloat32Array();
  const a = mask(99, 5);
  t.deepEqual(mask(99, 5), a);
  const differs = (u: Float32Array, v: Float32Array) => u.some((m, i) => m !== v[i]);
  t.true(differs(a, mask(99, 6)));
  t.true(differs(a, mask(100, 5)));
  t.true(differs(a, mask(99 + 2 ** 32, 5)), 'the seed high word matters');
});

eachBackend('dropout at test time multiplies by (1 - p), the paper\'s 0.5 by default', (t, b) => {
  const xs = uniform(1000, 43);
  const x = Tensor.fromArray(xs, [10, 100], b.device);
  t.deepEqual(ops.dropout(x, { training: false }).y.toFloat32Array(), xs.map((v) => v * 0.5));
  t.deepEqual(ops.dropout(x, { training: false, p: 0.3 }).y.toFloat32Array(), xs.map((v) => Math.fround(v * Math.fround(0.7))));
  t.is(ops.dropout(x, { training: false }).mask, undefined);
});

eachBackend('dropout backward passes the gradient where the mask kept the element', (t, b) => {
  const x = Tensor.fromArray(uniform(500, 44), [500], b.device);
  const { mask } = ops.dropout(x, { training: true, seed: 3 });
  const dys = uniform(500, 45);
  const dx = ops.dropoutBackward(Tensor.fromArray(dys, [500], b.device), mask!).toFloat32Array();
  const ms = mask!.toFloat32Array();
  t.deepEqual(dx, dys.map((v, i) => v * ms[i]));
});
