// The prepared-data format written by `prepare` (prepare.ts) and read by the loader (loader.ts).
//
//   OUT/index.json                  what is below, as JSON (PreparedIndex)
//   OUT/<split>/shard-NNNNN.bin     `count` images back to back, each 3*S*S uint8, CHW (planar
//                                   R, G, B planes of S rows of S pixels), S = index.size
//   OUT/<split>/shard-NNNNN.json    the shard's labels, source file names, skipped files and the
//                                   hash of its input list (what makes a re-run skip it)
//   OUT/train/shard-NNNNN.stats     exact integer sums for the mean and covariance (see ShardStats)
//   OUT/<split>/labels.bin          int32 little-endian, one label per image, in shard order
//   OUT/mean.bin                    float32 little-endian, 3*S*S, CHW: the per-pixel mean image of
//                                   the training split, in 0..255 pixel units
//
// The PCA (index.pca) is of the 3x3 covariance of RGB values over every pixel of every training
// image, with values scaled to [0, 1] (the convention of the eigenvalues published for ImageNet,
// e.g. fb.resnet.torch's 0.2175, 0.0188, 0.0045). The lighting augmentation converts its shift
// back to 0..255 units (see augment.ts).
import * as fs from 'fs';
import * as path from 'path';

export const FORMAT = 'alexnet-prepared';
export const VERSION = 1;

export interface ShardEntry {
  /** Path of the .bin file, relative to the prepared folder. */
  file: string;
  count: number;
}

export interface SplitIndex {
  count: number;
  shards: ShardEntry[];
  /** Path of the int32 labels file, relative to the prepared folder. */
  labels: string;
}

export interface Pca {
  /** Row-major 3x3 covariance of RGB values in [0, 1]. */
  covariance: number[];
  /** Descending. */
  eigenvalues: number[];
  /** eigenvectors[k] = [r, g, b] of the k-th eigenvector (unit length, largest component > 0). */
  eigenvectors: number[][];
  /** Number of pixels the covariance was computed over. */
  pixels: number;
}

export interface PreparedIndex {
  format: typeof FORMAT;
  version: number;
  /** Side of the stored square images. */
  size: number;
  layout: 'CHW';
  dtype: 'uint8';
  classes: string[];
  /** human-readable class names, in the order of classes, where the source has them */
  classNames?: string[];
  splits: { train: SplitIndex; val?: SplitIndex };
  /** Path of the float32 mean image, relative to the prepared folder. */
  mean: string;
  pca: Pca;
  source: { kind: string; path: string };
  skipped: { split: string; file: string; reason: string }[];
}

/** Per-shard sums, exact in integers: the mean and covariance are independent of shard order. */
export interface ShardStats {
  /** pixels, sR, sG, sB, sRR, sRG, sRB, sGG, sGB, sBB (0..255 units). */
  moments: Float64Array;
  /** Per-pixel sums over the shard's images, 3*S*S, CHW. */
  pixelSums: Uint32Array;
}

export function newStats(size: number): ShardStats {
  return { moments: new Float64Array(10), pixelSums: new Uint32Array(3 * size * size) };
}

/** Adds one CHW uint8 image to the sums. */
export function accumulate(stats: ShardStats, chw: Uint8Array): void {
  const plane = chw.length / 3;
  const sums = stats.pixelSums;
  let sR = 0, sG = 0, sB = 0, sRR = 0, sRG = 0, sRB = 0, sGG = 0, sGB = 0, sBB = 0;
  for (let i = 0; i < plane; i++) {
    const r = chw[i], g = chw[plane + i], b = chw[2 * plane + i];
    sums[i] += r; sums[plane + i] += g; sums[2 * plane + i] += b;
    sR += r; sG += g; sB += b;
    sRR += r * r; sRG += r * g; sRB += r * b; sGG += g * g; sGB += g * b; sBB += b * b;
  }
  const m = stats.moments;
  m[0] += plane; m[1] += sR; m[2] += sG; m[3] += sB;
  m[4] += sRR; m[5] += sRG; m[6] += sRB; m[7] += sGG; m[8] += sGB; m[9] += sBB;
}

