// The public TypeScript API, gathered from the layers (README: "The code, folder by folder").
export { Device, DeviceLike, DeviceKind, defaultDevice, deviceStatus, parseDeviceList, parseDevices, usableDevices } from './core/device';
export { ArgumentError } from './core/errors';
export { backendInfo, BackendInfo, formatInfo } from './core/info';
export * as ops from './core/ops';
export { Shape, Tensor, RandnOptions, releaseCachedMemory } from './core/tensor';
export { alexnet, paperOptions, ModelConfig, ModelOptions, LayerSpec, summarize, formatSummary } from './nn/spec';
export { Network } from './nn/network';
export { Model } from './nn/model';
export { Layer, Param, SoftmaxCrossEntropy } from './nn/layers';
export { buildNetwork } from './nn/build';
export { ColumnNetwork, AnyNetwork } from './nn/columns/network';
export { convertParams, columnTraffic, columnPlan, paramPieces } from './nn/columns/plan';
export { Sgd, SgdConfig } from './train/optim';
export { plateauSchedule, stepSchedule, nextSchedule, ScheduleState } from './train/schedule';
export { fit, FitOptions, trainStep } from './train/loop';
export { evaluate } from './train/evaluate';
export { saveCheckpoint, loadCheckpoint, networkFromCheckpoint } from './train/checkpoint';
export * as data from './data';
