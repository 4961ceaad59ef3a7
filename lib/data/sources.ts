// Where images come from, as one shape for `prepare`: a list of classes and, per split, a list of
// items (a name for messages, a label, and how to get the pixels).
//
//   ImageNet layout   DIR/train/<class>/*  and  DIR/val/<class>/*  (class = folder name, sorted,
//                     the same index in train and val), or DIR/val/* flat with a labels file of
//                     `<file> <class>` lines (DIR/val_labels.txt, or --val-labels FILE), the way
//                     the ILSVRC validation set ships. <class> is a class folder name of train.
//   CIFAR-10 binary   DIR/data_batch_{1..5}.bin (train), DIR/test_batch.bin (val), 1 label byte +
//                     3072 pixel bytes (1024 R, 1024 G, 1024 B) per record; names from batches.meta.txt
//   CIFAR-100 binary  DIR/train.bin, DIR/test.bin: coarse label byte, fine label byte (used), 3072
//                     pixel bytes; names from fine_label_names.txt
//   MNIST IDX         DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (also `images.idx3-ubyte`
//                     spellings); gzipped or not; grayscale, expanded to RGB
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

export type ItemInput =
  | { file: string }
  /** Raw pixels, HWC uint8 with `channels` channels (1 or 3). */
  | { raw: Uint8Array; width: number; height: number; channels: 1 | 3 };

export interface Item {
  /** Shown in warnings: a path relative to the data folder, or `<file>#<record>`. */
  name: string;
  label: number;
  input(): ItemInput;
}

export interface Source {
  kind: 'imagenet' | 'cifar10' | 'cifar100' | 'mnist';
  root: string;
  classes: string[];
  /** human-readable class names (ImageNet's synset words), where the source has them */
  names?: string[];
  train: Item[];
  val: Item[] | null;
  /** The stored image side `prepare` uses when not told (256 for photos; the native side for small formats). */
  defaultSize: number;
  /** Files listed but absent, or otherwise known bad before decoding. */
  missing: { split: string; file: string; reason: string }[];
}

export function isDir(p: string): boolean {
  try { return fs.statSync(p).isDirectory(); } catch { return false; }
}

export function isFile(p: string): boolean {
  try { return fs.statSync(p).isFile(); } catch { return false; }
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Regular, non-hidden files of a folder, sorted. */
export function filesOf(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && (e.isFile() || (e.isSymbolicLink() && isFile(path.join(dir, e.name)))))
    .map((e) => e.name)
    .sort(byCodePoint);
}

export function subdirsOf(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && isDir(path.join(dir, e.name)))))
    .map((e) => e.name)
    .sort(byCodePoint);
}

/** Which kind of source a folder holds, or null. */
export function detectSource(dir: string): Source['kind'] | null {
  if (isDir(path.join(dir, 'train'))) return 'imagenet';
  if (isFile(path.join(dir, 'data_batch_1.bin'))) return 'cifar10';
  if (isFile(path.join(dir, 'train.bin')) && isFile(path.join(dir, 'test.bin'))) return 'cifar100';
  if (findIdx(dir, 'train', 'images')) return 'mnist';
  return null;
}

export function openSource(dir: string, options: { valLabels?: string } = {}): Source {
  if (!fs.existsSync(dir)) throw new Error(`data folder ${dir} does not exist`);
  if (!isDir(dir)) throw new Error(`data folder ${dir} is not a folder`);
  const kind = detectSource(dir);
  switch (kind) {
    case 'imagenet': return openImageFolders(dir, options.valLabels);
    case 'cifar10': return openCifar(dir, 10);
    case 'cifar100': return openCifar(dir, 100);
    case 'mnist': return openMnist(dir);
    default:
      throw new Error(
        `data folder ${dir} holds no known dataset: expected train/<class>/ image folders, CIFAR-10/100 ` +
        `binary batches (data_batch_1.bin or train.bin) or MNIST IDX files (train-images-idx3-ubyte[.gz])`,
      );
  }
}

// ---------------------------------------------------------------- ImageNet-style folders

export function classFolderItems(root: string, split: string, classes: string[], labelOf: Map<string, number>): Item[] {
  const dir = path.join(root, split);
  const items: Item[] = [];
  for (const cls of classes) {
    const label = labelOf.get(cls);
    if (label === undefined)
      throw new Error(`${split} folder ${dir} has class folder '${cls}', which is not a class of ${path.join(root, 'train')}`);
    const files = filesOf(path.join(dir, cls));
    if (files.length === 0) throw new Error(`class folder ${path.join(dir, cls)} has no images`);
    for (const f of files) {
      const file = path.join(dir, cls, f);
      items.push({ name: path.join(split, cls, f), label, input: () => ({ file }) });
    }
  }
  return items;
}

