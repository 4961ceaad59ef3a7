// The counter-based generator: Philox4x32-10 against the published known-answer vectors
// (Random123's kat_vectors), and seeded normal tensors.
import test from 'ava';
import * as ops from '../lib/core/ops';
import { Tensor } from '../lib/core/tensor';
import { eachBackend } from './_backends';

test('philox4x32-10 matches the Random123 known-answer vectors', (t) => {
  const hex = (a: Uint32Array) => Array.from(a, (v) => v.toString(16).padStart(8, '0'));
  // counter (c0, c1, c2, c3) = (block lo, block hi, offset lo, offset hi); key = seed
  t.deepEqual(hex(ops.philox(0n, 0n, 0n)), ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
  t.deepEqual(hex(ops.philox(0xffffffffffffffffn, 0xffffffffffffffffn, 0xffffffffffffffffn)), ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
  t.deepEqual(hex(ops.philox(0x85a308d3243f6a88n, 0x0370734413198a2en, 0x299f31d0a4093822n)), ['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
});

eachBackend('Tensor.randn: same seed same values, mean and std as asked', (t, b) => {
  const n = 100_000;
  const a = Tensor.randn([n], { seed: 5, mean: 1, std: 0.01, device: b.device }).toFloat32Array();
  t.deepEqual(Tensor.randn([n], { seed: 5, mean: 1, std: 0.01, device: b.device }).toFloat32Array(), a);
  const other = Tensor.randn([n], { seed: 6, mean: 1, std: 0.01, device: b.device }).toFloat32Array();
  t.true(other.some((v, i) => v !== a[i]));
  let sum = 0, sq = 0;
  for (const v of a) sum += v;
  const mean = sum / n;
  for (const v of a) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / (n - 1));
  t.true(Math.abs(mean - 1) < 4 * (0.01 / Math.sqrt(n)), `mean ${mean}`);
  t.true(Math.abs(std - 0.01) < 0.01 * 0.02, `std ${std}`);
  // no value further than 6 sigma, and both tails present
  t.true(a.every((v) => Math.abs(v - 1) < 0.06));
  t.true(a.some((v) => v < 0.98) && a.some((v) => v > 1.02));
});

eachBackend('Tensor.randn: a prefix of a longer draw equals the shorter draw (values depend on the index only)', (t, b) => {
  const long = Tensor.randn([1001], { seed: 9, device: b.device }).toFloat32Array();
  const short = Tensor.randn([13], { seed: 9, device: b.device }).toFloat32Array();
  t.deepEqual(long.subarray(0, 13), short);
});