export function writeStats(file: string, stats: ShardStats): void {
  const buf = Buffer.alloc(80 + stats.pixelSums.byteLength);
  Buffer.from(stats.moments.buffer, stats.moments.byteOffset, 80).copy(buf, 0);
  Buffer.from(stats.pixelSums.buffer, stats.pixelSums.byteOffset, stats.pixelSums.byteLength).copy(buf, 80);
  writeAtomic(file, buf);
}

export function readStats(file: string, size: number): ShardStats {
  const buf = fs.readFileSync(file);
  if (buf.length !== 80 + 12 * size * size)
    throw new Error(`prepared data: ${file} has ${buf.length} bytes, expected ${80 + 12 * size * size} for size ${size}`);
  const copy = new Uint8Array(buf); // aligned copy
  return {
    moments: new Float64Array(copy.buffer, 0, 10),
    pixelSums: new Uint32Array(copy.buffer, 80, 3 * size * size),
  };
}

/** The mean image (float32, 0..255 units) and the PCA from the sums of every training shard. */
export function finishStats(all: ShardStats[], size: number): { mean: Float32Array; pca: Pca } {
  const total = new Float64Array(3 * size * size);
  const m = new Float64Array(10);
  let images = 0;
  for (const s of all) {
    for (let i = 0; i < total.length; i++) total[i] += s.pixelSums[i];
    for (let k = 0; k < 10; k++) m[k] += s.moments[k];
    images += s.moments[0] / (size * size);
  }
  if (images === 0) throw new Error('prepared data: the training split has no images, so no mean image');
  const mean = new Float32Array(total.length);
  for (let i = 0; i < total.length; i++) mean[i] = total[i] / images;
  const n = m[0];
  const mu = [m[1] / n, m[2] / n, m[3] / n];
  const e = (k: number) => m[k] / n;
  const c = 255 * 255;
  const rr = (e(4) - mu[0] * mu[0]) / c, rg = (e(5) - mu[0] * mu[1]) / c, rb = (e(6) - mu[0] * mu[2]) / c;
  const gg = (e(7) - mu[1] * mu[1]) / c, gb = (e(8) - mu[1] * mu[2]) / c, bb = (e(9) - mu[2] * mu[2]) / c;
  const covariance = [rr, rg, rb, rg, gg, gb, rb, gb, bb];
  const { values, vectors } = symmetricEigen3(covariance);
  return { mean, pca: { covariance, eigenvalues: values, eigenvectors: vectors, pixels: n } };
}

/**
 * Eigen-decomposition of a symmetric 3x3 matrix (row-major) by cyclic Jacobi rotations.
 * Returns eigenvalues in descending order and unit eigenvectors, each signed so that its
 * largest-magnitude component is positive.
 */
export function symmetricEigen3(a: readonly number[]): { values: number[]; vectors: number[][] } {
  const A = [[a[0], a[1], a[2]], [a[3], a[4], a[5]], [a[6], a[7], a[8]]];
  const V = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = A[0][1] ** 2 + A[0][2] ** 2 + A[1][2] ** 2;
    if (off < 1e-30 * (A[0][0] ** 2 + A[1][1] ** 2 + A[2][2] ** 2) || off === 0) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]]) {
      if (A[p][q] === 0) continue;
      const theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const cs = 1 / Math.sqrt(t * t + 1), sn = t * cs;
      for (let k = 0; k < 3; k++) {
        const akp = A[k][p], akq = A[k][q];
        A[k][p] = cs * akp - sn * akq;
        A[k][q] = sn * akp + cs * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = A[p][k], aqk = A[q][k];
        A[p][k] = cs * apk - sn * aqk;
        A[q][k] = sn * apk + cs * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = V[k][p], vkq = V[k][q];
        V[k][p] = cs * vkp - sn * vkq;
        V[k][q] = sn * vkp + cs * vkq;
      }
    }
  }
  const order = [0, 1, 2].sort((i, j) => A[j][j] - A[i][i]);
  const values = order.map((i) => A[i][i]);
  const vectors = order.map((i) => {
    const v = [V[0][i], V[1][i], V[2][i]];
    const big = v.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);
    return big < 0 ? v.map((x) => -x) : v;
  });
  return { values, vectors };
}

/** Writes to a temporary name and renames: a crash never leaves a half-written file in place. */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

