// train and eval.
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Communicator, launchedRanks } from '../core/comm';
import { Device } from '../core/device';
import { builtinData, builtinPrepared, preparedFolder } from '../data/cache';
import { readIndex } from '../data/format';
import { DataLoader } from '../data/loader';
import { ModelOptions } from '../nn/spec';
import { networkFromCheckpoint, readCheckpointInfo, resolveCheckpoint, runFiles } from '../train/checkpoint';
import { evaluate } from '../train/evaluate';
import { fit } from '../train/loop';
import { Command } from './command';
import { deviceFlag, resolveDevice, resolveTrainDevices } from './devices';
import { applyPrecision, PrecisionError, precisions } from '../core/precision';
import { FlagError, flagHelp, FlagSpec, parseFlags } from './flags';
import { fineTuneFlags, fineTuneOptions } from './finetune';
import { modelFlags, modelOptions } from './model';
import { BUILTIN, chooseRecipe, describeRecipe, PAPER, Recipe, SMALL, SMALL_DATA } from './presets';

/** --checkpoint, as most commands take it. */
export const checkpointFlag: FlagSpec = { type: 'string', value: 'FILE|RUN', required: true, help: 'a checkpoint written by train, or a run folder (its best checkpoint)' };

/** The checkpoint file a --checkpoint value names; a run folder's choice is said on stderr. */
export function checkpointPath(p: string): string {
  const { file, used } = resolveCheckpoint(p);
  if (used) console.error(`checkpoint: ${used}`);
  return file;
}

const trainFlags: Record<string, FlagSpec> = {
  data: { type: 'string', value: 'DIR', help: 'a prepared folder, or raw data to prepare (default: the built-in synthetic set)' },
  out: { type: 'string', value: 'DIR', help: 'checkpoints and metrics.jsonl (default runs/<date>-<time>)' },
  overwrite: { type: 'bool', help: 'start afresh even if --out already holds a run' },
  ...modelFlags,
  recipe: {
    type: 'choice', choices: ['auto', 'paper', 'small'], default: 'auto',
    help: `the defaults below: the paper's, or for small data (${describeRecipe(SMALL)}); auto: small under ${SMALL_DATA.toLocaleString('en-US')} training images, the built-in run's on the built-in set, else the paper's`,
  },
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
  resume: { type: 'string', value: 'RUN', optionalValue: true, help: "continue a run (the one in --out, or RUN) from its last checkpoint, with the checkpoint's model and data" },
  'ten-crop': { type: 'bool', help: "validate with the paper's 10 crops instead of the centre crop" },
  workers: { type: 'int', min: 0, help: 'data worker threads (default: CPUs - 1)' },
  'max-batches': { type: 'int', min: 0, default: 0, help: 'batches per epoch at most (0: all), for quick runs' },
  size: { type: 'int', min: 1, default: 256, help: 'stored image side when --data must be prepared' },
  progress: { type: 'bool', help: 'draw the progress bar even when stderr is not a terminal' },
  parallel: {
    type: 'choice', choices: ['data', 'hybrid'],
    help: "under mpirun or srun: data (the default there: every rank trains on its share of each --batch-size batch) or hybrid (Krizhevsky's 'one weird trick': conv layers data-parallel, fc6-fc8 split over the ranks)",
  },
  'comm-timeout': { type: 'number', min: 0, default: 120, help: 'under mpirun: seconds a collective waits for the slowest rank before every rank stops, naming it (0: forever)' },
  precision: { type: 'choice', choices: [...precisions], help: 'GEMM precision on cuda devices: fp32, tf32 (tensor cores) or 3xtf32 (tensor cores, FP32 accuracy); sets ALEXNET_GEMM (default: as ALEXNET_GEMM says, FP32 v1 when unset)' },
};

