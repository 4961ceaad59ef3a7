import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { accumulate, finishStats, newStats, openPrepared, readIndex, readLabels, symmetricEigen3 } from '../../lib/data/format';
import { gradient, noiseImage, preparedGradients, tmpdir } from './_fixtures';

test('symmetricEigen3 reconstructs the matrix, orthonormal vectors, descending values', (t) => {
  const a = [0.09, 0.03, 0.01, 0.03, 0.05, 0.02, 0.01, 0.02, 0.04];
  const { values, vectors } = symmetricEigen3(a);
  t.true(values[0] >= values[1] && values[1] >= values[2]);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      let rec = 0;
      for (let k = 0; k < 3; k++) rec += values[k] * vectors[k][i] * vectors[k][j];
      t.true(Math.abs(rec - a[3 * i + j]) < 1e-12, `A[${i}][${j}]`);
      const dot = vectors[i][0] * vectors[j][0] + vectors[i][1] * vectors[j][1] + vectors[i][2] * vectors[j][2];
      t.true(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12);
    }
  // Already diagonal.
  const d = symmetricEigen3([1, 0, 0, 0, 3, 0, 0, 0, 2]);
  t.deepEqual(d.values, [3, 2, 1]);
  t.deepEqual(d.vectors, [[0, 1, 0], [0, 0, 1], [1, 0, 0]]);
});

test('finishStats: the mean image and the RGB covariance equal a direct computation', (t) => {
  const size = 6;
  const imgs = [noiseImage(size, 1), noiseImage(size, 2), gradient(size), noiseImage(size, 3)];
  // Two "shards", to check that merging sums is exact.
  const a = newStats(size), b = newStats(size);
  accumulate(a, imgs[0]); accumulate(a, imgs[1]); accumulate(b, imgs[2]); accumulate(b, imgs[3]);
  const { mean, pca } = finishStats([a, b], size);
  for (let i = 0; i < mean.length; i++) {
    const want = imgs.reduce((s, im) => s + im[i], 0) / imgs.length;
    t.true(Math.abs(mean[i] - want) < 1e-4);
  }
  const plane = size * size;
  const px: number[][] = [];
  for (const im of imgs) for (let i = 0; i < plane; i++) px.push([im[i] / 255, im[plane + i] / 255, im[2 * plane + i] / 255]);
  const mu = [0, 1, 2].map((c) => px.reduce((s, p) => s + p[c], 0) / px.length);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      const cov = px.reduce((s, p) => s + (p[i] - mu[i]) * (p[j] - mu[j]), 0) / px.length;
      t.true(Math.abs(pca.covariance[3 * i + j] - cov) < 1e-12, `cov[${i}][${j}] ${pca.covariance[3 * i + j]} vs ${cov}`);
    }
  t.is(pca.pixels, imgs.length * plane);
});

test('writePreparedArrays round-trips through openPrepared, shards and labels', (t) => {
  const dir = preparedGradients(8, 7, 3, 3, 3);
  const data = openPrepared(dir);
  t.is(data.size, 8);
  t.deepEqual(data.classes, ['c0', 'c1', 'c2']);
  t.deepEqual(data.index.splits.train.shards.map((s) => s.count), [3, 3, 1]);
  t.deepEqual([...readLabels(dir, data.index.splits.train)], [0, 1, 2, 0, 1, 2, 0]);
  t.is(data.index.splits.val?.count, 3);
  t.is(data.mean.length, 3 * 64);
});

test('openPrepared names the folder when it is missing or not prepared', (t) => {
  const dir = tmpdir('notprepared');
  t.throws(() => openPrepared(path.join(dir, 'nope')), { message: /folder .*nope does not exist/ });
  t.throws(() => openPrepared(dir), { message: /index\.json not found/ });
  fs.writeFileSync(path.join(dir, 'index.json'), '{not json');
  t.throws(() => readIndex(dir), { message: /index\.json is not valid JSON/ });
  fs.writeFileSync(path.join(dir, 'index.json'), '{"format":"other"}');
  t.throws(() => readIndex(dir), { message: /is not alexnet-prepared version 1/ });
});
