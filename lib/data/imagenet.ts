// ImageNet (ILSVRC-2012) as it is distributed, besides plain class folders (sources.ts):
//
//   devkit   DIR/train/<wnid>/*.JPEG, DIR/val/ILSVRC2012_val_00000001.JPEG ... (flat), and
//            DIR/ILSVRC2012_devkit_t12/data/{meta.mat, ILSVRC2012_validation_ground_truth.txt}:
//            line i of the ground truth is the 1-based ILSVRC2012_ID of val image i, which
//            meta.mat's `synsets` struct maps to a WNID. That id order is the devkit's (by
//            WordNet hierarchy), not the sorted-WNID order folder loaders use, so ids are
//            mapped through the WNID, never used as class indices.
//   Kaggle   DIR/LOC_synset_mapping.txt (`<wnid> <words>`), DIR/LOC_val_solution.csv
//            (`ImageId,PredictionString`, the first token of which is the WNID), and the images
//            in DIR/ILSVRC/Data/CLS-LOC/{train/<wnid>/, val/}.
//
// Either way the classes are the sorted WNIDs of the train folders, and the synset words
// ("tabby, tabby cat") are the class names that go into checkpoints. Validation images of
// classes that train does not hold (a subset of ImageNet) are left out.
import * as fs from 'fs';
import * as path from 'path';
import { readMatFile } from './matlab';
import { classFolderItems, filesOf, isDir, isFile, Item, openSource, Source, subdirsOf } from './sources';

const DEVKIT = path.join('ILSVRC2012_devkit_t12', 'data');

/** A devkit-, Kaggle- or folder-shaped data folder as a Source. */
export function openAnySource(dir: string, options: { valLabels?: string } = {}): Source {
  if (isFile(path.join(dir, DEVKIT, 'meta.mat'))) return openDevkit(dir);
  if (isFile(path.join(dir, 'LOC_synset_mapping.txt'))) return openKaggle(dir);
  return openSource(dir, options);
}

/** meta.mat's synsets: ILSVRC2012_ID -> WNID, and WNID -> words. */
export function readDevkitMeta(file: string): { wnidOfId: Map<number, string>; words: Map<string, string> } {
  const vars = readMatFile(fs.readFileSync(file), file);
  const synsets = vars.get('synsets');
  if (!Array.isArray(synsets) || !synsets.length || typeof synsets[0] !== 'object' || Array.isArray(synsets[0]))
    throw new Error(`${file}: no struct array named synsets (is this the ILSVRC2012 devkit's meta.mat?)`);
  const wnidOfId = new Map<number, string>(), words = new Map<string, string>();
  for (const s of synsets as Record<string, unknown>[]) {
    const id = (s.ILSVRC2012_ID as number[])?.[0], wnid = s.WNID, w = s.words;
    if (typeof id !== 'number' || typeof wnid !== 'string')
      throw new Error(`${file}: a synset without ILSVRC2012_ID and WNID fields`);
    wnidOfId.set(id, wnid);
    if (typeof w === 'string') words.set(wnid, w);
  }
  return { wnidOfId, words };
}

function trainClasses(trainDir: string): string[] {
  if (!isDir(trainDir)) throw new Error(`ImageNet folder: no train folder at ${trainDir} (expected train/<wnid>/*.JPEG)`);
  const classes = subdirsOf(trainDir);
  if (!classes.length) throw new Error(`train folder ${trainDir} has no class folders (expected train/<wnid>/*.JPEG)`);
  return classes;
}

function namesFor(classes: string[], words: Map<string, string>, source: string): string[] {
  return classes.map((c) => {
    const w = words.get(c);
    if (w === undefined) throw new Error(`train class folder ${c} is not a synset of ${source}`);
    return w;
  });
}

