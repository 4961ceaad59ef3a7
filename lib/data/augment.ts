// The paper's augmentation (section 4.1), as pure functions of (config, epoch, image index) so
// that worker threads and the calling thread produce the same batches for the same seed.
//
// Output pixel (c, i, j) of a crop at (x, y) of a stored S x S image:
//   out = (img[c, y+i, x+jj] - mean[c, y+i, x+jj] + shift[c]) * scale,
//   jj = flip ? crop-1-j : j,
//   shift = 255 * sum_k alpha_k * lambda_k * p_k   (PCA lighting; lambda, p from index.pca, whose
//           covariance is of RGB values in [0, 1], so the shift is scaled back to 0..255 units).
import * as fs from 'fs';
import * as path from 'path';
import { Pca, PreparedIndex, SplitIndex } from './format';
import { STREAM, boxMuller, philox, toUniform, words } from './rng';

export type AugmentMode = 'train' | 'center' | 'tencrop';

export interface AugmentConfig {
  mode: AugmentMode;
  /** Side of the stored images. */
  size: number;
  /** Side of the crops (227 by default: the paper's 55x55 conv1 map without padding). */
  crop: number;
  seed: number;
  /** Random horizontal flips with probability 0.5 (train mode only). */
  flip: boolean;
  /** Standard deviation of the PCA lighting alphas (0.1 in the paper; 0 turns it off; train only). */
  lighting: number;
  subtractMean: boolean;
  /** Multiplies the result (1: 0..255 units, minus the mean, as Caffe's AlexNet). */
  scale: number;
  pca: Pca;
}

export interface ImageParams {
  x: number;
  y: number;
  flip: boolean;
  /** The three lighting alphas (zeros when lighting is off). */
  alphas: [number, number, number];
}

/** The crop offsets, flip and lighting alphas of image `index` in training epoch `epoch`. */
export function trainParams(cfg: AugmentConfig, epoch: number, index: number): ImageParams {
  const [s0, s1] = words(cfg.seed);
  const w = philox(index, 0, STREAM.CROP, epoch, s0, s1);
  const span = cfg.size - cfg.crop + 1;
  const x = Math.floor(toUniform(w[0]) * span);
  const y = Math.floor(toUniform(w[1]) * span);
  const flip = cfg.flip && w[2] >>> 31 === 1;
  let alphas: [number, number, number] = [0, 0, 0];
  if (cfg.lighting > 0) {
    const l = philox(index, 0, STREAM.LIGHTING, epoch, s0, s1);
    const [n0, n1] = boxMuller(l[0], l[1]);
    const [n2] = boxMuller(l[2], l[3]);
    alphas = [n0 * cfg.lighting, n1 * cfg.lighting, n2 * cfg.lighting];
  }
  return { x, y, flip, alphas };
}

/** The lighting shift per channel in 0..255 units: 255 * [p1 p2 p3][a1 l1, a2 l2, a3 l3]^T. */
export function lightingShift(pca: Pca, alphas: readonly number[]): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    const w = alphas[k] * pca.eigenvalues[k];
    for (let c = 0; c < 3; c++) out[c] += 255 * w * pca.eigenvectors[k][c];
  }
  return out;
}

/** The paper's test crops, in output order: top-left, top-right, bottom-left, bottom-right, centre. */
export function fiveCropOffsets(size: number, crop: number): [number, number][] {
  const e = size - crop, m = Math.floor(e / 2);
  return [[0, 0], [e, 0], [0, e], [e, e], [m, m]];
}

export function centerOffset(size: number, crop: number): number {
  return Math.floor((size - crop) / 2);
}

/** How many crops an image yields in a mode: 10 for tencrop, else 1. */
export function cropsPerImage(mode: AugmentMode): number {
  return mode === 'tencrop' ? 10 : 1;
}

/**
 * Writes one crop of `img` (3*S*S uint8, CHW) into out[outOffset ...] (3*crop*crop float32, CHW).
 * `mean` is the float32 mean image (or null for none).
 */
