// train and eval.
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinData, preparedFolder } from '../data/cache';
import { readIndex } from '../data/format';
import { DataLoader } from '../data/loader';
import { ModelOptions } from '../nn/spec';
import { networkFromCheckpoint } from '../train/checkpoint';
import { evaluate } from '../train/evaluate';
import { fit } from '../train/loop';
import { Command } from './command';
import { deviceFlag, resolveDevice, resolveTrainDevices } from './devices';
import { applyPrecision, PrecisionError, precisions } from '../core/precision';
import { FlagError, flagHelp, FlagSpec, parseFlags } from './flags';
import { fineTuneFlags, fineTuneOptions } from './finetune';
import { modelFlags, modelOptions } from './model';
import { BUILTIN, PAPER, Recipe } from './presets';

/** --checkpoint, as most commands take it. */
export const checkpointFlag: FlagSpec = { type: 'string', value: 'FILE', required: true, help: 'a checkpoint written by train' };

const trainFlags: Record<string, FlagSpec> = {
  data: { type: 'string', value: 'DIR', help: 'a prepared folder, or raw data to prepare (default: the built-in synthetic set)' },
  out: { type: 'string', value: 'DIR', help: 'checkpoints and metrics.jsonl (default runs/<date>-<time>)' },
  overwrite: { type: 'bool', help: 'start afresh even if --out already holds a run' },
  ...modelFlags,
  ...fineTuneFlags,
  'batch-size': { type: 'int', min: 1, help: `images per step (default ${PAPER.batchSize}; ${BUILTIN.batchSize} on the built-in set)` },
  epochs: { type: 'int', min: 1, help: `epochs (default ${PAPER.epochs}; ${BUILTIN.epochs} on the built-in set)` },
  lr: { type: 'number', min: 0, help: `learning rate (default ${PAPER.lr})` },
  momentum: { type: 'number', min: 0, max: 0.999, default: 0.9, help: 'momentum' },
  'weight-decay': { type: 'number', min: 0, default: 0.0005, help: 'weight decay (times the lr, as in the paper)' },
  schedule: { type: 'choice', choices: ['plateau', 'step', 'fixed'], help: `lr schedule: the paper's (/10 on a validation plateau, at most 3 times), a fixed step, or none (default ${PAPER.schedule}; ${BUILTIN.schedule} on the built-in set)` },
  patience: { type: 'int', min: 1, default: 2, help: 'plateau: epochs without improvement before /10' },
  'step-every': { type: 'int', min: 1, help: `step: epochs between /10 (default ${PAPER.stepEvery}; ${BUILTIN.stepEvery} on the built-in set)` },
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
  precision: { type: 'choice', choices: [...precisions], help: 'GEMM precision on cuda devices: fp32, tf32 (tensor cores) or 3xtf32 (tensor cores, FP32 accuracy); sets ALEXNET_GEMM (default: as ALEXNET_GEMM says, FP32 v1 when unset)' },
};

export const trainCommand: Command = {
  summary: 'train AlexNet (no flags: a small one on the built-in synthetic set, in minutes on a CPU)',
  usage: 'train [--data DIR] [--out DIR] [--epochs N] [--device cpu|cuda] [--resume] [...]',
  help: flagHelp(trainFlags),
  async run(argv) {
    const { flags } = parseFlags('train', argv, trainFlags);
    try {
      applyPrecision(flags.precision as string | undefined);  // before the first op: the addon reads it once
    } catch (err) {
      throw err instanceof PrecisionError ? new FlagError(err.message) : err;
    }
    const log = (line: string) => console.log(line);
    const devices = resolveTrainDevices(flags);  // a bad --device fails before any data is made
    const builtIn = flags.data === undefined;
    const recipe = builtIn ? BUILTIN : PAPER;
    const model = { ...recipe.model, ...modelOptions(flags) };
    const data = builtIn ? await builtinData(log) : await preparedFolder(flags.data as string, flags.size as number, log);
    const size = readIndex(data).size;
    model.crop ??= Math.min(model.arch === 'torchvision' ? 224 : 227, size);
    if (model.crop > size) throw new Error(`--crop ${model.crop} is larger than the prepared images (${size}x${size})`);
    const out = (flags.out as string) ?? path.join('runs', new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-'));
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130);  // a second Ctrl-C: stop now
      log('\nstopping after this batch (Ctrl-C again to quit at once)');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    try {
      log(`training ${formatModel(model)} on ${data} (${devices.join(',')}), output in ${out}`);
      const r = await fit({
        data, out, model, device: devices, log, ...fineTuneOptions(flags),
        batchSize: (flags['batch-size'] as number) ?? recipe.batchSize,
        epochs: (flags.epochs as number) ?? recipe.epochs,
        lr: (flags.lr as number) ?? recipe.lr,
        momentum: flags.momentum as number,
        weightDecay: flags['weight-decay'] as number,
        schedule: (flags.schedule as Recipe['schedule']) ?? recipe.schedule,
        patience: flags.patience as number,
        stepEvery: (flags['step-every'] as number) ?? recipe.stepEvery,
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
  return `${o.arch === 'torchvision' ? "torchvision's AlexNet" : 'AlexNet'} (width ${o.width ?? 1}, crop ${o.crop}, ${o.activation}${o.lrn === false ? ', no LRN' : ''}${o.dropout === false ? ', no dropout' : ''}${o.overlappingPool === false ? ', 2x2 pooling' : ''})`;
}

const evalFlags: Record<string, FlagSpec> = {
  checkpoint: checkpointFlag,
  data: { type: 'string', value: 'DIR', required: true, help: 'a prepared folder with a val split' },
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
