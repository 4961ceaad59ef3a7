// The model and training commands: summary, train, eval. Each flag has a default and help.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from './cli';
import { DataLoader } from './data/loader';
import { prepare } from './data/prepare';
import { ensureSyntheticPrepared } from './data';
import { readIndex } from './data/format';
import { Device } from './device';
import { FlagError, flagHelp, FlagSpec, FlagValues, parseFlags } from './flags';
import { backendInfo } from './info';
import { alexnet, formatSummary, ModelOptions, summarize } from './nn/model';
import { parseDeviceList } from './nn/columns';
import { contactSheet, extractFeatures, nearest, readFeatures } from './features';
import { filterImage, loadPredictor, predict, readSynsets } from './predict';
import { writeReport } from './report';
import { exportOnnx } from './onnx';
import { writeFileAtomic } from './checkpoint';
import { evaluate, fit, loadCheckpoint, networkFromCheckpoint } from './train';
import { applyPrecision, precisions } from './precision';

/** The built-in default: small enough to train in minutes on two CPU cores. */
export const SMALL = {
  model: { width: 0.25, crop: 67, init: 'he', inputScale: 1 / 64 } as Partial<ModelOptions>,
  /** stored image side: the crop is 67/76 of it, as 227 is of 256 */
  size: 76,
  trainPerClass: 600,
  valPerClass: 50,
  epochs: 30,
  batchSize: 32,
  lr: 0.01,
  /** lr / 10 after epoch 20: a fixed step, so the run's length is known in advance */
  schedule: 'step' as const,
  stepEvery: 20,
};

const modelFlags: Record<string, FlagSpec> = {
  width: { type: 'number', min: 0.01, max: 16, help: "kernel count multiplier (1 = the paper's)" },
  crop: { type: 'int', min: 1, help: 'input crop side (the paper: 227)' },
  activation: { type: 'choice', choices: ['relu', 'tanh'], default: 'relu', help: 'nonlinearity' },
  lrn: { type: 'bool', default: true, help: 'local response normalisation (--no-lrn: off)' },
  'overlapping-pool': { type: 'bool', default: true, help: '3x3 stride 2 pooling (--no-overlapping-pool: 2x2 stride 2)' },
  dropout: { type: 'bool', default: true, help: 'dropout 0.5 on fc6 and fc7 (--no-dropout: off)' },
  columns: { type: 'int', min: 1, max: 2, default: 2, help: 'groups of conv2/4/5 and the LRNs: the paper\'s two columns' },
  init: { type: 'choice', choices: ['paper', 'he'], help: "weights N(0, 0.01) (paper) or N(0, sqrt(2/fan-in)) (he) (default paper; he on the built-in set)" },
  'input-scale': { type: 'number', min: 1e-6, help: 'multiplies the input pixels, 0..255 minus the mean (default 1; 1/64 on the built-in set)' },
};

function modelOptions(f: FlagValues): Partial<ModelOptions> {
  const o: Partial<ModelOptions> = {
    activation: f.activation as 'relu' | 'tanh',
    lrn: f.lrn as boolean,
    overlappingPool: f['overlapping-pool'] as boolean,
    dropout: f.dropout as boolean,
    columns: f.columns as 1 | 2,
  };
  if (f.width !== undefined) o.width = f.width as number;
  if (f.crop !== undefined) o.crop = f.crop as number;
  if (f.init !== undefined) o.init = f.init as 'paper' | 'he';
  if (f['input-scale'] !== undefined) o.inputScale = f['input-scale'] as number;
  return o;
}

const deviceFlag: FlagSpec = { type: 'string', value: 'cpu|cuda[:N]|cudnn[:N]', help: 'where to run (default: the GPU when usable, else the CPU)' };

/** The --device flag's device, or the default: the GPU when usable, else the CPU. */
function resolveDevice(flags: FlagValues): string {
  return flags.device === undefined ? defaultDevice() : checkDevice(flags.device as string);
}

