// The run folder and the checkpoint layout. A run folder (--out) holds last.safetensors (after
// every epoch, and at an interruption), best.safetensors (a copy of the best by validation
// top-1 error) and metrics.jsonl (one line per epoch). A checkpoint is a safetensors file:
// the parameters in the single-device layout (whatever network wrote them), the optimizer's
// velocities as "velocity/<name>", the mean image as "input/mean", and in the metadata the
// model config, the run state (epoch, batch, step, schedule, seed) and the class names.
import * as path from 'node:path';
import { DeviceLike } from '../core/device';
import { encodeSafetensors, NamedArray, readSafetensorsFile, writeFileAtomic } from '../io/safetensors';
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
