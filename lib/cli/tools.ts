// The commands over a trained network: filters, predict, features, neighbors, report, export.
import { exportCheckpoint } from '../tools/export';
import { contactSheet, extractFeatures, nearest, readFeatures } from '../tools/features';
import { filterImage, loadPredictor, predict, readSynsets } from '../tools/predict';
import { writeReport } from '../tools/report';
import { loadCheckpoint } from '../train/checkpoint';
import * as path from 'node:path';
import { Command } from './command';
import { deviceFlag, resolveDevice } from './devices';
import { FlagError, flagHelp, FlagSpec, parseFlags } from './flags';
import { checkpointFlag } from './train';

const filtersFlags: Record<string, FlagSpec> = {
  checkpoint: checkpointFlag,
  out: { type: 'string', value: 'FILE', default: 'conv1.png', help: 'the PNG to write' },
  zoom: { type: 'int', min: 1, max: 32, default: 4, help: 'pixels per kernel weight' },
};

export const filtersCommand: Command = {
  summary: "the first layer's kernels as an image grid (the paper's Figure 3)",
  usage: 'filters --checkpoint FILE [--out conv1.png] [--zoom 4]',
  help: flagHelp(filtersFlags),
  async run(argv) {
    const { flags } = parseFlags('filters', argv, filtersFlags);
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
  checkpoint: checkpointFlag,
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
  checkpoint: checkpointFlag,
  data: { type: 'string', value: 'DIR', required: true, help: 'the prepared folder it was trained on' },
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
    const device = resolveDevice(flags);
    await extractFeatures(flags.checkpoint as string, flags.data as string, flags.layer as string, flags.out as string,
      { device, split: flags.split as 'train' | 'val', log: (l) => console.log(l) });
    return 0;
  },
};

const neighborsFlags: Record<string, FlagSpec> = {
  checkpoint: { ...checkpointFlag, help: 'the checkpoint the index was made with' },
  index: { type: 'string', value: 'FILE', required: true, help: 'a feature index written by features' },
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
  run: { type: 'string', value: 'DIR', required: true, help: 'the --out folder of a training run' },
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
    const device = resolveDevice(flags);
    const file = await writeReport(flags.run as string, (flags.out as string) ?? path.join(flags.run as string, 'report'), { samples: flags.samples as number, device });
    console.log(`report: ${file}`);
    return 0;
  },
};

const exportFlags: Record<string, FlagSpec> = {
  checkpoint: checkpointFlag,
  onnx: { type: 'string', value: 'FILE', required: true, help: 'the ONNX model to write' },
  'with-preprocessing': { type: 'bool', help: 'mean subtraction and scaling inside the graph: the model takes the 0..255 RGB centre crop' },
};

export const exportCommand: Command = {
  summary: 'the trained network as an ONNX model (input: mean-subtracted, scaled crops; output: probabilities)',
  usage: 'export --checkpoint FILE --onnx model.onnx [--with-preprocessing]',
  help: flagHelp(exportFlags),
  async run(argv) {
    const { flags } = parseFlags('export', argv, exportFlags);
    const pre = !!flags['with-preprocessing'];
    const r = exportCheckpoint(flags.checkpoint as string, flags.onnx as string, { withPreprocessing: pre });
    const o = r.config.options;
    console.log(`${flags.onnx}: ${(r.bytes / 2 ** 20).toFixed(1)} MiB, input "input" (N, 3, ${o.crop}, ${o.crop}) = ${pre ? 'the 0..255 RGB centre crop' : `(pixels - mean) * ${o.inputScale}`}, ` +
      `output "probabilities" (N, ${o.classes}); classes, mean, scale and crop rule in metadata_props`);
    return 0;
  },
};
