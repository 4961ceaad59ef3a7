// Argument checks shared by the ops. Every failure throws an ArgumentError naming the op,
// the argument, what was expected and what was received, before native code is reached.
import { Device } from './device';
import { ArgumentError, describe } from './errors';
import { formatShape, Tensor } from './tensor';

export function checkTensor(op: string, name: string, t: unknown, rank?: number, layout?: string): Tensor {
  if (!(t instanceof Tensor)) throw new ArgumentError(op, name, 'a Tensor', describe(t));
  t.handle(op, name);  // throws, naming op and argument, if it was disposed
  if (rank !== undefined && t.rank !== rank)
    throw new ArgumentError(op, name, `a ${rank}-D tensor${layout ? ` (${layout})` : ''}`, `shape ${formatShape(t.shape)}`);
  return t;
}

export function checkShapeEquals(op: string, name: string, t: Tensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
    throw new ArgumentError(op, name, `shape ${formatShape(shape)}`, `shape ${formatShape(t.shape)}`);
}

/** All tensors on the first one's device. */
export function checkSameDevice(op: string, tensors: Record<string, Tensor | null | undefined>): Device {
  let device: Device | undefined;
  let first = '';
  for (const [name, t] of Object.entries(tensors)) {
    if (!t) continue;
    if (!device) {
      device = t.device;
      first = name;
    } else if (!t.device.equals(device)) {
      throw new ArgumentError(op, name, `a tensor on ${device} (the device of ${first})`, `a tensor on ${t.device}`);
    }
  }
  return device ?? Device.cpu;
}

export function checkPositiveInt(op: string, name: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new ArgumentError(op, name, 'a positive integer', describe(v));
  return v as number;
}

export function checkFinite(op: string, name: string, v: unknown, min?: number, max?: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(op, name, 'a finite number', describe(v));
  if ((min !== undefined && v < min) || (max !== undefined && v > max))
    throw new ArgumentError(op, name, `a number in [${min ?? '-inf'}, ${max ?? 'inf'}]`, describe(v));
  return v;
}

/** An optional on/off option: true or false, absent (undefined) meaning false. */
export function checkFlag(op: string, name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new ArgumentError(op, name, 'true or false', describe(v));
  return v;
}

/** A size given as n or [h, w], as positive (or, with allowZero, non-negative) integers. */
export function checkPair(op: string, name: string, v: unknown, allowZero = false): [number, number] {
  const ok = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= (allowZero ? 0 : 1);
  if (ok(v)) return [v as number, v as number];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  const what = allowZero ? 'a non-negative integer' : 'a positive integer';
  throw new ArgumentError(op, name, `${what} or a pair [h, w] of them`, describe(v));
}

/** Labels as an Int32Array of n class indices in [0, classes). */
export function checkLabels(op: string, labels: unknown, n: number, classes: number): Int32Array {
  if (!(labels instanceof Int32Array) && !Array.isArray(labels))
    throw new ArgumentError(op, 'labels', 'an Int32Array or an array of class indices', describe(labels));
  if (labels.length !== n) throw new ArgumentError(op, 'labels', `${n} labels (one per row of logits)`, `${labels.length} labels`);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= classes)
      throw new ArgumentError(op, `labels[${i}]`, `an integer class index in [0, ${classes})`, describe(l));
  }
  return labels instanceof Int32Array ? labels : Int32Array.from(labels);
}
