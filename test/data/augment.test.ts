// Crops, flips, lighting and mean subtraction, checked pixel by pixel on gradient images whose
// values say where they came from (R = x, G = y).
import test from 'ava';
import { AugmentConfig, fiveCropOffsets, fillBatch, lightingShift, trainParams } from '../../lib/data/augment';
import { Pca } from '../../lib/data/format';
import { gradient, noiseImage } from './_fixtures';

const pca: Pca = {
  covariance: [],
  eigenvalues: [0.2175, 0.0188, 0.0045],
  eigenvectors: [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.814], [-0.5836, -0.6948, 0.4203]],
  pixels: 0,
};

function cfg(over: Partial<AugmentConfig>): AugmentConfig {
  return { mode: 'train', size: 32, crop: 24, seed: 5, flip: true, lighting: 0, subtractMean: false, scale: 1, pca, ...over };
}

/** Output crop k, channel c, as rows. */
function plane(out: Float32Array, crop: number, k: number, c: number): number[][] {
  const base = k * 3 * crop * crop + c * crop * crop;
  return Array.from({ length: crop }, (_, i) => [...out.subarray(base + i * crop, base + (i + 1) * crop)]);
}

/** Reads (x, y, flipped) back from a crop of gradient(): R = x, G = y. */
function origin(out: Float32Array, crop: number, k: number): { x: number; y: number; flip: boolean } {
  const r = plane(out, crop, k, 0), g = plane(out, crop, k, 1);
  const flip = r[0][0] > r[0][crop - 1];
  return { x: flip ? r[0][crop - 1] : r[0][0], y: g[0][0], flip };
}

function exactCrop(t: import('ava').ExecutionContext, out: Float32Array, k: number, img: Uint8Array, size: number, crop: number, x: number, y: number, flip: boolean, add = [0, 0, 0], mean?: Float32Array) {
  let bad = 0;
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < crop; i++)
      for (let j = 0; j < crop; j++) {
        const src = c * size * size + (y + i) * size + (flip ? x + crop - 1 - j : x + j);
        const want = img[src] - (mean ? mean[src] : 0) + add[c];
        const got = out[k * 3 * crop * crop + c * crop * crop + i * crop + j];
        if (Math.abs(got - want) > 1e-3 && bad++ < 3) t.fail(`crop ${k} (c ${c}, i ${i}, j ${j}): ${got}, expected ${want}`);
      }
  t.is(bad, 0);
}

test('train crops: each output pixel is the stored pixel at (x + j, y + i), mirrored when flipped', (t) => {
  const size = 32, crop = 24;
  const c = cfg({ size, crop });
  const img = gradient(size);
  const indices = Array.from({ length: 40 }, (_, i) => i);
  const out = new Float32Array(indices.length * 3 * crop * crop);
  fillBatch(c, 3, indices, () => img, null, out);
  const xs = new Set<number>(), ys = new Set<number>();
  let flips = 0;
  for (const k of indices) {
    const p = trainParams(c, 3, k);
    t.deepEqual(origin(out, crop, k), { x: p.x, y: p.y, flip: p.flip });
    exactCrop(t, out, k, img, size, crop, p.x, p.y, p.flip);
    xs.add(p.x); ys.add(p.y); if (p.flip) flips++;
  }
  t.true([...xs].every((x) => x >= 0 && x <= size - crop) && [...ys].every((y) => y >= 0 && y <= size - crop));
  t.true(xs.size >= 5 && ys.size >= 5, 'offsets spread over the range');
  t.true(flips > 8 && flips < 32, `flips ${flips}/40`);
});

test('trainParams: offsets cover 0..S-crop uniformly, flips p = 0.5, a new draw per epoch', (t) => {
  const c = cfg({ size: 256, crop: 227 });
  const n = 4000;
  const counts = new Array(30).fill(0);
  let flips = 0, same = 0;
  for (let i = 0; i < n; i++) {
    const p = trainParams(c, 0, i);
    counts[p.x]++;
    if (p.flip) flips++;
    const q = trainParams(c, 1, i);
    if (q.x === p.x && q.y === p.y && q.flip === p.flip) same++;
  }
  t.true(counts.every((k) => k > 0), 'every x in 0..29 drawn');
  t.true(Math.abs(flips / n - 0.5) < 3 * Math.sqrt(0.25 / n), `flip rate ${flips / n}`);
  t.true(same < 10, 'epochs draw afresh');
  t.is(trainParams(cfg({ flip: false }), 0, 1).flip, false);
});

test('center crop is at floor((S - crop) / 2), never flipped: 14 for 256 -> 227', (t) => {
  const size = 256, crop = 227;
  const img = gradient(size);
  const out = new Float32Array(3 * crop * crop);
  fillBatch(cfg({ mode: 'center', size, crop }), 0, [0], () => img, null, out);
  t.deepEqual(origin(out, crop, 0), { x: 14, y: 14, flip: false });
  exactCrop(t, out, 0, img, size, crop, 14, 14, false);
});