/** train's --device: one device, or two (cpu,cpu; cuda:0,cuda:1) for the paper's two columns, one per device. */
function resolveTrainDevices(flags: FlagValues): string {
  if (flags.device === undefined) return defaultDevice();
  let list: string[];
  try {
    list = parseDeviceList(flags.device as string);
  } catch (err) {
    throw new FlagError(`--device: ${(err as Error).message}`);
  }
  if (list.length === 2 && flags.columns !== 2)
    throw new FlagError(`--device ${flags.device} puts the paper's two columns on two devices, one each, which needs --columns 2 (not --columns ${flags.columns})`);
  return list.map(checkDevice).join(',');
}

function defaultDevice(): string {
  const info = backendInfo();
  // never the test build's host emulator: it is a checking tool, far slower than the CPU backend
  return info.cuda.usable && info.cuda.ops && !info.cuda.emulated ? 'cuda:0' : 'cpu';
}

function checkDevice(spec: string): string {
  let d: Device;
  try {
    d = Device.parse(spec);
  } catch {
    throw new FlagError(`--device must be cpu, cuda, cuda:N, cudnn or cudnn:N, not ${JSON.stringify(spec)}`);
  }
  if (d.kind === 'cpu') return spec;
  const info = backendInfo();
  if (!info.cuda.built) throw new Error(`--device ${spec}: this build has no CUDA backend (${info.cuda.reason})`);
  if (!info.cuda.usable) throw new Error(`--device ${spec}: CUDA is not usable here: ${info.cuda.reason}`);
  if (!info.cuda.ops) throw new Error(`--device ${spec}: this build has no CUDA ops yet; use --device cpu`);
  if (d.kind === 'cudnn' && !info.cudnn.built) throw new Error(`--device ${spec}: ${info.cudnn.reason}`);
  if (d.index >= info.cuda.devices.length)
    throw new Error(`--device ${spec}: there is no CUDA device ${d.index} (this machine has ${info.cuda.devices.length})`);
  return String(d);
}

export function cacheDir(): string {
  return process.env.ALEXNET_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'alexnet-native');
}

/** The synthetic set, generated and prepared once into the cache folder. */
export async function defaultData(log: (line: string) => void): Promise<string> {
  const dir = path.join(cacheDir(), `synthetic-s0-${SMALL.trainPerClass}x${SMALL.valPerClass}-${SMALL.size}`);
  const ready = path.join(dir, 'prepared');
  if (fs.existsSync(path.join(ready, 'index.json'))) return ready;
  log(`generating the synthetic set into ${dir} (once)`);
  const { prepared } = await ensureSyntheticPrepared({
    dir, seed: 0, trainPerClass: SMALL.trainPerClass, valPerClass: SMALL.valPerClass, size: SMALL.size, log,
  });
  return prepared;
}

/** A prepared folder as given, or a raw one prepared next to itself (DIR.prepared-SIZE). */
async function preparedData(dir: string, size: number, log: (line: string) => void): Promise<string> {
  if (!fs.existsSync(dir)) throw new Error(`--data: no such folder: ${dir}`);
  if (fs.existsSync(path.join(dir, 'index.json'))) return dir;
  const out = `${dir.replace(/\/+$/, '')}.prepared-${size}`;
  if (fs.existsSync(path.join(out, 'index.json'))) return out;
  log(`preparing ${dir} into ${out} (once)`);
  await prepare({ data: dir, out, size, log });
  return out;
}

const summaryFlags: Record<string, FlagSpec> = {
  model: { type: 'choice', choices: ['alexnet'], default: 'alexnet', help: 'the model' },
  classes: { type: 'int', min: 2, default: 1000, help: 'output classes' },
  json: { type: 'bool', help: 'print JSON' },
  ...modelFlags,
};

export const summaryCommand: Command = {
  summary: 'each layer\'s output shape and parameter count',
  usage: 'summary [--model alexnet] [--json] [model flags]',
  help: flagHelp(summaryFlags),
  run(argv) {
    const { flags } = parseFlags('summary', argv, summaryFlags);
    const config = alexnet({ ...modelOptions(flags), classes: flags.classes as number });
    if (flags.json) {
      const { rows, total } = summarize(config);
      console.log(JSON.stringify({ model: config.name, options: config.options, input: config.input, layers: rows, parameters: total }, null, 2));
    } else console.log(formatSummary(config));
    return 0;
  },
};