/** Parses a `<file> <class>` labels file. */
export function readLabelsFile(file: string, labelOf: Map<string, number>): { file: string; label: number }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`labels file ${file} cannot be read: ${(err as Error).message}`);
  }
  const out: { file: string; label: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    if (parts.length !== 2)
      throw new Error(`labels file ${file} line ${n + 1}: Expected '<file> <class>' but received '${line}'`);
    const label = labelOf.get(parts[1]);
    if (label === undefined)
      throw new Error(`labels file ${file} line ${n + 1}: class '${parts[1]}' is not a class folder of train`);
    out.push({ file: parts[0], label });
  }
  if (out.length === 0) throw new Error(`labels file ${file} lists no images`);
  return out;
}

function openImageFolders(root: string, valLabels?: string): Source {
  const trainDir = path.join(root, 'train');
  const classes = subdirsOf(trainDir);
  if (classes.length === 0) {
    const loose = filesOf(trainDir).length;
    throw new Error(
      loose
        ? `train folder ${trainDir} has files but no class folders (expected train/<class>/<image>)`
        : `train folder ${trainDir} is empty (expected train/<class>/<image>)`,
    );
  }
  const labelOf = new Map(classes.map((c, i) => [c, i] as [string, number]));
  const train = classFolderItems(root, 'train', classes, labelOf);
  const missing: Source['missing'] = [];
  let val: Item[] | null = null;
  const valDir = path.join(root, 'val');
  const labelsFile = valLabels ?? [path.join(root, 'val_labels.txt'), path.join(valDir, 'labels.txt')].find(isFile);
  if (valLabels !== undefined && !isFile(valLabels)) throw new Error(`labels file ${valLabels} cannot be read: no such file`);
  if (isDir(valDir) || labelsFile) {
    const valClasses = isDir(valDir) ? subdirsOf(valDir) : [];
    if (valClasses.length > 0 && valLabels === undefined) {
      val = classFolderItems(root, 'val', valClasses, labelOf);
    } else {
      // Flat validation folder plus a labels file.
      const flatDir = isDir(valDir) && filesOf(valDir).length > 0 ? valDir : path.join(root, 'val_flat');
      if (!labelsFile)
        throw new Error(`validation folder ${valDir} has no class folders and no labels file (put one at ${path.join(root, 'val_labels.txt')} or pass --val-labels FILE)`);
      if (!isDir(flatDir)) throw new Error(`validation folder ${flatDir} does not exist (named by labels file ${labelsFile})`);
      val = [];
      for (const { file, label } of readLabelsFile(labelsFile, labelOf)) {
        const full = path.join(flatDir, file);
        if (!isFile(full)) {
          missing.push({ split: 'val', file: path.relative(root, full), reason: `listed in ${labelsFile} but not found` });
          continue;
        }
        val.push({ name: path.relative(root, full), label, input: () => ({ file: full }) });
      }
    }
    if (val.length === 0) throw new Error(`validation folder ${valDir} has no images`);
  }
  return { kind: 'imagenet', root, classes, train, val, defaultSize: 256, missing };
}

// ---------------------------------------------------------------- CIFAR

function readNames(file: string, count: number): string[] {
  if (isFile(file)) {
    const names = fs.readFileSync(file, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
    if (names.length === count) return names;
  }
  return Array.from({ length: count }, (_, i) => String(i));
}

function cifarItems(file: string, classes: number, root: string): Item[] {
  const labelBytes = classes === 10 ? 1 : 2;
  const record = labelBytes + 3072;
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`CIFAR file ${file} cannot be read: ${(err as Error).message}`);
  }
  if (buf.length === 0 || buf.length % record !== 0)
    throw new Error(`CIFAR-${classes} file ${file} has ${buf.length} bytes, which is not a whole number of ${record}-byte records`);
  const items: Item[] = [];
  const rel = path.relative(root, file);
  for (let r = 0; r < buf.length / record; r++) {
    const base = r * record;
    const label = buf[base + labelBytes - 1];
    if (label >= classes) throw new Error(`CIFAR-${classes} file ${file} record ${r}: label ${label} is not below ${classes}`);
    items.push({
      name: `${rel}#${r}`,
      label,
      input: () => {
        const hwc = new Uint8Array(3072);
        const px = base + labelBytes;
        for (let i = 0; i < 1024; i++) {
          hwc[3 * i] = buf[px + i];
          hwc[3 * i + 1] = buf[px + 1024 + i];
          hwc[3 * i + 2] = buf[px + 2048 + i];
        }
        return { raw: hwc, width: 32, height: 32, channels: 3 };
      },
    });
  }
  return items;
}

