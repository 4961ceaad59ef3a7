// `prepare`: decode every image once, as the paper does (shorter side to S = 256, centre S x S
// crop, RGB), and store the pixels in shards with labels, the training mean image and the RGB
// PCA (format.ts documents the files). Bad files are skipped with a warning naming each and
// counted in the summary; a re-run reuses every shard whose inputs have not changed.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import {
  FORMAT, PreparedIndex, ShardEntry, ShardStats, SplitIndex, VERSION,
  accumulate, finishStats, newStats, readStats, writeAtomic, writeStats,
} from './format';
import { Progress } from './progress';
import { openAnySource } from './imagenet';
import { Item, ItemInput, Source } from './sources';

export interface PrepareOptions {
  /** The source folder (ImageNet layout, CIFAR binary batches or MNIST IDX files). */
  data: string;
  /** The prepared folder to write. */
  out: string;
  /** Side of the stored images (default: 256 for image folders, the native side for CIFAR/MNIST). */
  size?: number;
  /** Source items per shard (default 1000). */
  shardSize?: number;
  /** `<file> <class>` labels for a flat validation folder. */
  valLabels?: string;
  /** Images decoded at once (default: max(4, CPUs)). */
  concurrency?: number;
  /** Draw a progress bar (default: when stderr is a terminal). */
  progress?: boolean;
  /** Where warnings and the summary go (default: stderr). */
  log?: (line: string) => void;
}

export interface Skipped {
  split: string;
  file: string;
  reason: string;
}

export interface PrepareSummary {
  out: string;
  size: number;
  classes: number;
  train: number;
  val: number;
  skipped: Skipped[];
  shardsWritten: number;
  shardsReused: number;
  /** Images decoded by this run (reused shards not counted), and the rate. */
  decoded: number;
  seconds: number;
  imagesPerSecond: number;
}

interface ShardMeta {
  inputs: string;
  count: number;
  labels: number[];
  files: string[];
  skipped: Skipped[];
}

/**
 * Decodes one image to S x S RGB, CHW uint8: EXIF orientation applied, shorter side scaled to S,
 * centre crop; grayscale expanded, alpha dropped, CMYK and 16-bit converted to 8-bit sRGB.
 */
