// The paper's update rule over several steps with a changing learning rate, against the
// formula computed here: v <- 0.9 v - 0.0005 lr w - lr g;  w <- w + v.
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { eachBackend } from './_backends';
import { compare, uniform } from './_reference';

eachBackend('sgdUpdate follows the paper\'s rule over steps with a changing learning rate', (t, b) => {
  const n = 1000;
  const w0 = uniform(n, 51);
  const w = Tensor.fromArray(w0, [10, 100], b.device);
  const v = Tensor.zeros([10, 100], b.device);
  const ew = Float64Array.from(w0), ev = new Float64Array(n);
  const lrs = [0.01, 0.01, 0.001, 0.05, 0.0001];
  lrs.forEach((lr, step) => {
    const g = uniform(n, 60 + step);
    ops.sgdUpdate(w, Tensor.fromArray(g, [10, 100], b.device), v, { lr });
    for (let i = 0; i < n; i++) {
      ev[i] = 0.9 * ev[i] - 0.0005 * lr * ew[i] - lr * g[i];
      ew[i] += ev[i];
    }
    t.is(compare(w.toFloat32Array(), ew, 1e-5, 1e-7), null, `weights after step ${step}`);
    t.is(compare(v.toFloat32Array(), ev, 1e-4, 1e-8), null, `velocity after step ${step}`);
  });
});

eachBackend('sgdUpdate takes momentum and weight decay as options', (t, b) => {
  const w = Tensor.fromArray([1, -2], [2], b.device);
  const v = Tensor.fromArray([0.5, 0.5], [2], b.device);
  ops.sgdUpdate(w, Tensor.fromArray([1, 1], [2], b.device), v, { lr: 0.1, momentum: 0.5, weightDecay: 0.1 });
  // v = 0.5*0.5 - 0.1*0.1*w - 0.1*1
  const ev = [0.25 - 0.01 * 1 - 0.1, 0.25 - 0.01 * -2 - 0.1];
  t.is(compare(v.toFloat32Array(), ev, 1e-6), null);
  t.is(compare(w.toFloat32Array(), [1 + ev[0], -2 + ev[1]], 1e-6), null);
});
