// data: sources (ImageNet folders, CIFAR, MNIST) prepared into shards, the augmenting loader
// and its worker threads, and the built-in synthetic set's cache. Imports core only (and that
// lazily, so the pipeline runs without the native addon). README.md here has the formats.

export { DataLoader, openLoaders, batchToTensor } from './loader';
export type { Batch, LoaderOptions } from './loader';
export { prepare, decodeImage, formatSummary } from './prepare';
export type { PrepareOptions, PrepareSummary, Skipped } from './prepare';
export { generateSynthetic, drawSynthetic, SYNTHETIC_CLASSES } from './synthetic';
export type { SyntheticOptions, SyntheticResult } from './synthetic';
export { openPrepared, readLabels, writePreparedArrays } from './format';
export type { PreparedData, PreparedIndex, Pca } from './format';
export { fillBatch, trainParams, lightingShift, fiveCropOffsets, centerOffset } from './augment';
export type { AugmentConfig, AugmentMode } from './augment';
export { openSource, detectSource, readIdx } from './sources';
export { philox, epochPermutation } from './rng';
export { BUILTIN_DATA, builtinData, cacheDir, ensureSyntheticPrepared, preparedFolder } from './cache';
