// The public TypeScript API.
export { Device, DeviceLike, DeviceKind } from './device';
export { ArgumentError } from './errors';
export { backendInfo, BackendInfo, formatInfo } from './info';
export * as ops from './ops';
export { Shape, Tensor, RandnOptions } from './tensor';