export function readIndex(dir: string): PreparedIndex {
  const file = path.join(dir, 'index.json');
  if (!fs.existsSync(dir)) throw new Error(`prepared data: folder ${dir} does not exist (run \`node lib/cli.js prepare\` first)`);
  if (!fs.existsSync(file)) throw new Error(`prepared data: ${file} not found (run \`node lib/cli.js prepare --data SRC --out ${dir}\` first)`);
  let index: PreparedIndex;
  try {
    index = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`prepared data: ${file} is not valid JSON (${(err as Error).message})`);
  }
  if (index.format !== FORMAT || index.version !== VERSION)
    throw new Error(`prepared data: ${file} is not ${FORMAT} version ${VERSION} (format ${index.format}, version ${index.version})`);
  return index;
}

export interface ArraySplit {
  /** Each image 3*S*S uint8, CHW. */
  images: Uint8Array[];
  labels: number[];
}

/**
 * Writes a prepared folder straight from in-memory CHW images (one shard per split); the mean
 * and PCA are computed as `prepare` computes them. For tests and for sources already decoded.
 */
export function writePreparedArrays(
  dir: string,
  options: { size: number; classes: string[]; train: ArraySplit; val?: ArraySplit; shardSize?: number },
): PreparedIndex {
  const { size, classes } = options;
  fs.mkdirSync(dir, { recursive: true });
  const splits: { train?: SplitIndex; val?: SplitIndex } = {};
  const stats: ShardStats[] = [];
  for (const name of ['train', 'val'] as const) {
    const split = options[name];
    if (!split) continue;
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    const shardSize = options.shardSize ?? Math.max(1, split.images.length);
    const shards: ShardEntry[] = [];
    for (let start = 0; start < split.images.length; start += shardSize) {
      const imgs = split.images.slice(start, start + shardSize);
      const file = `${name}/shard-${String(shards.length).padStart(5, '0')}.bin`;
      const s = newStats(size);
      for (const img of imgs) {
        if (img.length !== 3 * size * size) throw new Error(`writePreparedArrays: image has ${img.length} bytes, expected ${3 * size * size}`);
        if (name === 'train') accumulate(s, img);
      }
      if (name === 'train') stats.push(s);
      writeAtomic(path.join(dir, file), Buffer.concat(imgs));
      shards.push({ file, count: imgs.length });
    }
    const labels = `${name}/labels.bin`;
    writeAtomic(path.join(dir, labels), new Uint8Array(Int32Array.from(split.labels).buffer));
    splits[name] = { count: split.images.length, shards, labels };
  }
  const { mean, pca } = finishStats(stats, size);
  writeAtomic(path.join(dir, 'mean.bin'), new Uint8Array(mean.buffer));
  const index: PreparedIndex = {
    format: FORMAT, version: VERSION, size, layout: 'CHW', dtype: 'uint8', classes,
    splits: splits as PreparedIndex['splits'], mean: 'mean.bin', pca,
    source: { kind: 'arrays', path: '' }, skipped: [],
  };
  writeAtomic(path.join(dir, 'index.json'), JSON.stringify(index, null, 1));
  return index;
}

/** An opened prepared dataset: the index, the mean image and each split's labels. */
export interface PreparedData {
  dir: string;
  index: PreparedIndex;
  size: number;
  classes: string[];
  mean: Float32Array;
  pca: Pca;
}

export function openPrepared(dir: string): PreparedData {
  const index = readIndex(dir);
  const meanFile = path.join(dir, index.mean);
  const raw = fs.readFileSync(meanFile);
  if (raw.length !== 12 * index.size * index.size)
    throw new Error(`prepared data: ${meanFile} has ${raw.length} bytes, expected ${12 * index.size * index.size}`);
  const mean = new Float32Array(new Uint8Array(raw).buffer);
  return { dir, index, size: index.size, classes: index.classes, mean, pca: index.pca };
}

export function readLabels(dir: string, split: SplitIndex): Int32Array {
  const file = path.join(dir, split.labels);
  const raw = fs.readFileSync(file);
  if (raw.length !== 4 * split.count) throw new Error(`prepared data: ${file} has ${raw.length} bytes, expected ${4 * split.count}`);
  return new Int32Array(new Uint8Array(raw).buffer);
}