/** The devkit layout: train/<wnid>/, a flat val/, and the devkit's ground truth and meta.mat. */
export function openDevkit(root: string): Source {
  const meta = readDevkitMeta(path.join(root, DEVKIT, 'meta.mat'));
  const classes = trainClasses(path.join(root, 'train'));
  const labelOf = new Map(classes.map((c, i) => [c, i] as [string, number]));
  const train = classFolderItems(root, 'train', classes, labelOf);
  const truthFile = path.join(root, DEVKIT, 'ILSVRC2012_validation_ground_truth.txt');
  const valDir = path.join(root, 'val');
  const missing: Source['missing'] = [];
  let val: Item[] | null = null;
  if (isDir(valDir)) {
    if (!isFile(truthFile)) throw new Error(`validation folder ${valDir}: the devkit's ground truth ${truthFile} is missing`);
    const ids = fs.readFileSync(truthFile, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l, i) => {
      const id = Number(l);
      if (!Number.isInteger(id) || !meta.wnidOfId.has(id))
        throw new Error(`${truthFile} line ${i + 1}: ${JSON.stringify(l)} is not an ILSVRC2012_ID of meta.mat`);
      return id;
    });
    val = [];
    for (const f of filesOf(valDir)) {
      // ILSVRC2012_val_00000001.JPEG is line 1
      const m = /_(\d{8})\.[A-Za-z]+$/.exec(f);
      if (!m) throw new Error(`validation image ${path.join(valDir, f)}: expected a name like ILSVRC2012_val_00000001.JPEG`);
      const n = Number(m[1]);
      if (n < 1 || n > ids.length) throw new Error(`validation image ${f}: number ${n} has no line in ${truthFile} (${ids.length} lines)`);
      const label = labelOf.get(meta.wnidOfId.get(ids[n - 1])!);
      if (label === undefined) continue;  // a class train does not hold
      const file = path.join(valDir, f);
      val.push({ name: path.join('val', f), label, input: () => ({ file }) });
    }
    if (!val.length) throw new Error(`validation folder ${valDir} holds no image of the train classes`);
  }
  return { kind: 'imagenet', root, classes, names: namesFor(classes, meta.words, 'meta.mat'), train, val, defaultSize: 256, missing };
}

/** LOC_synset_mapping.txt: `<wnid> <words>` per line. */
export function readSynsetMapping(file: string): Map<string, string> {
  const words = new Map<string, string>();
  fs.readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const m = /^(n\d{8})\s+(.+)$/.exec(line.trim());
    if (!m) throw new Error(`${file} line ${i + 1}: expected '<wnid> <words>' but found ${JSON.stringify(line.slice(0, 60))}`);
    words.set(m[1], m[2]);
  });
  if (!words.size) throw new Error(`${file} lists no synsets`);
  return words;
}

/** The Kaggle layout (LOC_*.txt/csv and ILSVRC/Data/CLS-LOC). */
export function openKaggle(root: string): Source {
  const words = readSynsetMapping(path.join(root, 'LOC_synset_mapping.txt'));
  const data = path.join(root, 'ILSVRC', 'Data', 'CLS-LOC');
  const classes = trainClasses(path.join(data, 'train'));
  const labelOf = new Map(classes.map((c, i) => [c, i] as [string, number]));
  const train = classFolderItems(data, 'train', classes, labelOf).map((it) => ({ ...it, name: path.join('ILSVRC', 'Data', 'CLS-LOC', it.name) }));
  const solution = path.join(root, 'LOC_val_solution.csv');
  const valDir = path.join(data, 'val');
  const missing: Source['missing'] = [];
  let val: Item[] | null = null;
  if (isFile(solution)) {
    if (!isDir(valDir)) throw new Error(`${solution} names validation images, but ${valDir} does not exist`);
    const files = new Map(filesOf(valDir).map((f) => [f.replace(/\.[^.]+$/, ''), f]));
    const lines = fs.readFileSync(solution, 'utf8').split(/\r?\n/);
    if (!/^ImageId,PredictionString/.test(lines[0] ?? '')) throw new Error(`${solution}: expected the header 'ImageId,PredictionString'`);
    val = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      const m = /^([^,]+),\s*(n\d{8})\b/.exec(line);
      if (!m) throw new Error(`${solution} line ${i + 1}: expected '<ImageId>,<wnid> ...' but found ${JSON.stringify(line.slice(0, 60))}`);
      const label = labelOf.get(m[2]);
      if (label === undefined) continue;  // a class train does not hold
      const f = files.get(m[1]);
      if (!f) {
        missing.push({ split: 'val', file: path.join('ILSVRC', 'Data', 'CLS-LOC', 'val', `${m[1]}.JPEG`), reason: `listed in ${solution} but not found` });
        continue;
      }
      const file = path.join(valDir, f);
      val.push({ name: path.relative(root, file), label, input: () => ({ file }) });
    }
    val.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (!val.length) throw new Error(`${solution} names no validation image of the train classes`);
  }
  return { kind: 'imagenet', root, classes, names: namesFor(classes, words, 'LOC_synset_mapping.txt'), train, val, defaultSize: 256, missing };
}
