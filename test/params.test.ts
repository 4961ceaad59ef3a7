// The TypeScript parameter types (lib/core/params.ts) against what the binding reads: the
// binding lists, per op, the keys of its parameter struct (paramSchema(), made from the same
// table it reads them through), so a key renamed or added on one side only fails here.
import test from 'ava';
import { native } from '../lib/core/native';
import { PARAM_KEYS } from '../lib/core/params';

/** Which parameter record each native op takes. */
const FAMILY: Record<string, keyof typeof PARAM_KEYS> = {
  conv2dForward: 'conv', conv2dBackwardData: 'conv', conv2dBackwardFilter: 'conv',
  lrnForward: 'lrn', lrnBackward: 'lrn',
  maxpoolForward: 'pool', maxpoolBackward: 'pool',
  linearForward: 'linear', linearBackwardData: 'linear', linearBackwardParams: 'linear',
  dropoutForwardTrain: 'dropout', dropoutForwardEval: 'dropout',
  softmaxXentForward: 'softmaxXent', softmaxXentBackward: 'softmaxXentBackward',
  sgdUpdate: 'sgd', fillNormal: 'normal', gemm: 'gemm',
};

test('every op the binding gives a parameter struct has a TypeScript record with exactly its keys', (t) => {
  const schema = native().paramSchema();
  t.deepEqual(Object.keys(schema).sort(), Object.keys(FAMILY).sort());
  for (const [op, entry] of Object.entries(schema)) {
    const family = FAMILY[op];
    t.deepEqual(PARAM_KEYS[family], Object.keys(entry.keys).sort(), `${op} (${entry.struct}) against PARAM_KEYS.${family}`);
  }
});

test('the comparison notices a key that only one side has', (t) => {
  const schema = native().paramSchema();
  const renamed = PARAM_KEYS.conv.map((k) => (k === 'strideH' ? 'strideY' : k));
  t.notDeepEqual(renamed, Object.keys(schema.conv2dForward.keys).sort());
});
