// A synthetic image-classification set, so that training has data with no download: 10 classes
// of drawn shapes and textures, each image with a random foreground colour, position, scale,
// rotation, background (flat or a two-colour gradient), image size and pixel noise, written as
// real JPEG files in the ImageNet layout (train/<class>/*.jpg, val/<class>/*.jpg). Every image
// is a pure function of (seed, split, class, number) through Philox (rng.ts), so generation is
// deterministic for a seed (byte-identical files for the same sharp/libvips build).
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { PhiloxStream, STREAM } from './rng';

export const SYNTHETIC_CLASSES = [
  'disc', 'square', 'triangle', 'ring', 'cross', 'flower',
  'stripes', 'checkerboard', 'dots', 'target',
] as const;

export interface SyntheticOptions {
  /** Output folder; train/ and val/ are made inside it. */
  out: string;
  seed?: number;
  /** Number of classes, 1..10 (default 10). */
  classes?: number;
  trainPerClass?: number;
  valPerClass?: number;
  /** Image sides are drawn uniformly from [minSide, maxSide] (default 64..160), independently. */
  minSide?: number;
  maxSide?: number;
  /** JPEG quality (default 90). */
  quality?: number;
  /** Also write val as one flat folder plus a labels file (`val_flat/`, `val_labels.txt`). */
  flatVal?: boolean;
}

export interface SyntheticResult {
  out: string;
  classes: string[];
  train: number;
  val: number;
  /** True when a matching set was already on disk and nothing was written. */
  cached: boolean;
}

type Rgb = [number, number, number];

/** Whether the point (u, v), in the shape's own frame (radius 1), is foreground for class k. */
function inside(k: number, u: number, v: number, period: number): boolean {
  const rho = Math.hypot(u, v);
  switch (k) {
    case 0: return rho < 1;
    case 1: return Math.abs(u) < 0.75 && Math.abs(v) < 0.75;
    case 2: // equilateral triangle, circumradius 1: edge normals at 270, 30 and 150 degrees
      return -v < 0.5 && 0.866 * u + 0.5 * v < 0.5 && -0.866 * u + 0.5 * v < 0.5;
    case 3: return rho < 1 && rho > 0.55;
    case 4: return (Math.abs(u) < 0.28 && Math.abs(v) < 1) || (Math.abs(v) < 0.28 && Math.abs(u) < 1);
    case 5: return rho < 0.55 + 0.45 * Math.cos(5 * Math.atan2(v, u));
    // Textures cover the whole image; `period` is their scale, in shape radii.
    case 6: return Math.sin((2 * Math.PI * u) / period) > 0;
    case 7: return Math.sin((Math.PI * u) / period) * Math.sin((Math.PI * v) / period) > 0;
    case 8: {
      const fu = u / period - Math.floor(u / period) - 0.5, fv = v / period - Math.floor(v / period) - 0.5;
      return fu * fu + fv * fv < 0.09;
    }
    default: return Math.sin((2 * Math.PI * rho) / period) > 0;
  }
}

/** Draws image `number` of class `k` for `split`: RGB, HWC, uint8. */
export function drawSynthetic(
  seed: number, split: 'train' | 'val', k: number, number: number, minSide = 64, maxSide = 160,
): { data: Buffer; width: number; height: number } {
  // One stream per image: offset = (SYNTHETIC, split * 2^20 + class * 2^16 ... ) packed in two words.
  const rng = new PhiloxStream(seed, STREAM.SYNTHETIC, ((split === 'val' ? 1 : 0) << 24) + (k << 20) + number);
  const width = minSide + rng.int(maxSide - minSide + 1);
  const height = minSide + rng.int(maxSide - minSide + 1);
  const colour = (): Rgb => [rng.int(256), rng.int(256), rng.int(256)];
  const bg0 = colour();
  const bg1 = rng.uniform() < 0.5 ? bg0 : colour();
  let fg = colour();
  for (let tries = 0; tries < 20 && Math.hypot(fg[0] - bg0[0], fg[1] - bg0[1], fg[2] - bg0[2]) < 120; tries++) fg = colour();
  const gradAngle = rng.range(0, 2 * Math.PI);
  const side = Math.min(width, height);
  const radius = side * rng.range(0.2, 0.45);
  const cx = rng.range(radius, width - radius), cy = rng.range(radius, height - radius);
  const theta = rng.range(0, 2 * Math.PI);
  const period = rng.range(0.25, 0.6);
  const noise = rng.range(0, 18);
  const cos = Math.cos(theta), sin = Math.sin(theta);
  const gx = Math.cos(gradAngle) / width, gy = Math.sin(gradAngle) / height;
  const data = Buffer.alloc(width * height * 3);
  // 2x2 supersampling for smooth edges.
  const sub = [0.25, 0.75];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let cover = 0;
      for (const sy of sub)
        for (const sx of sub) {
          const dx = (x + sx - cx) / radius, dy = (y + sy - cy) / radius;
          if (inside(k, cos * dx + sin * dy, -sin * dx + cos * dy, period)) cover += 0.25;
        }
      const t = Math.min(1, Math.max(0, 0.5 + (x - width / 2) * gx + (y - height / 2) * gy));
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const bg = bg0[c] + (bg1[c] - bg0[c]) * t;
        const value = bg + (fg[c] - bg) * cover + noise * rng.normal();
        data[o + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
    }
  }
  return { data, width, height };
}