function openCifar(root: string, classes: 10 | 100): Source {
  const trainFiles = classes === 10
    ? [1, 2, 3, 4, 5].map((i) => path.join(root, `data_batch_${i}.bin`)).filter(isFile)
    : [path.join(root, 'train.bin')];
  const valFile = path.join(root, classes === 10 ? 'test_batch.bin' : 'test.bin');
  const names = classes === 10 ? readNames(path.join(root, 'batches.meta.txt'), 10) : readNames(path.join(root, 'fine_label_names.txt'), 100);
  const train = trainFiles.flatMap((f) => cifarItems(f, classes, root));
  const val = isFile(valFile) ? cifarItems(valFile, classes, root) : null;
  return { kind: classes === 10 ? 'cifar10' : 'cifar100', root, classes: names, train, val, defaultSize: 32, missing: [] };
}

// ---------------------------------------------------------------- MNIST IDX

function findIdx(dir: string, split: 'train' | 't10k', what: 'images' | 'labels'): string | null {
  const dims = what === 'images' ? 'idx3' : 'idx1';
  for (const base of [`${split}-${what}-${dims}-ubyte`, `${split}-${what}.${dims}-ubyte`])
    for (const ext of ['', '.gz']) if (isFile(path.join(dir, base + ext))) return path.join(dir, base + ext);
  return null;
}

/** Reads an IDX file (gzipped or not, by its magic bytes): the unsigned-byte payload and its dimensions. */
export function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
    if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  } catch (err) {
    throw new Error(`IDX file ${file} cannot be read: ${(err as Error).message}`);
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0)
    throw new Error(`IDX file ${file}: Expected the magic bytes 00 00 <type> <dims> but received ${[...buf.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  if (buf[2] !== 0x08) throw new Error(`IDX file ${file}: Expected unsigned-byte data (type 0x08) but received type 0x${buf[2].toString(16)}`);
  const n = buf[3];
  if (buf.length < 4 + 4 * n) throw new Error(`IDX file ${file} is truncated in its header`);
  const dims = Array.from({ length: n }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  const data = buf.subarray(4 + 4 * n);
  if (data.length !== size)
    throw new Error(`IDX file ${file}: Expected ${size} bytes of data for dimensions [${dims.join(', ')}] but received ${data.length}`);
  return { dims, data };
}

function mnistItems(root: string, split: 'train' | 't10k'): Item[] | null {
  const imagesFile = findIdx(root, split, 'images');
  const labelsFile = findIdx(root, split, 'labels');
  if (!imagesFile) return null;
  if (!labelsFile) throw new Error(`MNIST folder ${root} has ${path.basename(imagesFile)} but no ${split}-labels-idx1-ubyte[.gz]`);
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length !== 3) throw new Error(`IDX file ${imagesFile}: Expected 3 dimensions (count, rows, columns) but received ${images.dims.length}`);
  if (labels.dims.length !== 1) throw new Error(`IDX file ${labelsFile}: Expected 1 dimension (count) but received ${labels.dims.length}`);
  const [count, h, w] = images.dims;
  if (labels.dims[0] !== count) throw new Error(`MNIST files ${imagesFile} and ${labelsFile} disagree: ${count} images but ${labels.dims[0]} labels`);
  const rel = path.relative(root, imagesFile);
  return Array.from({ length: count }, (_, i) => {
    const label = labels.data[i];
    if (label > 9) throw new Error(`IDX file ${labelsFile} entry ${i}: label ${label} is not a digit`);
    return {
      name: `${rel}#${i}`,
      label,
      input: () => ({ raw: images.data.subarray(i * h * w, (i + 1) * h * w), width: w, height: h, channels: 1 as const }),
    };
  });
}

function openMnist(root: string): Source {
  const train = mnistItems(root, 'train');
  if (!train) throw new Error(`MNIST folder ${root} has no train-images-idx3-ubyte[.gz]`);
  const val = mnistItems(root, 't10k');
  const side = train.length ? (train[0].input() as { width: number }).width : 28;
  return { kind: 'mnist', root, classes: Array.from({ length: 10 }, (_, i) => String(i)), train, val, defaultSize: side, missing: [] };
}