const trainFlags: Record<string, FlagSpec> = {
  data: { type: 'string', value: 'DIR', help: 'a prepared folder, or raw data to prepare (default: the built-in synthetic set)' },
  out: { type: 'string', value: 'DIR', help: 'checkpoints and metrics.jsonl (default runs/<date>-<time>)' },
  overwrite: { type: 'bool', help: 'start afresh even if --out already holds a run' },
  ...modelFlags,
  'batch-size': { type: 'int', min: 1, help: `images per step (default 128; ${SMALL.batchSize} on the built-in set)` },
  epochs: { type: 'int', min: 1, help: `epochs (default 90; ${SMALL.epochs} on the built-in set)` },
  lr: { type: 'number', min: 0, help: 'learning rate (default 0.01)' },
  momentum: { type: 'number', min: 0, max: 0.999, default: 0.9, help: 'momentum' },
  'weight-decay': { type: 'number', min: 0, default: 0.0005, help: 'weight decay (times the lr, as in the paper)' },
  schedule: { type: 'choice', choices: ['plateau', 'step', 'fixed'], help: "lr schedule: the paper's (/10 on a validation plateau, at most 3 times), a fixed step, or none (default plateau; step on the built-in set)" },
  patience: { type: 'int', min: 1, default: 2, help: 'plateau: epochs without improvement before /10' },
  'step-every': { type: 'int', min: 1, help: `step: epochs between /10 (default 30; ${SMALL.stepEvery} on the built-in set)` },
  device: {
    ...deviceFlag, value: 'DEVICE[,DEVICE]',
    help: "where to train: cpu, cuda[:N] or cudnn[:N]; two devices (cpu,cpu or cuda:0,cuda:1) put the paper's two columns on them, one each (default: the GPU when usable, else the CPU)",
  },
  seed: { type: 'int', min: 0, default: 1, help: 'seed of initialisation, data order, augmentation and dropout' },
  resume: { type: 'bool', help: 'continue the run in --out from its last checkpoint' },
  'ten-crop': { type: 'bool', help: "validate with the paper's 10 crops instead of the centre crop" },
  workers: { type: 'int', min: 0, help: 'data worker threads (default: CPUs - 1)' },
  'max-batches': { type: 'int', min: 0, default: 0, help: 'batches per epoch at most (0: all), for quick runs' },
  size: { type: 'int', min: 1, default: 256, help: 'stored image side when --data must be prepared' },
  progress: { type: 'bool', help: 'draw the progress bar even when stderr is not a terminal' },
  precision: { type: 'choice', choices: [...precisions], default: 'fp32', help: 'GEMM precision of the cuda device: fp32, tf32 (tensor cores) or 3xtf32 (tensor cores, FP32 accuracy); sets ALEXNET_GEMM' },
};

