// Small generated data for the data-pipeline tests.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writePreparedArrays } from '../../lib/data/format';

export function tmpdir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `alexnet-data-${prefix}-`));
}

/**
 * A CHW gradient whose pixels say where they are: R = x, G = y, B = (x + 2y + k) mod 256, so a
 * crop's origin and direction can be read off its values. Requires size <= 256.
 */
export function gradient(size: number, k = 0): Uint8Array {
  const img = new Uint8Array(3 * size * size);
  const plane = size * size;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      img[y * size + x] = x;
      img[plane + y * size + x] = y;
      img[2 * plane + y * size + x] = (x + 2 * y + k) % 256;
    }
  return img;
}

/** A random CHW image from a simple LCG (deterministic per `seed`). */
export function noiseImage(size: number, seed: number): Uint8Array {
  const img = new Uint8Array(3 * size * size);
  let s = seed * 2654435761 + 1;
  for (let i = 0; i < img.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    img[i] = s >>> 24;
  }
  return img;
}

/** A prepared folder of `n` train and `v` val gradient/noise images of side `size`. */
export function preparedGradients(size: number, n: number, v = 0, classes = 3, shardSize?: number): string {
  const dir = tmpdir('prepared');
  const mk = (count: number, offset: number) => ({
    images: Array.from({ length: count }, (_, i) => (i % 2 === 0 ? gradient(size, i + offset) : noiseImage(size, i + offset))),
    labels: Array.from({ length: count }, (_, i) => (i + offset) % classes),
  });
  writePreparedArrays(dir, {
    size,
    classes: Array.from({ length: classes }, (_, i) => `c${i}`),
    train: mk(n, 0),
    val: v ? mk(v, 1000) : undefined,
    shardSize,
  });
  return dir;
}
