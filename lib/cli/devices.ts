// --device: the user's text becomes Device values here, checked against what this build and
// machine can run (core/device.ts's deviceStatus); below the CLI everything takes a Device.
import { defaultDevice, Device, deviceStatus, parseDevices } from '../core/device';
import { FlagError, FlagSpec, FlagValues } from './flags';

export const deviceFlag: FlagSpec = { type: 'string', value: 'cpu|cuda[:N]|cudnn[:N]', help: 'where to run (default: the GPU when usable, else the CPU)' };

function usable(d: Device, spec: string): Device {
  const s = deviceStatus(d);
  if (!s.usable) throw new Error(`--device ${spec}: ${s.reason}`);
  return d;
}

/** The --device flag's device, or the default: the GPU when usable, else the CPU. */
export function resolveDevice(flags: FlagValues): Device {
  if (flags.device === undefined) return defaultDevice();
  const spec = flags.device as string;
  let d: Device;
  try {
    d = Device.parse(spec);
  } catch {
    throw new FlagError(`--device must be cpu, cuda, cuda:N, cudnn or cudnn:N, not ${JSON.stringify(spec)}`);
  }
  return usable(d, spec);
}

/** train's --device: one device, or two (cpu,cpu; cuda:0,cuda:1) for the paper's two columns, one per device. */
export function resolveTrainDevices(flags: FlagValues): Device[] {
  if (flags.device === undefined) return [defaultDevice()];
  let list: Device[];
  try {
    list = parseDevices(flags.device as string);
  } catch (err) {
    throw new FlagError(`--device: ${(err as Error).message}`);
  }
  if (list.length === 2 && flags.columns !== 2)
    throw new FlagError(`--device ${flags.device} puts the paper's two columns on two devices, one each, which needs --columns 2 (not --columns ${flags.columns})`);
  return list.map((d) => usable(d, String(d)));
}
