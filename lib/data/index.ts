// The data pipeline's public API (lib/data/README.md describes the formats and the choices).
import * as path from 'path';
import { prepare, PrepareSummary } from './prepare';
import { generateSynthetic, SyntheticOptions } from './synthetic';

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

/**
 * The synthetic set, generated (JPEGs in DIR/source) and prepared (DIR/prepared) on first use
 * and found again afterwards: the data `train` uses when given none. Returns the prepared folder.
 */
export async function ensureSyntheticPrepared(
  options: Omit<SyntheticOptions, 'out'> & { dir?: string; size?: number; log?: (line: string) => void; progress?: boolean } = {},
): Promise<{ prepared: string; summary: PrepareSummary }> {
  const dir = options.dir ?? path.join('.cache', 'synthetic');
  const { dir: _d, size, log, progress, ...synthetic } = options;
  void _d;
  const source = path.join(dir, 'source');
  await generateSynthetic({ ...synthetic, out: source });
  const prepared = path.join(dir, 'prepared');
  const summary = await prepare({ data: source, out: prepared, size, log: log ?? (() => {}), progress: progress ?? false });
  return { prepared, summary };
}
