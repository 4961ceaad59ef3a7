// core: the native addon and what sits directly on it: Tensor, Device, the validated ops,
// their typed parameters, argument errors and build info. Imports nothing else from lib/.
export { ArgumentError, describe } from './errors';
export { Device, DeviceKind, DeviceLike, Engine, MemoryKind, defaultDevice, deviceStatus, parseDeviceList, parseDevices, usableDevices } from './device';
export { backendInfo, BackendInfo, formatInfo } from './info';
export { outputSize } from './geometry';
export * as ops from './ops';
export { Shape, Tensor, RandnOptions, releaseCachedMemory, synchronize } from './tensor';
