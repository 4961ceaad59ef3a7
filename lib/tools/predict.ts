// What a trained network says about images (the paper's Figure 4, left) and what its first
// layer learned (Figure 3).
import { DeviceLike } from '../core/device';
import * as fs from 'node:fs';
import sharp from 'sharp';
import { centerOffset, cropInto, fiveCropOffsets } from '../data/augment';
import { decodeImage } from '../data/prepare';
import { Network } from '../nn/network';
import { SoftmaxCrossEntropy } from '../nn/layers';
import { Tensor } from '../core/tensor';
import { buildFromCheckpoint, Checkpoint, InputSpec, loadCheckpoint } from '../train/checkpoint';
import { averageCrops } from '../train/metrics';

export interface Prediction {
  file: string;
  top: { class: string; index: number; probability: number }[];
}

/** A checkpoint's network with what prediction needs of its training data. */
export function loadPredictor(file: string, device: DeviceLike = 'cpu', ck: Checkpoint = loadCheckpoint(file)): { net: Network; input: InputSpec } {
  if (!ck.input) throw new Error(`${file}: this checkpoint has no class names and mean image (it predates them); train again to predict with it`);
  return { net: buildFromCheckpoint(ck, file, device), input: ck.input };
}

/** CHW uint8 (3, side, side) -> HWC RGB bytes, as sharp's raw input takes them. */
export function chwToHwc(chw: ArrayLike<number>, side: number): Buffer {
  const hwc = Buffer.alloc(side * side * 3);
  for (let c = 0; c < 3; c++) for (let p = 0; p < side * side; p++) hwc[p * 3 + c] = chw[c * side * side + p];
  return hwc;
}

/** An image file decoded like the training data (CHW uint8, size x size); errors name the file. */
export async function decodeFile(file: string, size: number): Promise<Uint8Array> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  try {
    return await decodeImage({ file }, size);
  } catch (err) {
    throw new Error(`${file}: not a readable image (${(err as Error).message})`);
  }
}

/** The centre crop, or the paper's 10 crops, of a decoded image, minus the mean, scaled: (crops, 3, crop, crop). */
export function cropsOf(img: Uint8Array, input: InputSpec, crop: number, scale: number, tenCrop: boolean): Float32Array {
  const size = input.size;
  const per = 3 * crop * crop;
  const batch = new Float32Array((tenCrop ? 10 : 1) * per);
  if (!tenCrop) {
    const c = centerOffset(size, crop);
    cropInto(batch, 0, img, input.mean, size, crop, c, c, false, [0, 0, 0], scale);
  } else {
    let slot = 0;
    for (const flip of [false, true])
      for (const [x, y] of fiveCropOffsets(size, crop)) cropInto(batch, per * slot++, img, input.mean, size, crop, x, y, flip, [0, 0, 0], scale);
  }
  return batch;
}

/** cropsOf an image file decoded like the training data. */
export async function imageCrops(file: string, input: InputSpec, crop: number, scale: number, tenCrop: boolean): Promise<Float32Array> {
  return cropsOf(await decodeFile(file, input.size), input, crop, scale, tenCrop);
}

/** The `k` most probable classes of one decoded image (CHW uint8, input.size square). */
export function classify(net: Network, input: InputSpec, img: Uint8Array,
  o: { tenCrop?: boolean; k?: number; device?: DeviceLike; synsets?: Map<string, string> } = {}): Prediction['top'] {
  const { crop, inputScale } = net.config.options;
  const crops = o.tenCrop ? 10 : 1;
  const x = Tensor.fromArray(cropsOf(img, input, crop, inputScale, !!o.tenCrop), [crops, 3, crop, crop], net.inputDevice);
  const logits = net.forward(x, { training: false, seed: 0, step: 0 });
  const xent = new SoftmaxCrossEntropy();
  xent.forward(logits, new Int32Array(crops));
  const probs = averageCrops(xent.probabilities().toFloat32Array(), input.classes.length, crops);
  x.dispose();
  logits.dispose();
  xent.dispose();
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]).slice(0, o.k ?? 5);
  return order.map((i) => ({ class: o.synsets?.get(input.classes[i]) ?? input.names?.[i] ?? input.classes[i], index: i, probability: probs[i] }));
}

/**
 * The `k` most probable classes of each image: decoded like the training data (shorter side
 * to the stored size, centre crop), then the centre crop or the paper's 10 crops, softmax
 * averaged. An unreadable image throws an Error naming the file.
 */
export async function predict(net: Network, input: InputSpec, files: string[],
  o: { tenCrop?: boolean; k?: number; device?: DeviceLike; synsets?: Map<string, string> } = {}): Promise<Prediction[]> {
  const out: Prediction[] = [];
  for (const file of files) out.push({ file, top: classify(net, input, await decodeFile(file, input.size), o) });
  return out;
}

/** `<wnid> <words...>` lines (ILSVRC's synset_words.txt) as a map from class folder name to words. */
export function readSynsets(file: string): Map<string, string> {
  if (!fs.existsSync(file)) throw new Error(`--synsets: no such file: ${file}`);
  const map = new Map<string, string>();
  fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    const m = /^(\S+)\s+(.+)$/.exec(line.trim());
    if (m) map.set(m[1], m[2]);
    else if (line.trim()) throw new Error(`${file}:${i + 1}: expected '<class> <words>' but found ${JSON.stringify(line.slice(0, 60))}`);
  });
  return map;
}

/**
 * The first layer's kernels as one PNG (Figure 3): each kernel min-max normalised on its own,
 * enlarged `zoom` times, in a grid of `perRow`; a two-column model gets one block of rows per
 * column (its first and second half of the kernels), as the paper shows the two GPUs'.
 */
export async function filterImage(weight: Float32Array, shape: readonly number[], columns: number, out: string, zoom = 4, perRow = 12): Promise<void> {
  const [k, c, kh, kw] = shape;
  if (c !== 3) throw new Error(`filters: the first layer has ${c} input channels; only RGB (3) kernels can be drawn`);
  const gap = 1, blockGap = 6;
  const perBlock = Math.ceil(k / columns);
  const rowsPerBlock = Math.ceil(perBlock / perRow);
  const cell = kw * zoom + gap;
  const width = perRow * cell + gap;
  const height = columns * (rowsPerBlock * (kh * zoom + gap)) + gap + (columns - 1) * blockGap;
  const pixels = Buffer.alloc(width * height * 3, 255);
  for (let f = 0; f < k; f++) {
    const block = Math.floor(f / perBlock), inBlock = f % perBlock;
    const ox = gap + (inBlock % perRow) * cell;
    const oy = gap + block * (rowsPerBlock * (kh * zoom + gap) + blockGap) + Math.floor(inBlock / perRow) * (kh * zoom + gap);
    const kernel = weight.subarray(f * c * kh * kw, (f + 1) * c * kh * kw);
    let lo = Infinity, hi = -Infinity;
    for (const v of kernel) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    const range = hi > lo ? hi - lo : 1;
    for (let y = 0; y < kh * zoom; y++)
      for (let x = 0; x < kw * zoom; x++)
        for (let ch = 0; ch < 3; ch++) {
          const v = kernel[(ch * kh + Math.floor(y / zoom)) * kw + Math.floor(x / zoom)];
          pixels[((oy + y) * width + ox + x) * 3 + ch] = Math.round((255 * (v - lo)) / range);
        }
  }
  await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(out);
}