export function cropInto(
  out: Float32Array, outOffset: number, img: Uint8Array, mean: Float32Array | null,
  size: number, crop: number, x: number, y: number, flip: boolean, shift: readonly number[], scale: number,
): void {
  const plane = size * size;
  let o = outOffset;
  for (let c = 0; c < 3; c++) {
    const add = shift[c];
    for (let i = 0; i < crop; i++) {
      const row = c * plane + (y + i) * size + x;
      if (mean) {
        if (flip) for (let j = crop - 1; j >= 0; j--) out[o++] = (img[row + j] - mean[row + j] + add) * scale;
        else for (let j = 0; j < crop; j++) out[o++] = (img[row + j] - mean[row + j] + add) * scale;
      } else {
        if (flip) for (let j = crop - 1; j >= 0; j--) out[o++] = (img[row + j] + add) * scale;
        else for (let j = 0; j < crop; j++) out[o++] = (img[row + j] + add) * scale;
      }
    }
  }
}

const ZERO = [0, 0, 0];

/**
 * Fills `out` with the crops of the images `indices` (in that order). In tencrop mode image k
 * fills crops 10k..10k+9: the five crops of fiveCropOffsets, then the same five mirrored.
 */
export function fillBatch(
  cfg: AugmentConfig, epoch: number, indices: ArrayLike<number>, read: (index: number) => Uint8Array,
  mean: Float32Array | null, out: Float32Array,
): void {
  const { size, crop, scale } = cfg;
  const per = 3 * crop * crop;
  const m = cfg.subtractMean ? mean : null;
  let slot = 0;
  for (let k = 0; k < indices.length; k++) {
    const img = read(indices[k]);
    if (cfg.mode === 'train') {
      const p = trainParams(cfg, epoch, indices[k]);
      const shift = cfg.lighting > 0 ? lightingShift(cfg.pca, p.alphas) : ZERO;
      cropInto(out, per * slot++, img, m, size, crop, p.x, p.y, p.flip, shift, scale);
    } else if (cfg.mode === 'center') {
      const c = centerOffset(size, crop);
      cropInto(out, per * slot++, img, m, size, crop, c, c, false, ZERO, scale);
    } else {
      const five = fiveCropOffsets(size, crop);
      for (const flip of [false, true])
        for (const [x, y] of five) cropInto(out, per * slot++, img, m, size, crop, x, y, flip, ZERO, scale);
    }
  }
}

/** Reads images of one split of a prepared folder by global index, with one open fd per shard. */
export class ShardReader {
  private readonly starts: number[] = [];
  private readonly fds: (number | null)[];
  private readonly files: string[];
  private readonly buf: Uint8Array;
  private readonly bytes: number;

  constructor(dir: string, index: PreparedIndex, split: SplitIndex) {
    this.bytes = 3 * index.size * index.size;
    this.buf = new Uint8Array(this.bytes);
    let start = 0;
    for (const s of split.shards) {
      this.starts.push(start);
      start += s.count;
    }
    this.files = split.shards.map((s) => path.join(dir, s.file));
    this.fds = split.shards.map(() => null);
  }

  /** The image (a view into a buffer reused by the next call). */
  read(i: number): Uint8Array {
    let lo = 0, hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    let fd = this.fds[lo];
    if (fd === null) fd = this.fds[lo] = fs.openSync(this.files[lo], 'r');
    const offset = (i - this.starts[lo]) * this.bytes;
    const n = fs.readSync(fd, this.buf, 0, this.bytes, offset);
    if (n !== this.bytes) throw new Error(`prepared data: ${this.files[lo]} is truncated (image ${i - this.starts[lo]} missing)`);
    return this.buf;
  }

  close(): void {
    for (let k = 0; k < this.fds.length; k++) {
      const fd = this.fds[k];
      if (fd !== null) fs.closeSync(fd);
      this.fds[k] = null;
    }
  }
}
