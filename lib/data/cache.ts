// The built-in data set (the synthetic 10-class set, generated and prepared once into the
// user's cache folder) and raw folders prepared once next to themselves.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepare, PrepareSummary } from './prepare';
import { generateSynthetic, SyntheticOptions } from './synthetic';

/** The built-in set: small enough to train on in minutes on two CPU cores. */
export const BUILTIN_DATA = {
  seed: 0,
  trainPerClass: 600,
  valPerClass: 50,
  /** stored image side: a 67 crop is 67/76 of it, as 227 is of 256 */
  size: 76,
};

export function cacheDir(): string {
  return process.env.ALEXNET_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'alexnet-native');
}

/** The built-in set's prepared folder, generated and prepared into the cache folder the first time. */
export async function builtinData(log: (line: string) => void): Promise<string> {
  const d = BUILTIN_DATA;
  const dir = path.join(cacheDir(), `synthetic-s${d.seed}-${d.trainPerClass}x${d.valPerClass}-${d.size}`);
  const ready = path.join(dir, 'prepared');
  if (fs.existsSync(path.join(ready, 'index.json'))) return ready;
  log(`generating the synthetic set into ${dir} (once)`);
  const { prepared } = await ensureSyntheticPrepared({ dir, seed: d.seed, trainPerClass: d.trainPerClass, valPerClass: d.valPerClass, size: d.size, log });
  return prepared;
}

/** A prepared folder as given, or a raw one prepared next to itself (DIR.prepared-SIZE) the first time. */
export async function preparedFolder(dir: string, size: number, log: (line: string) => void): Promise<string> {
  if (!fs.existsSync(dir)) throw new Error(`--data: no such folder: ${dir}`);
  if (fs.existsSync(path.join(dir, 'index.json'))) return dir;
  const out = `${dir.replace(/\/+$/, '')}.prepared-${size}`;
  if (fs.existsSync(path.join(out, 'index.json'))) return out;
  log(`preparing ${dir} into ${out} (once)`);
  await prepare({ data: dir, out, size, log });
  return out;
}

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
