// Devices are values: a user's text ('cpu', 'cuda:1', 'cudnn', 'cuda:0,cuda:1') is parsed once
// where it comes in, and everything below takes a Device (or a list of them for the paper's
// two columns). A device is a place for memory (the CPU or CUDA GPU N) plus the engine that
// runs the ops there: our own kernels, or cuDNN's for convolution, LRN and pooling on the
// same GPU's memory. Whether this build and machine can use a device is answered here once,
// for the CLI, the tests and the benchmarks alike.
import { ArgumentError, describe } from './errors';
import { backendInfo } from './info';

/** The backend that owns a tensor's memory and runs its ops (the native binding's name for it). */
export type DeviceKind = 'cpu' | 'cuda' | 'cudnn';
/** Where the bytes are. */
export type MemoryKind = 'cpu' | 'cuda';
/** Which kernels run there. */
export type Engine = 'native' | 'cudnn';

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

  /** CPU memory, or GPU memory (the cudnn engine works on the same GPU memory as cuda). */
  get memory(): MemoryKind {
    return this.kind === 'cpu' ? 'cpu' : 'cuda';
  }

  get engine(): Engine {
    return this.kind === 'cudnn' ? 'cudnn' : 'native';
  }

  equals(other: Device): boolean {
    return this.kind === other.kind && this.index === other.index;
  }

  toString(): string {
    return this.kind === 'cpu' ? 'cpu' : `${this.kind}:${this.index}`;
  }
}

export type DeviceLike = string | Device;

/**
 * A --device value: one device ('cpu', 'cuda:1': the single-device model) or two separated by
 * a comma ('cpu,cpu', 'cuda:0,cuda:1': the two columns). A Device or a list passes through.
 */
export function parseDevices(spec: DeviceLike | readonly DeviceLike[]): Device[] {
  if (spec instanceof Device) return [spec];
  if (Array.isArray(spec)) return spec.map((d) => Device.parse(d, 'device list'));
  if (typeof spec !== 'string') throw new ArgumentError('device list', 'device', 'a string such as cpu or cuda:0,cuda:1', describe(spec));
  const parts = spec.split(',').map((s) => s.trim());
  if (parts.some((p) => p === ''))
    throw new Error(`device list ${JSON.stringify(spec)} has an empty entry: give one device, or two separated by a comma (cpu,cpu or cuda:0,cuda:1)`);
  if (parts.length > 2)
    throw new Error(`device list ${JSON.stringify(spec)} names ${parts.length} devices: the model splits into two columns, so give one device, or two (one per column)`);
  return parts.map((p) => Device.parse(p, 'device list'));
}

/** parseDevices, as the canonical names ('cuda' -> 'cuda:0'). */
export function parseDeviceList(spec: string): string[] {
  return parseDevices(spec).map(String);
}

/** Whether this build on this machine can run ops on `device`, and if not, why. */
export function deviceStatus(device: DeviceLike): { usable: boolean; reason: string } {
  const d = Device.parse(device);
  if (d.kind === 'cpu') return { usable: true, reason: '' };
  const info = backendInfo();
  const why = (reason: string) => ({ usable: false, reason });
  if (!info.cuda.built) return why(`this build has no CUDA backend (${info.cuda.reason})`);
  if (!info.cuda.usable) return why(`CUDA is not usable here: ${info.cuda.reason}`);
  if (!info.cuda.ops) return why('this build has no CUDA ops yet; use --device cpu');
  if (d.engine === 'cudnn' && !info.cudnn.built) return why(info.cudnn.reason);
  if (d.engine === 'cudnn' && !info.cudnn.usable) return why(`cuDNN is not usable here: ${info.cudnn.reason}`);
  if (d.index >= info.cuda.devices.length)
    return why(`there is no CUDA device ${d.index} (this machine has ${info.cuda.devices.length})`);
  return { usable: true, reason: '' };
}

/** Every device this build can run ops on here: the CPU, then each GPU with each engine. */
export function usableDevices(): Device[] {
  const gpus = backendInfo().cuda.devices.map((g) => g.index);
  const candidates = [Device.cpu, ...gpus.map((i) => Device.parse(`cuda:${i}`)), ...gpus.map((i) => Device.parse(`cudnn:${i}`))];
  return candidates.filter((d) => deviceStatus(d).usable);
}

/**
 * Where work goes when the user does not say: the first GPU when usable, else the CPU. Never
 * the test build's host emulator: it is a checking tool, far slower than the CPU backend.
 */
export function defaultDevice(): Device {
  const gpu = Device.parse('cuda:0');
  return deviceStatus(gpu).usable && !backendInfo().cuda.emulated ? gpu : Device.cpu;
}