export const trainCommand: Command = {
  summary: 'train AlexNet (no flags: a small one on the built-in synthetic set, in minutes on a CPU)',
  usage: 'train [--data DIR] [--out DIR] [--epochs N] [--device cpu|cuda] [--resume] [...]',
  help: flagHelp(trainFlags),
  async run(argv) {
    const { flags } = parseFlags('train', argv, trainFlags);
    applyPrecision(flags.precision as string);  // before the first op: the addon reads it once
    const log = (line: string) => console.log(line);
    const builtIn = flags.data === undefined;
    const model = { ...(builtIn ? SMALL.model : {}), ...modelOptions(flags) };
    const data = builtIn ? await defaultData(log) : await preparedData(flags.data as string, flags.size as number, log);
    const size = readIndex(data).size;
    model.crop ??= Math.min(227, size);
    if (model.crop > size) throw new Error(`--crop ${model.crop} is larger than the prepared images (${size}x${size})`);
    const device = resolveTrainDevices(flags);
    const out = (flags.out as string) ?? path.join('runs', new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-'));
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130);  // a second Ctrl-C: stop now
      log('\nstopping after this batch (Ctrl-C again to quit at once)');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    try {
      log(`training ${formatModel(model)} on ${data} (${device}), output in ${out}`);
      const r = await fit({
        data, out, model, device, log,
        batchSize: (flags['batch-size'] as number) ?? (builtIn ? SMALL.batchSize : 128),
        epochs: (flags.epochs as number) ?? (builtIn ? SMALL.epochs : 90),
        lr: (flags.lr as number) ?? 0.01,
        momentum: flags.momentum as number,
        weightDecay: flags['weight-decay'] as number,
        schedule: (flags.schedule as 'plateau' | 'step' | 'fixed') ?? (builtIn ? SMALL.schedule : 'plateau'),
        patience: flags.patience as number,
        stepEvery: (flags['step-every'] as number) ?? (builtIn ? SMALL.stepEvery : 30),
        seed: flags.seed as number,
        resume: !!flags.resume,
        overwrite: !!flags.overwrite,
        tenCrop: !!flags['ten-crop'],
        workers: (flags.workers as number) ?? Math.max(1, os.cpus().length - 1),
        maxBatches: flags['max-batches'] as number,
        progress: flags.progress ? true : Boolean(process.stderr.isTTY),
        signal: controller.signal,
      });
      const last = r.metrics[r.metrics.length - 1];
      if (last) log(`validation top-1 accuracy ${(100 * (1 - last.val_top1_error)).toFixed(1)}%, top-5 accuracy ${(100 * (1 - last.val_top5_error)).toFixed(1)}% after epoch ${last.epoch}`);
      log(`checkpoint: ${r.lastCheckpoint} (best: ${r.bestCheckpoint})\nmetrics: ${r.metricsFile}`);
      return r.interrupted ? 130 : 0;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};

function formatModel(o: Partial<ModelOptions>): string {
  return `AlexNet (width ${o.width ?? 1}, crop ${o.crop}, ${o.activation}${o.lrn === false ? ', no LRN' : ''}${o.dropout === false ? ', no dropout' : ''}${o.overlappingPool === false ? ', 2x2 pooling' : ''})`;
}

const evalFlags: Record<string, FlagSpec> = {
  checkpoint: { type: 'string', value: 'FILE', help: 'a checkpoint written by train (required)' },
  data: { type: 'string', value: 'DIR', help: 'a prepared folder with a val split (required)' },
  'ten-crop': { type: 'bool', help: "the paper's 10 crops, softmax averaged" },
  device: deviceFlag,
  'batch-size': { type: 'int', min: 1, default: 128, help: 'images per batch' },
  json: { type: 'bool', help: 'print JSON' },
};

export const evalCommand: Command = {
  summary: 'top-1 and top-5 error of a checkpoint on a validation set',
  usage: 'eval --checkpoint FILE --data DIR [--ten-crop] [--json]',
  help: flagHelp(evalFlags),
  async run(argv) {
    const { flags } = parseFlags('eval', argv, evalFlags);
    if (!flags.checkpoint) throw new FlagError('--checkpoint FILE is required');
    if (!flags.data) throw new FlagError('--data DIR is required');
    const device = resolveDevice(flags);
    const net = networkFromCheckpoint(flags.checkpoint as string, device);
    const crop = net.config.options.crop;
    const loader = new DataLoader(flags.data as string, {
      split: 'val', mode: flags['ten-crop'] ? 'tencrop' : 'center', crop, scale: net.config.options.inputScale, batchSize: flags['batch-size'] as number,
    });
    try {
      const r = await evaluate(net, loader, device);
      if (flags.json) console.log(JSON.stringify({ top1_error: r.top1, top5_error: r.top5, images: r.count, ten_crop: !!flags['ten-crop'] }));
      else console.log(`${r.count} images, ${flags['ten-crop'] ? '10 crops' : 'centre crop'}: top-1 error ${(100 * r.top1).toFixed(2)}%, top-5 error ${(100 * r.top5).toFixed(2)}%`);
      return 0;
    } finally {
      net.dispose();
      await loader.close();
    }
  },
};

const filtersFlags: Record<string, FlagSpec> = {
  checkpoint: { type: 'string', value: 'FILE', help: 'a checkpoint written by train (required)' },
  out: { type: 'string', value: 'FILE', default: 'conv1.png', help: 'the PNG to write' },
  zoom: { type: 'int', min: 1, max: 32, default: 4, help: 'pixels per kernel weight' },
};

export const filtersCommand: Command = {
  summary: "the first layer's kernels as an image grid (the paper's Figure 3)",
  usage: 'filters --checkpoint FILE [--out conv1.png] [--zoom 4]',
  help: flagHelp(filtersFlags),
  async run(argv) {
    const { flags } = parseFlags('filters', argv, filtersFlags);
    if (!flags.checkpoint) throw new FlagError('--checkpoint FILE is required');
    const ck = loadCheckpoint(flags.checkpoint as string);
    const first = ck.config.layers.find((l) => l.type === 'conv');
    const w = first && ck.weights.get(`${first.name}.weight`);
    if (!first || !w) throw new Error(`${flags.checkpoint}: no convolution weights to draw`);
    await filterImage(w.data, w.shape, ck.config.options.columns, flags.out as string, flags.zoom as number);
    console.log(`${w.shape[0]} ${w.shape[2]}x${w.shape[3]} kernels of ${first.name} -> ${flags.out}`);
    return 0;
  },
};

const predictFlags: Record<string, FlagSpec> = {
  checkpoint: { type: 'string', value: 'FILE', help: 'a checkpoint written by train (required)' },
  'ten-crop': { type: 'bool', help: "average the softmax over the paper's 10 crops" },
  top: { type: 'int', min: 1, default: 5, help: 'classes to show per image' },
  synsets: { type: 'string', value: 'FILE', help: "'<class> <words>' lines (ILSVRC synset_words.txt) for readable names" },
  device: deviceFlag,
  json: { type: 'bool', help: 'print JSON' },
};

export const predictCommand: Command = {
  summary: 'the most probable classes for each image (the paper\'s Figure 4, left)',
  usage: 'predict --checkpoint FILE [--ten-crop] [--json] IMAGE...',
  help: flagHelp(predictFlags),
  async run(argv) {
    const { flags, positional: files } = parseFlags('predict', argv, predictFlags, true);
    if (!flags.checkpoint) throw new FlagError('--checkpoint FILE is required');
    if (!files.length) throw new FlagError('give at least one IMAGE');
    const device = resolveDevice(flags);
    const synsets = flags.synsets ? readSynsets(flags.synsets as string) : undefined;
    const { net, input } = loadPredictor(flags.checkpoint as string, device);
    try {
      const results = await predict(net, input, files, { tenCrop: !!flags['ten-crop'], k: flags.top as number, device, synsets });
      if (flags.json) console.log(JSON.stringify(results, null, 2));
      else
        for (const r of results) {
          console.log(r.file);
          for (const t of r.top) console.log(`  ${(100 * t.probability).toFixed(1).padStart(5)}%  ${t.class}`);
        }
      return 0;
    } finally {
      net.dispose();
    }
  },
};

const featuresFlags: Record<string, FlagSpec> = {
  checkpoint: { type: 'string', value: 'FILE', help: 'a checkpoint written by train (required)' },
  data: { type: 'string', value: 'DIR', help: 'the prepared folder it was trained on (required)' },
  layer: { type: 'string', value: 'NAME', default: 'fc7', help: 'the layer whose outputs are the features (see summary)' },
  split: { type: 'choice', choices: ['train', 'val'], default: 'train', help: 'which images to index' },
  out: { type: 'string', value: 'FILE', default: 'features.safetensors', help: 'the feature index to write' },
  device: deviceFlag,
};

export const featuresCommand: Command = {
  summary: "every image's feature vector at a layer, for neighbors (the paper's Figure 4, right)",
  usage: 'features --checkpoint FILE --data DIR [--layer fc7] [--out features.safetensors]',
  help: flagHelp(featuresFlags),
  async run(argv) {
    const { flags } = parseFlags('features', argv, featuresFlags);
    if (!flags.checkpoint) throw new FlagError('--checkpoint FILE is required');
    if (!flags.data) throw new FlagError('--data DIR is required');
    const device = resolveDevice(flags);
    await extractFeatures(flags.checkpoint as string, flags.data as string, flags.layer as string, flags.out as string,
      { device, split: flags.split as 'train' | 'val', log: (l) => console.log(l) });
    return 0;
  },
};

const neighborsFlags: Record<string, FlagSpec> = {
  checkpoint: { type: 'string', value: 'FILE', help: 'the checkpoint the index was made with (required)' },
  index: { type: 'string', value: 'FILE', help: 'a feature index written by features (required)' },
  k: { type: 'int', min: 1, default: 6, help: 'neighbors per image' },
  sheet: { type: 'string', value: 'FILE', help: 'also draw a contact sheet PNG: each query, then its neighbors' },
  device: deviceFlag,
  json: { type: 'bool', help: 'print JSON' },
};

export const neighborsCommand: Command = {
  summary: 'the indexed images nearest to each image in feature space',
  usage: 'neighbors --checkpoint FILE --index FILE [--k 6] [--sheet out.png] [--json] IMAGE...',
  help: flagHelp(neighborsFlags),
  async run(argv) {
    const { flags, positional: files } = parseFlags('neighbors', argv, neighborsFlags, true);
    if (!flags.checkpoint) throw new FlagError('--checkpoint FILE is required');
    if (!flags.index) throw new FlagError('--index FILE is required');
    if (!files.length) throw new FlagError('give at least one IMAGE');
    const device = resolveDevice(flags);
    const index = readFeatures(flags.index as string);
    const results = await nearest(flags.checkpoint as string, index, files, flags.k as number, device);
    if (flags.json) console.log(JSON.stringify(results, null, 2));
    else
      for (const r of results) {
        console.log(r.file);
        for (const n of r.neighbors) console.log(`  ${n.distance.toFixed(3).padStart(10)}  #${n.index} ${n.class}`);
      }
    if (flags.sheet) {
      await contactSheet(results, index, flags.sheet as string);
      if (!flags.json) console.log(`contact sheet: ${flags.sheet}`);
    }
    return 0;
  },
};

const reportFlags: Record<string, FlagSpec> = {
  run: { type: 'string', value: 'DIR', help: 'the --out folder of a training run (required)' },
  out: { type: 'string', value: 'DIR', help: 'where index.html and its PNGs go (default RUN/report)' },
  samples: { type: 'int', min: 0, max: 64, default: 8, help: 'validation images with their predictions' },
  device: deviceFlag,
};

export const reportCommand: Command = {
  summary: 'one HTML page of a run: curves, conv1 filters, sample predictions',
  usage: 'report --run DIR [--out DIR] [--samples 8]',
  help: flagHelp(reportFlags),
  async run(argv) {
    const { flags } = parseFlags('report', argv, reportFlags);
    if (!flags.run) throw new FlagError('--run DIR is required');
    const device = resolveDevice(flags);
    const file = await writeReport(flags.run as string, (flags.out as string) ?? path.join(flags.run as string, 'report'), { samples: flags.samples as number, device });
    console.log(`report: ${file}`);
    return 0;
  },
};

const exportFlags: Record<string, FlagSpec> = {
  checkpoint: { type: 'string', value: 'FILE', help: 'a checkpoint written by train (required)' },
  onnx: { type: 'string', value: 'FILE', help: 'the ONNX model to write (required)' },
};

export const exportCommand: Command = {
  summary: 'the trained network as an ONNX model (input: mean-subtracted, scaled crops; output: probabilities)',
  usage: 'export --checkpoint FILE --onnx model.onnx',
  help: flagHelp(exportFlags),
  async run(argv) {
    const { flags } = parseFlags('export', argv, exportFlags);
    if (!flags.checkpoint) throw new FlagError('--checkpoint FILE is required');
    if (!flags.onnx) throw new FlagError('--onnx FILE is required');
    const ck = loadCheckpoint(flags.checkpoint as string);
    const bytes = exportOnnx(ck.config, ck.weights);
    writeFileAtomic(flags.onnx as string, bytes);
    const o = ck.config.options;
    console.log(`${flags.onnx}: ${(bytes.length / 2 ** 20).toFixed(1)} MiB, input "input" (N, 3, ${o.crop}, ${o.crop}) = (pixels - mean) * ${o.inputScale}, output "probabilities" (N, ${o.classes})`);
    return 0;
  },
};
