import test from 'ava';
import { boxMuller, epochPermutation, philox, toUniform, words } from '../../lib/data/rng';

const hex = (w: Uint32Array) => [...w].map((x) => x.toString(16).padStart(8, '0'));

test('philox matches the Random123 known-answer vectors for Philox4x32-10', (t) => {
  t.deepEqual(hex(philox(0, 0, 0, 0, 0, 0)), ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
  const f = 0xffffffff;
  t.deepEqual(hex(philox(f, f, f, f, f, f)), ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
  t.deepEqual(hex(philox(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0)), ['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
});

test('philox agrees with the native generator where the addon loads', (t) => {
  let nativePhilox: ((...w: number[]) => Uint32Array) | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    nativePhilox = require('../../lib/core/native').native().philox;
  } catch {
    nativePhilox = null;
  }
  if (!nativePhilox) {
    t.pass('native addon not loadable here; the known-answer test covers the TS generator');
    return;
  }
  for (let i = 0; i < 50; i++) {
    const w = [i * 7919, i, 3, i * 13, 12345 + i, i % 3];
    t.deepEqual([...philox(w[0], w[1], w[2], w[3], w[4], w[5])], [...nativePhilox(...w)]);
  }
});

test('words splits seeds above 2^32 into lo/hi', (t) => {
  t.deepEqual(words(0), [0, 0]);
  t.deepEqual(words(2 ** 32 + 5), [5, 1]);
  t.deepEqual(words(2 ** 53 - 1), [0xffffffff, 0x1fffff]);
});

test('Box-Muller normals have mean 0 and variance 1', (t) => {
  const n = 20000;
  let s = 0, s2 = 0;
  const w = new Uint32Array(4);
  for (let i = 0; i < n / 2; i++) {
    philox(i, 0, 9, 0, 1, 0, w);
    for (const z of boxMuller(w[0], w[1])) { s += z; s2 += z * z; }
  }
  const mean = s / n, variance = s2 / n - mean * mean;
  t.true(Math.abs(mean) < 4 / Math.sqrt(n), `mean ${mean}`);
  t.true(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
  t.true(toUniform(0xffffffff) < 1);
});

test('epochPermutation is a permutation, the same for a seed and epoch, different across epochs and seeds', (t) => {
  const p = epochPermutation(1000, 7, 0);
  t.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  t.deepEqual(p, epochPermutation(1000, 7, 0));
  t.notDeepEqual(p, epochPermutation(1000, 7, 1));
  t.notDeepEqual(p, epochPermutation(1000, 8, 0));
  // Not close to the identity.
  t.true([...p].filter((v, i) => v === i).length < 20);
});