export async function decodeImage(input: ItemInput, size: number): Promise<Uint8Array> {
  let hwc: Uint8Array;
  if ('raw' in input && input.channels === 3 && input.width === size && input.height === size) {
    hwc = input.raw;
  } else {
    const img = 'file' in input
      ? sharp(input.file, { failOn: 'truncated' })
      : sharp(input.raw, { raw: { width: input.width, height: input.height, channels: input.channels } });
    const { data, info } = await img
      .rotate()
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.width !== size || info.height !== size || info.channels !== 3)
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, not ${size}x${size}x3`);
    hwc = data;
  }
  const plane = size * size;
  const chw = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    chw[i] = hwc[3 * i];
    chw[plane + i] = hwc[3 * i + 1];
    chw[2 * plane + i] = hwc[3 * i + 2];
  }
  return chw;
}

function shardName(k: number): string {
  return `shard-${String(k).padStart(5, '0')}`;
}

function inputsHash(size: number, items: Item[]): string {
  const h = createHash('sha256');
  h.update(`${FORMAT} ${VERSION} size=${size}\n`);
  for (const it of items) h.update(`${it.label} ${it.name}\n`);
  return h.digest('hex');
}

function readMeta(file: string): ShardMeta | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ShardMeta;
  } catch {
    return null;
  }
}

function fileSize(file: string): number {
  try { return fs.statSync(file).size; } catch { return -1; }
}

export async function prepare(options: PrepareOptions): Promise<PrepareSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const source: Source = openAnySource(options.data, { valLabels: options.valLabels });
  const size = options.size ?? source.defaultSize;
  if (!Number.isSafeInteger(size) || size < 1 || size > 4096)
    throw new Error(`prepare: Expected an integer in 1..4096 for --size but received ${size}`);
  const shardSize = options.shardSize ?? 1000;
  if (!Number.isSafeInteger(shardSize) || shardSize < 1)
    throw new Error(`prepare: Expected a positive integer for --shard-size but received ${shardSize}`);
  const concurrency = options.concurrency ?? Math.max(4, os.cpus().length);
  const bytes = 3 * size * size;
  const out = options.out;
  fs.mkdirSync(out, { recursive: true });
  // An index from an earlier run is stale until this run finishes.
  fs.rmSync(path.join(out, 'index.json'), { force: true });

  const started = Date.now();
  const skipped: Skipped[] = [...source.missing];
  for (const m of source.missing) log(`warning: skipped ${m.file}: ${m.reason}`);
  let shardsWritten = 0, shardsReused = 0, decoded = 0;
  const splits: { train?: SplitIndex; val?: SplitIndex } = {};
  const trainStats: ShardStats[] = [];
  const perClass = new Array<number>(source.classes.length).fill(0);

  for (const split of ['train', 'val'] as const) {
    const items = split === 'train' ? source.train : source.val;
    if (!items) continue;
    const dir = path.join(out, split);
    fs.mkdirSync(dir, { recursive: true });
    const shardCount = Math.ceil(items.length / shardSize);
    const progress = new Progress(`prepare ${split}`, items.length, options.progress ?? Boolean(process.stderr.isTTY));
    const shards: ShardEntry[] = [];
    const labels: number[] = [];
    for (let k = 0; k < shardCount; k++) {
      const chunk = items.slice(k * shardSize, (k + 1) * shardSize);
      const base = path.join(dir, shardName(k));
      const hash = inputsHash(size, chunk);
      let meta = readMeta(`${base}.json`);
      const reusable = meta !== null && meta.inputs === hash && fileSize(`${base}.bin`) === meta.count * bytes &&
        (split !== 'train' || fileSize(`${base}.stats`) === 80 + 4 * bytes);
      if (reusable && meta) {
        shardsReused++;
        progress.tick(chunk.length);
      } else {
        meta = await writeShard(base, chunk, size, split, concurrency, progress);
        for (const s of meta.skipped) progress.above(() => log(`warning: skipped ${s.file}: ${s.reason}`));
        shardsWritten++;
        decoded += meta.count;
      }
      skipped.push(...meta.skipped);
      if (split === 'train') trainStats.push(readStats(`${base}.stats`, size));
      shards.push({ file: `${split}/${shardName(k)}.bin`, count: meta.count });
      labels.push(...meta.labels);
    }
    progress.finish();
    // Shards left from an earlier run with more images are not part of this one.
    for (const f of fs.readdirSync(dir)) {
      const m = /^shard-(\d+)\./.exec(f);
      if (m && Number(m[1]) >= shardCount) fs.rmSync(path.join(dir, f), { force: true });
    }
    if (split === 'train') for (const l of labels) perClass[l]++;
    const labelsFile = `${split}/labels.bin`;
    writeAtomic(path.join(out, labelsFile), new Uint8Array(Int32Array.from(labels).buffer));
    splits[split] = { count: labels.length, shards, labels: labelsFile };
  }

  // A class folder whose files all failed to decode is as wrong as an empty one. (CIFAR and MNIST
  // classes are fixed by the format, so a small subset of those may lack some.)
  const empty = source.kind === 'imagenet' ? source.classes.filter((_, i) => perClass[i] === 0) : [];
  if (empty.length) {
    const names = empty.slice(0, 10).map((c) => `'${c}'`).join(', ') + (empty.length > 10 ? ` and ${empty.length - 10} more` : '');
    throw new Error(`prepare: class${empty.length > 1 ? 'es' : ''} ${names} of ${options.data} ha${empty.length > 1 ? 've' : 's'} no readable training images`);
  }

  const { mean, pca } = finishStats(trainStats, size);
  writeAtomic(path.join(out, 'mean.bin'), new Uint8Array(mean.buffer));
  const index: PreparedIndex = {
    format: FORMAT, version: VERSION, size, layout: 'CHW', dtype: 'uint8',
    classes: source.classes, ...(source.names ? { classNames: source.names } : {}), splits: splits as PreparedIndex['splits'], mean: 'mean.bin', pca,
    source: { kind: source.kind, path: path.resolve(options.data) }, skipped,
  };
  writeAtomic(path.join(out, 'index.json'), JSON.stringify(index, null, 1));

  const seconds = (Date.now() - started) / 1000;
  const summary: PrepareSummary = {
    out, size, classes: source.classes.length,
    train: splits.train?.count ?? 0, val: splits.val?.count ?? 0, skipped,
    shardsWritten, shardsReused, decoded, seconds, imagesPerSecond: decoded / Math.max(seconds, 1e-3),
  };
  log(formatSummary(summary));
  return summary;
}

export function formatSummary(s: PrepareSummary): string {
  const lines = [
    `prepared ${s.out}: ${s.train} train and ${s.val} val images of ${s.size}x${s.size}, ${s.classes} classes`,
    `  ${s.shardsWritten} shard(s) written, ${s.shardsReused} reused; ${s.decoded} images decoded in ${s.seconds.toFixed(1)} s (${s.imagesPerSecond.toFixed(0)} img/s)`,
    `  ${s.skipped.length} file(s) skipped${s.skipped.length ? ':' : ''}`,
  ];
  for (const k of s.skipped.slice(0, 20)) lines.push(`    ${k.file}: ${k.reason}`);
  if (s.skipped.length > 20) lines.push(`    ... and ${s.skipped.length - 20} more (all listed in index.json)`);
  return lines.join('\n');
}

/** Decodes a shard's items (`concurrency` at a time), then writes .bin, .stats and .json, in that order. */
async function writeShard(base: string, chunk: Item[], size: number, split: string, concurrency: number, progress: Progress): Promise<ShardMeta> {
  const results: (Uint8Array | null)[] = new Array(chunk.length).fill(null);
  const reasons: (string | null)[] = new Array(chunk.length).fill(null);
  let next = 0;
  const run = async () => {
    while (next < chunk.length) {
      const i = next++;
      try {
        results[i] = await decodeImage(chunk[i].input(), size);
      } catch (err) {
        const input = chunk[i].input();
        reasons[i] = 'file' in input && fileSize(input.file) === 0
          ? 'empty file'
          : (err as Error).message.split('\n')[0] || 'could not be decoded';
      }
      progress.tick();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunk.length) }, run));
  const stats = newStats(size);
  const meta: ShardMeta = { inputs: inputsHash(size, chunk), count: 0, labels: [], files: [], skipped: [] };
  const tmp = `${base}.bin.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (let i = 0; i < chunk.length; i++) {
      const img = results[i];
      if (!img) {
        meta.skipped.push({ split, file: chunk[i].name, reason: reasons[i] ?? 'could not be decoded' });
        continue;
      }
      fs.writeSync(fd, img);
      if (split === 'train') accumulate(stats, img);
      meta.count++;
      meta.labels.push(chunk[i].label);
      meta.files.push(chunk[i].name);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, `${base}.bin`);
  if (split === 'train') writeStats(`${base}.stats`, stats);
  writeAtomic(`${base}.json`, JSON.stringify(meta));
  return meta;
}
