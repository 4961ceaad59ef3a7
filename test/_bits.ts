// Bit-for-bit comparisons for the fused-ReLU tests (test/fusion.test.ts, test/ops.test.ts).
import { ExecutionContext } from 'ava';
import { Tensor } from '../lib/core/tensor';

/** Every value of a and b has the same bits; the first that differs is named. */
export function sameBits(t: ExecutionContext, what: string, a: Tensor | Float32Array, b: Tensor | Float32Array): void {
  const fa = a instanceof Tensor ? a.toFloat32Array() : a, fb = b instanceof Tensor ? b.toFloat32Array() : b;
  const ua = new Uint32Array(fa.buffer, fa.byteOffset, fa.length), ub = new Uint32Array(fb.buffer, fb.byteOffset, fb.length);
  t.is(ua.length, ub.length, `${what}: sizes`);
  let first = -1, count = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) (count++, first < 0 && (first = i));
  t.is(count, 0, `${what}: ${count} of ${ua.length} values differ, the first [${first}] ${fa[first]} against ${fb[first]}`);
}

/** A fused output tests the ReLU only where it has both zeros and positive values. */
export function hasBothSides(t: ExecutionContext, what: string, y: Tensor): void {
  const v = y.toFloat32Array();
  t.true(v.some((x) => x === 0) && v.some((x) => x > 0), `${what}: the case should clip some outputs and keep others`);
}
