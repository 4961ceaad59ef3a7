// train: the loop (fit, trainEpoch, trainStep), validation, metrics, the run folder and the
// checkpoint layout, the paper's optimizer and the learning-rate schedules. Imports core, io,
// nn and data; works on any Model.
export { fit, FitOptions, FitResult, trainEpoch, trainStep, trainStepOn } from './loop';
export { evaluate } from './evaluate';
export { EpochMetrics, topkErrors, averageCrops } from './metrics';
export { Checkpoint, InputSpec, RunState, runFiles, saveCheckpoint, loadCheckpoint, restore, networkFromCheckpoint, buildFromCheckpoint } from './checkpoint';
export { Sgd, SgdConfig } from './optim';
export { plateauSchedule, stepSchedule, nextSchedule, ScheduleState } from './schedule';
