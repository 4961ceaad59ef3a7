// Fine-tuning: a run that starts from another network's weights (our checkpoint, a .pth or
// safetensors, torchvision's names or ours): every layer whose tensors all match in shape is
// loaded, the rest (typically the classifier, when the class count differs) keep their fresh
// initialisation, and the log says which is which. Frozen layers and per-layer learning-rate
// multipliers become the optimizer's layerLr.
import { NamedArray } from '../io/safetensors';
import { Model } from '../nn/model';
import { foldTorchvisionInput, readWeights, TORCHVISION_LAYERS } from '../nn/pretrained';
import { ModelConfig } from '../nn/spec';

export interface FineTuneOptions {
  /** weights to start from (ignored when resuming: the run's own checkpoint wins) */
  initFrom?: string;
  /** layers kept fixed */
  freeze?: string[];
  /** learning-rate multipliers by layer name */
  lrMult?: Record<string, number>;
}

export interface InitReport {
  loaded: string[];
  /** layer -> why it kept its initialisation */
  skipped: Map<string, string>;
}

/** The layers (conv1 ... fc8) of a single-device parameter map, with their tensors' names. */
function byLayer(names: Iterable<string>): Map<string, string[]> {
  const layers = new Map<string, string[]>();
  for (const n of names) {
    const layer = n.split('.')[0];
    layers.set(layer, [...(layers.get(layer) ?? []), n]);
  }
  return layers;
}

/**
 * Copies into `net` every layer of `file` whose tensors all have the model's shapes. A
 * torchvision file's conv1 is adapted to our input scaling (nn/pretrained.ts). Logs the result.
 */
export function initFrom(net: Model, file: string, log: (line: string) => void): InitReport {
  const w = readWeights(file);
  const current = net.toSingleDevice((p) => p.value);
  if (w.torchvision && w.tensors.get('conv1.weight')?.shape[1] === 3 && current.get('conv1.weight')?.shape[1] === 3)
    w.tensors.set('conv1.weight', foldTorchvisionInput(w.tensors.get('conv1.weight')!, net.config.options.inputScale));
  const merged = new Map<string, NamedArray>(current);
  const report: InitReport = { loaded: [], skipped: new Map() };
  for (const [layer, names] of byLayer(current.keys())) {
    const why = names.map((n) => {
      const a = w.tensors.get(n), want = current.get(n)!;
      const theirs = w.fileNames.get(n) ?? (w.torchvision && TORCHVISION_LAYERS[layer] ? `${TORCHVISION_LAYERS[layer]}${n.slice(layer.length)}` : n);
      if (!a) return `no ${theirs} in the file`;
      if (a.shape.join(',') !== want.shape.join(',')) return `${theirs} is [${a.shape}], the model's ${n} [${want.shape}]`;
      return '';
    }).find((r) => r);
    if (why) report.skipped.set(layer, why);
    else {
      for (const n of names) merged.set(n, w.tensors.get(n)!);
      report.loaded.push(layer);
    }
  }
  if (!report.loaded.length) throw new Error(`--init-from ${file}: no layer of this model matches the file (${[...report.skipped].map(([l, why]) => `${l}: ${why}`).join('; ')})`);
  net.fromSingleDevice(merged, (p) => p.value, file);
  log(`initialised from ${file}${w.torchvision ? " (torchvision's names)" : ''}: loaded ${report.loaded.join(', ')}` +
    (report.skipped.size ? `; kept a fresh initialisation: ${[...report.skipped].map(([l, why]) => `${l} (${why})`).join(', ')}` : ''));
  return report;
}

/** The optimizer's per-layer multipliers from --freeze and --lr-mult, checked against the model's layers. */
export function layerLr(config: ModelConfig, o: FineTuneOptions): Record<string, number> | undefined {
  const weighted = config.layers.filter((l) => l.type === 'conv' || l.type === 'fc').map((l) => l.name);
  const check = (flag: string, layer: string) => {
    if (!weighted.includes(layer)) throw new Error(`${flag}: no layer with weights named ${JSON.stringify(layer)}; this model's are ${weighted.join(', ')}`);
  };
  const out: Record<string, number> = {};
  for (const [layer, m] of Object.entries(o.lrMult ?? {})) {
    check('--lr-mult', layer);
    out[layer] = m;
  }
  for (const layer of o.freeze ?? []) {
    check('--freeze', layer);
    out[layer] = 0;
  }
  return Object.keys(out).length ? out : undefined;
}

/** --lr-mult's text, 'fc8=10,fc7=2', as multipliers by layer. */
export function parseLrMult(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',').filter((p) => p.trim())) {
    const m = /^\s*([A-Za-z_][\w-]*)\s*=\s*([0-9.eE+-]+)\s*$/.exec(part);
    const v = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(v) || v < 0) throw new Error(`--lr-mult: expected LAYER=MULTIPLIER[,...] with multipliers >= 0 but received ${JSON.stringify(part)}`);
    out[m[1]] = v;
  }
  return out;
}
