// The run folder and the checkpoint layout. A run folder (--out) holds last.safetensors (after
// every epoch, and at an interruption), best.safetensors (a copy of the best by validation
// top-1 error) and metrics.jsonl (one line per epoch). A checkpoint is a safetensors file:
// the parameters in the single-device layout (whatever network wrote them), the optimizer's
// velocities as "velocity/<name>", the mean image as "input/mean", and in the metadata the
// model config, the run state (epoch, batch, step, schedule, seed) and the class names.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeviceLike } from '../core/device';
import { encodeSafetensors, NamedArray, readSafetensorsFile, readSafetensorsMetadata, writeFileAtomic } from '../io/safetensors';
import { Model } from '../nn/model';
import { Network } from '../nn/network';
import { ModelConfig } from '../nn/spec';
import { Sgd } from './optim';
import { ScheduleState } from './schedule';

export const CHECKPOINT_FORMAT = 'alexnet-native-checkpoint-1';

/** The files of a run folder. */
export function runFiles(out: string): { last: string; best: string; metrics: string } {
  return { last: path.join(out, 'last.safetensors'), best: path.join(out, 'best.safetensors'), metrics: path.join(out, 'metrics.jsonl') };
}

export interface RunState {
  /** epochs completed */
  epoch: number;
  /** batches of the current epoch completed (non-zero only for an interrupted epoch) */
  batchInEpoch: number;
  /** optimizer steps taken: with the seed, the dropout RNG's position */
  step: number;
  seed: number;
  schedule: ScheduleState;
  bestValTop1: number;
  /** running sums of the interrupted epoch, so that its metrics come out whole */
  partial: { loss: number; errors: number; images: number; seconds: number; dataSeconds: number };
  /** the loss of the run's first step: what "not learning" is measured against (absent in older checkpoints) */
  startLoss?: number;
  /** images per step (absent in older checkpoints): --resume keeps it */
  batchSize?: number;
  /** the epochs the run was asked for (absent in older checkpoints): --resume keeps it */
  epochs?: number;
}

/** What prediction needs of the training data: its classes, image side and mean image. */
export interface InputSpec {
  classes: string[];
  /** human-readable class names (ImageNet's synset words), where the data had them */
  names?: string[];
  /** side of the stored square images the crops are taken from */
  size: number;
  /** (3, size, size) in 0..255 units */
  mean: Float32Array;
  /** the prepared folder the network was trained on, where known */
  data?: string;
}

export interface Checkpoint {
  config: ModelConfig;
  state: RunState;
  weights: Map<string, NamedArray>;
  velocity: Map<string, NamedArray>;
  input?: InputSpec;
}

export function saveCheckpoint(file: string, net: Model, sgd: Sgd | null, state: RunState, input?: InputSpec): void {
  const tensors = new Map<string, NamedArray>(net.toSingleDevice((p) => p.value));
  if (sgd) for (const [name, t] of net.toSingleDevice((p) => sgd.velocity.get(p.name)!)) tensors.set(`velocity/${name}`, t);
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, config: JSON.stringify(net.config), state: JSON.stringify(state) };
  if (input) {
    tensors.set('input/mean', { shape: [3, input.size, input.size], data: input.mean });
    metadata.classes = JSON.stringify(input.classes);
    if (input.names) metadata.class_names = JSON.stringify(input.names);
    if (input.data) metadata.data = input.data;
  }
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/**
 * The checkpoint file a path names: a file as it is, or a run folder's best checkpoint (its
 * last where there is no best yet). `used` says which file a folder resolved to, else null.
 */
export function resolveCheckpoint(p: string): { file: string; used: string | null } {
  if (!fs.existsSync(p) || !fs.statSync(p).isDirectory()) return { file: p, used: null };
  const { best, last } = runFiles(p);
  for (const file of [best, last]) if (fs.existsSync(file)) return { file, used: file };
  throw new Error(`${p} is a folder without a checkpoint (no best.safetensors or last.safetensors): give a run folder written by train, or a checkpoint file`);
}

/** A checkpoint's config, run state and training data folder, from its header alone. */
export function readCheckpointInfo(file: string): { config: ModelConfig; state: RunState; data?: string } {
  const meta = readSafetensorsMetadata(file);
  if (meta.format !== CHECKPOINT_FORMAT)
    throw new Error(`${file}: not an alexnet-native checkpoint (metadata format ${JSON.stringify(meta.format)})`);
  return { config: JSON.parse(meta.config), state: JSON.parse(meta.state), data: meta.data };
}

export function loadCheckpoint(file: string): Checkpoint {
  const st = readSafetensorsFile(file);
  if (st.metadata.format !== CHECKPOINT_FORMAT)
    throw new Error(`${file}: not an alexnet-native checkpoint (metadata format ${JSON.stringify(st.metadata.format)})`);
  const weights = new Map<string, NamedArray>(), velocity = new Map<string, NamedArray>();
  for (const [name, t] of st.tensors) {
    if (name.startsWith('velocity/')) velocity.set(name.slice('velocity/'.length), t);
    else if (!name.startsWith('input/')) weights.set(name, t);
  }
  const mean = st.tensors.get('input/mean');
  const input = mean && st.metadata.classes
    ? { classes: JSON.parse(st.metadata.classes), size: mean.shape[1], mean: mean.data, data: st.metadata.data,
      ...(st.metadata.class_names ? { names: JSON.parse(st.metadata.class_names) } : {}) }
    : undefined;
  return { config: JSON.parse(st.metadata.config), state: JSON.parse(st.metadata.state), weights, velocity, input };
}

/** Copies checkpoint weights (and velocities, where both exist) into a network built from the same config. */
export function restore(net: Model, sgd: Sgd | null, ck: Checkpoint, file: string): void {
  net.fromSingleDevice(ck.weights, (p) => p.value, file);
  if (sgd && ck.velocity.size) net.fromSingleDevice(ck.velocity, (p) => sgd.velocity.get(p.name)!, file);
}

/** A network with a checkpoint's config and weights, for evaluation and prediction. */
export function networkFromCheckpoint(file: string, device: DeviceLike = 'cpu'): Network {
  return buildFromCheckpoint(loadCheckpoint(file), file, device);
}

/** A network with an already loaded checkpoint's config and weights (`file` names it in errors). */
export function buildFromCheckpoint(ck: Checkpoint, file: string, device: DeviceLike = 'cpu'): Network {
  const net = new Network(ck.config, { seed: ck.state.seed, device });
  restore(net, null, ck, file);
  return net;
}
