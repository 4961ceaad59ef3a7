// The public TypeScript API.
export { Device, DeviceLike, DeviceKind } from './device';
export { ArgumentError } from './errors';
export { backendInfo, BackendInfo, formatInfo } from './info';
export * as ops from './ops';
export { Shape, Tensor, RandnOptions, releaseCachedMemory } from './tensor';
export { alexnet, paperOptions, Network, ModelConfig, ModelOptions, LayerSpec, summarize, formatSummary } from './nn/model';
export { Layer, Param, SoftmaxCrossEntropy } from './nn/layers';
export { Sgd, SgdConfig, plateauSchedule, stepSchedule, nextSchedule, ScheduleState } from './optim';
export { fit, FitOptions, evaluate, trainStep, buildNetwork, saveCheckpoint, loadCheckpoint, networkFromCheckpoint } from './train';
export { ColumnNetwork, AnyNetwork, convertParams, columnTraffic, columnPlan, paramPieces, parseDeviceList } from './nn/columns';
export * as data from './data';
