// Image retrieval by the network's hidden features (the paper's Figure 4, right): the
// training images whose feature vectors at a layer (fc7: the last 4096-d hidden layer) are
// nearest in Euclidean distance to a query image's.
import { DeviceLike } from '../core/device';
import * as path from 'node:path';
import sharp from 'sharp';
import { encodeSafetensors, readSafetensorsFile, writeFileAtomic } from '../io/safetensors';
import { ShardReader } from '../data/augment';
import { openPrepared } from '../data/format';
import { DataLoader } from '../data/loader';
import { chwToHwc, decodeFile, imageCrops, loadPredictor } from './predict';
import { Tensor } from '../core/tensor';

export interface FeatureIndex {
  layer: string;
  /** the prepared folder and split the vectors come from */
  data: string;
  split: 'train' | 'val';
  classes: string[];
  /** (N, D) */
  features: Float32Array;
  dim: number;
  labels: Int32Array;
}

/** Feature vectors of every image of a prepared split (centre crops), written to `out`. */
export async function extractFeatures(checkpoint: string, data: string, layer: string, out: string,
  o: { device?: DeviceLike; batchSize?: number; split?: 'train' | 'val'; log?: (line: string) => void } = {}): Promise<FeatureIndex> {
  const { net, input } = loadPredictor(checkpoint, o.device);
  const split = o.split ?? 'train';
  const { crop, inputScale } = net.config.options;
  const loader = new DataLoader(data, { split, mode: 'center', crop, scale: inputScale, batchSize: o.batchSize ?? 128, workers: 0 });
  if (loader.data.index.size !== input.size || loader.data.classes.join('\n') !== input.classes.join('\n'))
    throw new Error(`${data} is not the data ${checkpoint} was trained on (other image size or classes)`);
  const parts: Float32Array[] = [];
  let dim = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const x = Tensor.fromArray(batch.images, batch.shape, net.inputDevice);
      const h = net.forwardTo(x, layer);
      dim = h.size / batch.shape[0];
      parts.push(h.toFloat32Array());
      x.dispose();
      h.dispose();
    }
  } finally {
    net.dispose();
    await loader.close();
  }
  const n = loader.count;
  const features = new Float32Array(n * dim);
  parts.reduce((at, p) => (features.set(p, at), at + p.length), 0);
  const labels = loader.labels;
  const tensors = new Map([
    ['features', { shape: [n, dim], data: features }],
    ['labels', { shape: [n], data: Float32Array.from(labels) }],
  ]);
  const meta = { format: 'alexnet-native-features-1', layer, data: path.resolve(data), split, classes: JSON.stringify(input.classes) };
  writeFileAtomic(out, encodeSafetensors(tensors, meta));
  o.log?.(`${n} feature vectors of ${dim} values at ${layer} -> ${out}`);
  return { layer, data: path.resolve(data), split, classes: input.classes, features, dim, labels };
}

export function readFeatures(file: string): FeatureIndex {
  const st = readSafetensorsFile(file, 'feature index');
  if (st.metadata.format !== 'alexnet-native-features-1') throw new Error(`${file}: not a feature index written by \`features\``);
  const f = st.tensors.get('features')!, l = st.tensors.get('labels')!;
  return {
    layer: st.metadata.layer, data: st.metadata.data, split: st.metadata.split as 'train' | 'val', classes: JSON.parse(st.metadata.classes),
    features: f.data, dim: f.shape[1], labels: Int32Array.from(l.data),
  };
}

export interface Neighbors {
  file: string;
  neighbors: { index: number; class: string; distance: number }[];
}

/** The k nearest indexed images to each query image, by Euclidean distance of their features. */
export async function nearest(checkpoint: string, index: FeatureIndex, files: string[], k: number, device: DeviceLike = 'cpu'): Promise<Neighbors[]> {
  const { net, input } = loadPredictor(checkpoint, device);
  const { crop, inputScale } = net.config.options;
  const out: Neighbors[] = [];
  try {
    for (const file of files) {
      const x = Tensor.fromArray(await imageCrops(file, input, crop, inputScale, false), [1, 3, crop, crop], net.inputDevice);
      const h = net.forwardTo(x, index.layer);
      const q = h.toFloat32Array();
      x.dispose();
      h.dispose();
      if (q.length !== index.dim) throw new Error(`the index has ${index.dim}-value vectors at ${index.layer} but this checkpoint gives ${q.length}: index and checkpoint do not match`);
      const n = index.labels.length;
      const dist = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < index.dim; j++) s += (index.features[i * index.dim + j] - q[j]) ** 2;
        dist[i] = Math.sqrt(s);
      }
      const order = Array.from(dist.keys()).sort((a, b) => dist[a] - dist[b]).slice(0, k);
      out.push({ file, neighbors: order.map((i) => ({ index: i, class: index.classes[index.labels[i]], distance: dist[i] })) });
    }
  } finally {
    net.dispose();
  }
  return out;
}

/** One row per query: the query's centre crop, then its neighbors' from the prepared data. */
export async function contactSheet(results: Neighbors[], index: FeatureIndex, out: string): Promise<void> {
  const data = openPrepared(index.data);
  const split = data.index.splits[index.split];
  if (!split) throw new Error(`${index.data} has no ${index.split} split`);
  const reader = new ShardReader(data.dir, data.index, split);
  const size = data.index.size, gap = 4;
  const cols = 1 + Math.max(...results.map((r) => r.neighbors.length));
  const tiles: { input: Buffer; left: number; top: number }[] = [];
  const tile = async (img: Uint8Array, row: number, col: number) => {
    const png = await sharp(chwToHwc(img, size), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
    tiles.push({ input: png, left: gap + col * (size + gap) + (col > 0 ? gap : 0), top: gap + row * (size + gap) });
  };
  try {
    for (let r = 0; r < results.length; r++) {
      await tile(await decodeFile(results[r].file, size), r, 0);
      for (let c = 0; c < results[r].neighbors.length; c++) await tile(Uint8Array.from(reader.read(results[r].neighbors[c].index)), r, c + 1);
    }
  } finally {
    reader.close();
  }
  const width = gap * 2 + cols * (size + gap), height = gap + results.length * (size + gap);
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).composite(tiles).png().toFile(out);
}
