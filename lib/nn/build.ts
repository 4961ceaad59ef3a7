// From a config and devices to a Model: one device gives the single-device Network, two give
// the paper's two columns, one per device.
import { DeviceLike, parseDevices } from '../core/device';
import { ColumnNetwork } from './columns/network';
import { Model } from './model';
import { Network } from './network';
import { ModelConfig } from './spec';

/** The single-device network on one device, or the two columns on two ('cpu,cpu', [cuda:0, cuda:1]). */
export function buildNetwork(config: ModelConfig, seed: number, devices: DeviceLike | readonly DeviceLike[]): Model {
  const list = parseDevices(devices);
  if (list.length === 1) return new Network(config, { seed, device: list[0] });
  if (config.options.columns !== 2)
    throw new Error(`device ${list.join(',')}: two devices hold the paper's two columns, one each, which needs a model with columns 2 (this one has columns ${config.options.columns})`);
  return new ColumnNetwork(config, { seed, devices: [list[0], list[1]] });
}
