// Devices by name: 'cpu', 'cuda' (the first GPU), 'cuda:N', or 'cudnn[:N]': GPU N with the
// cuDNN baseline backend for convolution, LRN and pooling (the memory is the same GPU's).
import { ArgumentError, describe } from './errors';

export type DeviceKind = 'cpu' | 'cuda' | 'cudnn';

export class Device {
  private constructor(
    readonly kind: DeviceKind,
    readonly index: number,
  ) {}

  static readonly cpu = new Device('cpu', 0);

  /** Parses 'cpu', 'cuda', 'cuda:N', 'cudnn' or 'cudnn:N'; a Device is returned as it is. */
  static parse(spec: string | Device, op = 'device'): Device {
    if (spec instanceof Device) return spec;
    if (spec === 'cpu') return Device.cpu;
    const m = typeof spec === 'string' ? /^(cuda|cudnn)(?::(\d+))?$/.exec(spec) : null;
    if (!m) throw new ArgumentError(op, 'device', "'cpu', 'cuda', 'cuda:N', 'cudnn' or 'cudnn:N'", describe(spec));
    return new Device(m[1] as DeviceKind, m[2] === undefined ? 0 : Number(m[2]));
  }

  equals(other: Device): boolean {
    return this.kind === other.kind && this.index === other.index;
  }

  toString(): string {
    return this.kind === 'cpu' ? 'cpu' : `${this.kind}:${this.index}`;
  }
}

export type DeviceLike = string | Device;
