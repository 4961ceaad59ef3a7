// Weights made elsewhere: torchvision's AlexNet state_dict names mapped onto ours, its
// per-channel input normalisation folded into conv1, and loading a .pth or safetensors file
// into a model, strictly (every tensor present and shaped as the model expects) or only the
// layers whose shapes match (fine-tuning: train/finetune.ts).
import { NamedArray } from '../io/safetensors';
import { readWeightsFile } from '../io/pytorch';
import { Model } from './model';
import { TORCHVISION_INPUT_SCALE } from './spec';

/** torchvision.models.alexnet's module paths, by our layer names. */
export const TORCHVISION_LAYERS: Record<string, string> = {
  conv1: 'features.0', conv2: 'features.3', conv3: 'features.6', conv4: 'features.8', conv5: 'features.10',
  fc6: 'classifier.1', fc7: 'classifier.4', fc8: 'classifier.6',
};

/** torchvision's normalisation: (pixels / 255 - mean) / std, per RGB channel. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

export interface Weights {
  /** by our names (conv1.weight ...) */
  tensors: Map<string, NamedArray>;
  /** the names the file used, by ours (for errors) */
  fileNames: Map<string, string>;
  /** the file used torchvision's names */
  torchvision: boolean;
  kind: 'pytorch' | 'safetensors';
  metadata: Record<string, string>;
}

/** A weight file's tensors under our names (torchvision's are renamed; ours pass through). */
export function readWeights(file: string): Weights {
  const { kind, tensors, metadata } = readWeightsFile(file);
  const byPath = new Map(Object.entries(TORCHVISION_LAYERS).map(([ours, theirs]) => [theirs, ours]));
  const out = new Map<string, NamedArray>(), fileNames = new Map<string, string>();
  let torchvision = false;
  for (const [name, t] of tensors) {
    const dot = name.lastIndexOf('.');
    const ours = byPath.get(name.slice(0, dot));
    const mapped = ours ? `${ours}${name.slice(dot)}` : name;
    torchvision ||= !!ours;
    out.set(mapped, t);
    fileNames.set(mapped, name);
  }
  return { tensors: out, fileNames, torchvision, kind, metadata };
}

/**
 * conv1's weights for our input, (pixels - mean) * inputScale, from torchvision's, which expect
 * (pixels / 255 - mean_c) / std_c: with the mean subtracted either way, torchvision's input is
 * ours / (255 std_c inputScale), so channel c of every kernel is divided by that. Zero padding
 * stays zero in both, so the result is exact. Returns a new array.
 */
export function foldTorchvisionInput(conv1: NamedArray, inputScale = TORCHVISION_INPUT_SCALE): NamedArray {
  const [k, c, kh, kw] = conv1.shape;
  if (c !== 3) throw new Error(`conv1.weight: torchvision's input normalisation needs 3 input channels, not ${c}`);
  const data = new Float32Array(conv1.data);
  const plane = kh * kw;
  for (let o = 0; o < k; o++)
    for (let ch = 0; ch < 3; ch++) {
      const f = 1 / (255 * IMAGENET_STD[ch] * inputScale);
      for (let i = 0; i < plane; i++) data[(o * 3 + ch) * plane + i] *= f;
    }
  return { shape: [...conv1.shape], data };
}

/**
 * Loads every parameter of `model` from `file` (.pth or safetensors, torchvision's names or
 * ours), refusing a missing or mis-shaped tensor by its name in the file. foldInput: a
 * torchvision file's conv1 is adapted to our input scaling (foldTorchvisionInput), so the
 * model takes (pixels - ImageNet mean) * inputScale; without it, it takes torchvision's input.
 */
export function loadPretrained(model: Model, file: string, o: { foldInput: boolean }): Weights {
  const w = readWeights(file);
  const expected = model.toSingleDevice((p) => p.value);
  for (const [name, t] of expected) {
    const a = w.tensors.get(name);
    const theirs = w.torchvision && TORCHVISION_LAYERS[name.split('.')[0]] ? `${TORCHVISION_LAYERS[name.split('.')[0]]}.${name.split('.')[1]}` : name;
    if (!a) throw new Error(`${file}: no tensor ${theirs}${theirs !== name ? ` (our ${name})` : ''}, which this model needs`);
    if (a.shape.join(',') !== t.shape.join(','))
      throw new Error(`${file}: ${w.fileNames.get(name) ?? name} has shape [${a.shape}] but this model's ${name} is [${t.shape}]`);
  }
  if (o.foldInput && w.torchvision) w.tensors.set('conv1.weight', foldTorchvisionInput(w.tensors.get('conv1.weight')!, model.config.options.inputScale));
  model.fromSingleDevice(w.tensors, (p) => p.value, file);
  return w;
}
