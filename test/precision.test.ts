// --precision and ALEXNET_GEMM (lib/core/precision.ts): which GEMM version each asks for, and the
// clear errors where they contradict each other or name nothing known.
import test from 'ava';
import { applyPrecision, precisionOf } from '../lib/core/precision';
import { gemmTolerance } from './_precision';

test('precision: fp32 keeps v1 or v2, tf32 and 3xtf32 set ALEXNET_GEMM', (t) => {
  const env: NodeJS.ProcessEnv = {};
  t.is(applyPrecision('fp32', env), 'v1');
  t.is(env.ALEXNET_GEMM, undefined);
  t.is(applyPrecision('fp32', { ALEXNET_GEMM: 'v2' }), 'v2');
  const e2: NodeJS.ProcessEnv = {};
  t.is(applyPrecision('tf32', e2), 'tf32');
  t.is(e2.ALEXNET_GEMM, 'tf32');
  t.is(applyPrecision('3xtf32', { ALEXNET_GEMM: '3xtf32' }), '3xtf32');
  t.is(precisionOf('v2'), 'fp32');
  t.is(precisionOf(undefined), 'fp32');
  t.is(precisionOf('3xtf32'), '3xtf32');
  // no --precision: ALEXNET_GEMM as it is (the test scripts loop over it)
  t.is(applyPrecision(undefined, { ALEXNET_GEMM: 'tf32' }), 'tf32');
  t.is(applyPrecision(undefined, {}), 'v1');
  t.throws(() => applyPrecision(undefined, { ALEXNET_GEMM: 'fp64' }), { message: /ALEXNET_GEMM must be one of/ });
});

test('precision: a contradiction or an unknown value is a clear error', (t) => {
  t.throws(() => applyPrecision('fp16', {}), { message: '--precision must be one of fp32, tf32, 3xtf32, not "fp16"' });
  t.throws(() => applyPrecision('fp32', { ALEXNET_GEMM: 'tf32' }), { message: /contradicts ALEXNET_GEMM=tf32/ });
  t.throws(() => applyPrecision('tf32', { ALEXNET_GEMM: 'v2' }), { message: /contradicts ALEXNET_GEMM=v2/ });
  t.throws(() => applyPrecision('fp32', { ALEXNET_GEMM: 'v3' }), { message: /ALEXNET_GEMM must be one of v1, v2, tf32, 3xtf32/ });
});

test('precision: TF32 is checked looser than FP32, 3xTF32 as FP32', (t) => {
  t.is(gemmTolerance('v1'), 1e-5);
  t.is(gemmTolerance('v2'), 1e-5);
  t.is(gemmTolerance('3xtf32'), 1e-5);
  t.true(gemmTolerance('tf32') > 1e-4 && gemmTolerance('tf32') < 1e-2);
});