function manifestOf(o: Required<Omit<SyntheticOptions, 'out'>>) {
  return { kind: 'alexnet-synthetic', version: 1, ...o };
}

/**
 * Writes the synthetic set (or finds it already written with the same options, and returns at
 * once). Images are train/<class>/<class>_<n>.jpg and val/<class>/<class>_<n>.jpg; with flatVal
 * also val_flat/val_<n>.jpg and val_labels.txt (`<file> <class>` per line).
 */
export async function generateSynthetic(options: SyntheticOptions): Promise<SyntheticResult> {
  const o = {
    seed: options.seed ?? 0,
    classes: options.classes ?? 10,
    trainPerClass: options.trainPerClass ?? 100,
    valPerClass: options.valPerClass ?? 20,
    minSide: options.minSide ?? 64,
    maxSide: options.maxSide ?? 160,
    quality: options.quality ?? 90,
    flatVal: options.flatVal ?? false,
  };
  if (!Number.isInteger(o.classes) || o.classes < 1 || o.classes > SYNTHETIC_CLASSES.length)
    throw new Error(`generateSynthetic: Expected an integer in 1..${SYNTHETIC_CLASSES.length} for classes but received ${o.classes}`);
  if (!(o.minSide >= 8 && o.maxSide >= o.minSide))
    throw new Error(`generateSynthetic: Expected 8 <= minSide <= maxSide for the image sides but received ${o.minSide}..${o.maxSide}`);
  const classes = SYNTHETIC_CLASSES.slice(0, o.classes).map((name, k) => `${String(k).padStart(2, '0')}_${name}`);
  const manifestFile = path.join(options.out, 'synthetic.json');
  const manifest = JSON.stringify(manifestOf(o));
  const result = { out: options.out, classes, train: o.classes * o.trainPerClass, val: o.classes * o.valPerClass };
  if (fs.existsSync(manifestFile) && fs.readFileSync(manifestFile, 'utf8') === manifest) return { ...result, cached: true };
  fs.rmSync(manifestFile, { force: true });
  const jobs: { file: string; split: 'train' | 'val'; k: number; n: number }[] = [];
  const flat: string[] = [];
  for (const split of ['train', 'val'] as const) {
    const per = split === 'train' ? o.trainPerClass : o.valPerClass;
    for (let k = 0; k < o.classes; k++) {
      fs.mkdirSync(path.join(options.out, split, classes[k]), { recursive: true });
      for (let n = 0; n < per; n++)
        jobs.push({ file: path.join(options.out, split, classes[k], `${classes[k]}_${String(n).padStart(5, '0')}.jpg`), split, k, n });
    }
  }
  if (o.flatVal) fs.mkdirSync(path.join(options.out, 'val_flat'), { recursive: true });
  let next = 0;
  const encodeOne = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const img = drawSynthetic(o.seed, job.split, job.k, job.n, o.minSide, o.maxSide);
      const jpeg = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
        .jpeg({ quality: o.quality })
        .toBuffer();
      fs.writeFileSync(job.file, jpeg);
      if (o.flatVal && job.split === 'val') {
        const name = `val_${String(job.k * o.valPerClass + job.n).padStart(6, '0')}.jpg`;
        fs.writeFileSync(path.join(options.out, 'val_flat', name), jpeg);
        flat.push(`${name} ${classes[job.k]}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, encodeOne));
  if (o.flatVal) fs.writeFileSync(path.join(options.out, 'val_labels.txt'), flat.sort().join('\n') + '\n');
  fs.writeFileSync(manifestFile, manifest);
  return { ...result, cached: false };
}