export const trainCommand: Command = {
  summary: 'train AlexNet (no flags: a small one on the built-in synthetic set, in minutes on a CPU)',
  usage: 'train [--data DIR] [--out DIR] [--epochs N] [--device cpu|cuda] [--resume] [...]',
  help: flagHelp(trainFlags),
  async run(argv) {
    const { flags, given } = parseFlags('train', argv, trainFlags);
    try {
      applyPrecision(flags.precision as string | undefined);  // before the first op: the addon reads it once
    } catch (err) {
      throw err instanceof PrecisionError ? new FlagError(err.message) : err;
    }
    // under mpirun / srun: distributed, one process per rank; rank 0 alone prints and writes
    const launch = launchedRanks();
    if (flags.parallel && !launch) throw new Error('--parallel needs several processes: start them with mpirun -np N (or srun) ... train');
    // (a Slurm job's single process is not distributed: one rank trains alone, as without a launcher)
    const comm = launch && (launch.size > 1 || flags.parallel) ? await Communicator.open(resolveTrainDevices(flags)[0].kind === 'cpu' ? 'mpi' : 'nccl', { timeoutMs: 1000 * (flags['comm-timeout'] as number) }) : undefined;
    try {
      return await train(flags, given, comm);
    } catch (err) {
      if (!comm) throw err;
      // every rank stops: the others are (or will be) waiting on this one in a collective
      console.error(`alexnet train: rank ${comm.rank} of ${comm.size}: ${(err as Error).message}`);
      comm.abort(1);
      await new Promise((r) => setTimeout(r, 30_000));  // MPI_Abort ends this process first
      return 1;
    } finally {
      await comm?.close();
    }
  },
};