test('ten crops: top-left, top-right, bottom-left, bottom-right, centre, then the same mirrored', (t) => {
  const size = 32, crop = 24;
  const imgs = [gradient(size, 0), gradient(size, 100)];
  const out = new Float32Array(2 * 10 * 3 * crop * crop);
  fillBatch(cfg({ mode: 'tencrop', size, crop }), 0, [0, 1], (i) => imgs[i], null, out);
  const e = size - crop;
  t.deepEqual(fiveCropOffsets(size, crop), [[0, 0], [e, 0], [0, e], [e, e], [4, 4]]);
  const expected = [[0, 0], [e, 0], [0, e], [e, e], [4, 4]];
  for (let im = 0; im < 2; im++)
    for (let k = 0; k < 10; k++) {
      const [x, y] = expected[k % 5];
      t.deepEqual(origin(out, crop, im * 10 + k), { x, y, flip: k >= 5 }, `image ${im} crop ${k}`);
      exactCrop(t, out, im * 10 + k, imgs[im], size, crop, x, y, k >= 5);
    }
});

test('mean subtraction removes the stored mean pixel by pixel, then scale applies', (t) => {
  const size = 16, crop = 12;
  const img = noiseImage(size, 4);
  const mean = Float32Array.from(noiseImage(size, 9), (v) => v * 0.5 + 0.25);
  const out = new Float32Array(3 * crop * crop);
  fillBatch(cfg({ mode: 'center', size, crop, subtractMean: true }), 0, [0], () => img, mean, out);
  exactCrop(t, out, 0, img, size, crop, 2, 2, false, [0, 0, 0], mean);
  const scaled = new Float32Array(out.length);
  fillBatch(cfg({ mode: 'center', size, crop, subtractMean: true, scale: 1 / 255 }), 0, [0], () => img, mean, scaled);
  for (let i = 0; i < out.length; i += 37) t.true(Math.abs(scaled[i] - out[i] / 255) < 1e-6);
});

test('lighting: the shift of every pixel equals 255 * sum_k alpha_k lambda_k p_k for the drawn alphas', (t) => {
  const size = 16, crop = 12;
  const img = noiseImage(size, 2);
  const base = cfg({ size, crop, flip: false });
  const lit = cfg({ size, crop, flip: false, lighting: 0.1 });
  const n = 6;
  const idx = Array.from({ length: n }, (_, i) => i);
  const a = new Float32Array(n * 3 * crop * crop), b = new Float32Array(n * 3 * crop * crop);
  fillBatch(base, 2, idx, () => img, null, a);
  fillBatch(lit, 2, idx, () => img, null, b);
  for (const k of idx) {
    const { alphas } = trainParams(lit, 2, k);
    const shift = lightingShift(pca, alphas);
    for (let c = 0; c < 3; c++) {
      let want = 0;
      for (let e = 0; e < 3; e++) want += 255 * alphas[e] * pca.eigenvalues[e] * pca.eigenvectors[e][c];
      t.true(Math.abs(shift[c] - want) < 1e-9);
      const off = k * 3 * crop * crop + c * crop * crop;
      let sum = 0, maxDev = 0;
      for (let i = 0; i < crop * crop; i++) sum += b[off + i] - a[off + i];
      const meanShift = sum / (crop * crop);
      for (let i = 0; i < crop * crop; i++) maxDev = Math.max(maxDev, Math.abs(b[off + i] - a[off + i] - meanShift));
      t.true(Math.abs(meanShift - want) < 1e-3, `image ${k} channel ${c}: mean shift ${meanShift}, formula ${want}`);
      t.true(maxDev < 1e-3, 'the same shift on every pixel');
    }
  }
});

test('lighting alphas are N(0, 0.1): mean about 0, std about 0.1, drawn per image per epoch', (t) => {
  const c = cfg({ lighting: 0.1 });
  const all: number[] = [];
  for (let i = 0; i < 3000; i++) all.push(...trainParams(c, 0, i).alphas);
  const mean = all.reduce((s, v) => s + v, 0) / all.length;
  const std = Math.sqrt(all.reduce((s, v) => s + (v - mean) ** 2, 0) / all.length);
  t.true(Math.abs(mean) < 0.01, `mean ${mean}`);
  t.true(Math.abs(std - 0.1) < 0.005, `std ${std}`);
  t.notDeepEqual(trainParams(c, 0, 5).alphas, trainParams(c, 1, 5).alphas);
  t.deepEqual(trainParams(cfg({ lighting: 0 }), 0, 5).alphas, [0, 0, 0]);
});
