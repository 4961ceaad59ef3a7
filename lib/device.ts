// Devices by name: 'cpu', 'cuda' (the first GPU) or 'cuda:N'.
import { ArgumentError, describe } from './errors';

export type DeviceKind = 'cpu' | 'cuda';

export class Device {
  private constructor(
    readonly kind: DeviceKind,
    readonly index: number,
  ) {}

  static readonly cpu = new Device('cpu', 0);

  /** Parses 'cpu', 'cuda' or 'cuda:N'; a Device is returned as it is. */
  static parse(spec: string | Device, op = 'device'): Device {
    if (spec instanceof Device) return spec;
    if (spec === 'cpu') return Device.cpu;
    const m = typeof spec === 'string' ? /^cuda(?::(\d+))?$/.exec(spec) : null;
    if (!m) throw new ArgumentError(op, 'device', "'cpu', 'cuda' or 'cuda:N'", describe(spec));
    return new Device('cuda', m[1] === undefined ? 0 : Number(m[1]));
  }

  equals(other: Device): boolean {
    return this.kind === other.kind && this.index === other.index;
  }

  toString(): string {
    return this.kind === 'cpu' ? 'cpu' : `cuda:${this.index}`;
  }
}

export type DeviceLike = string | Device;