async function train(flags: ReturnType<typeof parseFlags>['flags'], given: Set<string>, comm: Communicator | undefined): Promise<number> {
  const quiet = comm !== undefined && comm.rank !== 0;
  const log = quiet ? () => {} : (line: string) => console.log(line);
  let devices = resolveTrainDevices(flags);  // a bad --device fails before any data is made
  // NCCL: one rank per GPU, the local rank's
  if (comm?.engine === 'nccl') devices = [Device.parse(`${devices[0].kind}:${comm.localRank}`)];
  const resumed = resumeTarget(flags);
  const dataFlag = (flags.data as string | undefined) ?? resumed?.data;
  const builtIn = dataFlag === undefined || path.resolve(dataFlag) === path.resolve(builtinPrepared());
  // distributed: rank 0 prepares the data (once) while the others wait, then they open it
  if (comm && comm.rank !== 0) await comm.barrier();
  const data = dataFlag === undefined ? await builtinData(log) : await preparedFolder(dataFlag, flags.size as number, log);
  if (comm && comm.rank === 0) await comm.barrier();
  const index = readIndex(data);
  const chosen = chooseRecipe(flags.recipe as 'auto' | 'paper' | 'small', { builtIn, trainImages: index.splits.train.count });
  // a batch is never larger than the training set
  const recipe = { ...chosen.recipe, batchSize: Math.min(chosen.recipe.batchSize, index.splits.train.count) };
  const why = chosen.why;
  // a resumed run keeps its checkpoint's model: only the model flags given must agree with it
  const model = resumed ? definedOnly(modelOptions(Object.fromEntries([...given].map((k) => [k, flags[k]])))) : { ...recipe.model, ...modelOptions(flags) };
  // weights of our own checkpoint learned with its input scale: a fine-tuned run keeps it unless told
  const source = !resumed && flags['init-from'] !== undefined && !given.has('input-scale') ? ownCheckpointScale(flags['init-from'] as string) : undefined;
  if (source !== undefined) model.inputScale = source;
  const size = index.size;
  if (!resumed) model.crop ??= Math.min(model.arch === 'torchvision' ? 224 : 227, size);
  if (model.crop !== undefined && model.crop > size) throw new Error(`--crop ${model.crop} is larger than the prepared images (${size}x${size})`);
  const out = resumed?.out ?? (flags.out as string) ?? path.join('runs', new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-'));
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);  // a second Ctrl-C: stop now
    log('\nstopping after this batch (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  // under a launcher, SIGTERM (srun's) and SIGUSR1 (which mpirun forwards to every rank:
  // `kill -USR1 <mpirun's pid>`) stop after this step too, and rank 0 saves
  if (comm) for (const sig of ['SIGTERM', 'SIGUSR1'] as const) process.on(sig, onSigint);
  try {
    if (comm) log(`${(flags.parallel as string) ?? 'data'}-parallel over ${comm.size} ranks (${comm.engine}): the batch size is the global batch, split over the ranks`);
    if (resumed) log(`resuming ${formatModel(resumed.model)} on ${data} (${devices.join(',')}), output in ${out}`);
    else {
      log(`training ${formatModel(model)} on ${data} (${devices.join(',')}), output in ${out}`);
      log(`recipe ${recipe.name} (${why}): ${describeRecipe(recipe)}${recipe.name === 'paper' ? '' : '; --recipe paper for the paper\'s'}; flags override it`);
      if (source !== undefined) log(`input scale ${source}, as the --init-from checkpoint was trained`);
    }
    const r = await fit({
      data, out, model, device: devices, log, ...fineTuneOptions(flags),
      batchSize: (flags['batch-size'] as number) ?? resumed?.batchSize ?? recipe.batchSize,
      epochs: (flags.epochs as number) ?? resumed?.epochs ?? recipe.epochs,
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
      progress: !quiet && (flags.progress ? true : Boolean(process.stderr.isTTY)),
      signal: controller.signal,
      comm,
      parallel: (flags.parallel as 'data' | 'hybrid' | undefined) ?? 'data',
    });
    const last = r.metrics[r.metrics.length - 1];
    if (last) log(`validation top-1 accuracy ${(100 * (1 - last.val_top1_error)).toFixed(1)}%, top-5 accuracy ${(100 * (1 - last.val_top5_error)).toFixed(1)}% after epoch ${last.epoch}`);
    log(`checkpoint: ${r.lastCheckpoint} (best: ${r.bestCheckpoint})\nmetrics: ${r.metricsFile}`);
    return r.interrupted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    for (const sig of ['SIGTERM', 'SIGUSR1'] as const) process.off(sig, onSigint);
  }
}

/** With --resume: the run folder, and the model, data and batch size its last checkpoint was trained with. */
function resumeTarget(flags: Record<string, unknown>): { out: string; data?: string; model: Partial<ModelOptions>; batchSize?: number; epochs?: number } | null {
  if (!flags.resume) return null;
  const named = typeof flags.resume === 'string' ? flags.resume : undefined;
  if (named !== undefined && flags.out !== undefined && path.resolve(named) !== path.resolve(flags.out as string))
    throw new Error(`--resume ${named} and --out ${flags.out} name two different run folders: give one`);
  const out = named ?? (flags.out as string | undefined);
  if (out === undefined) throw new Error('--resume needs the run folder: --resume RUN (or --out RUN --resume)');
  const last = runFiles(out).last;
  if (!fs.existsSync(last)) throw new Error(`--resume: no checkpoint to resume from at ${last}`);
  const ck = readCheckpointInfo(last);
  if (ck.data === undefined && flags.data === undefined) throw new Error(`--resume: ${last} does not record the data it was trained on: give --data DIR`);
  return { out, data: ck.data, model: ck.config.options, batchSize: ck.state.batchSize, epochs: ck.state.epochs };
}

/** The input scale an alexnet-native checkpoint was trained with; undefined for other files (.pth, bare safetensors). */
function ownCheckpointScale(file: string): number | undefined {
  try {
    return readCheckpointInfo(file).config.options.inputScale;
  } catch {
    return undefined;  // not ours, or unreadable: --init-from itself says why when it loads it
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

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
    const net = networkFromCheckpoint(checkpointPath(flags.checkpoint as string), device);
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
