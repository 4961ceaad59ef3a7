// The `prepare` command (registered in lib/cli.ts).
import * as path from 'path';
import type { Command } from '../cli';
import { prepare } from './prepare';
import { generateSynthetic } from './synthetic';

const USAGE = 'prepare (--data DIR | --synthetic) --out DIR [--size 256] [--help for more]';

const HELP = `usage: node lib/cli.js prepare (--data DIR | --synthetic) --out DIR [flags]

Decodes every image once (shorter side to --size, centre crop, RGB) into shards of uint8
pixels with labels, the training mean image and the RGB covariance PCA (lib/data/README.md).
Re-running reuses finished shards; bad files are skipped with a warning and counted.

  --data DIR          ImageNet layout (train/<class>/*, val/<class>/* or a flat val/ with a
                      labels file), CIFAR-10/100 binary batches, or MNIST IDX files (.gz or not)
  --synthetic         generate the synthetic 10-class set (JPEGs) in OUT/source and prepare it
  --out DIR           the prepared folder (required)
  --size N            side of the stored images (default 256; CIFAR 32, MNIST 28)
  --shard-size N      source images per shard (default 1000)
  --val-labels FILE   '<file> <class>' lines for a flat validation folder (default DATA/val_labels.txt)
  --concurrency N     images decoded at once (default max(4, CPUs))
  --progress          draw the progress bar even when stderr is not a terminal (--no-progress: never)
  --seed N            synthetic set: seed (default 0)
  --per-class N       synthetic set: training images per class (default 100)
  --val-per-class N   synthetic set: validation images per class (default 20)`;

function usageError(message: string): Error {
  // Required lazily: lib/cli.ts imports this file.
  const { UsageError } = require('../cli') as typeof import('../cli');
  return new UsageError(message);
}

/** Parses `--flag value` pairs and bare switches; every flag must be known. */
export function parseFlags(argv: string[], valued: string[], switches: string[]): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (switches.includes(name)) flags.set(name, true);
    else if (valued.includes(name)) {
      const value = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw usageError(`${name} needs a value`);
      flags.set(name, value);
    } else throw usageError(`unknown flag for prepare: ${a}`);
  }
  return flags;
}

function intFlag(flags: Map<string, string | true>, name: string, min: number): number | undefined {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw usageError(`Expected an integer >= ${min} for ${name} but received ${JSON.stringify(v)}`);
  return n;
}

export const prepareCommand: Command = {
  summary: 'decode images to 256x256 shards with labels, mean image and RGB PCA',
  usage: USAGE,
  async run(argv) {
    const flags = parseFlags(
      argv,
      ['--data', '--out', '--size', '--shard-size', '--val-labels', '--concurrency', '--seed', '--per-class', '--val-per-class'],
      ['--synthetic', '--progress', '--no-progress', '--help', '-h'],
    );
    if (flags.has('--help') || flags.has('-h')) {
      console.log(HELP);
      return 0;
    }
    const out = flags.get('--out');
    if (typeof out !== 'string') throw usageError('--out DIR is required');
    let data = flags.get('--data');
    if (flags.has('--synthetic')) {
      if (data !== undefined) throw usageError('give either --data DIR or --synthetic, not both');
      const source = path.join(out, 'source');
      const r = await generateSynthetic({
        out: source,
        seed: intFlag(flags, '--seed', 0),
        trainPerClass: intFlag(flags, '--per-class', 1),
        valPerClass: intFlag(flags, '--val-per-class', 1),
      });
      console.error(`synthetic set in ${source}: ${r.train} train and ${r.val} val JPEGs${r.cached ? ' (already there)' : ''}`);
      data = source;
    } else if (flags.has('--seed') || flags.has('--per-class') || flags.has('--val-per-class')) {
      throw usageError('--seed, --per-class and --val-per-class apply only with --synthetic');
    }
    if (typeof data !== 'string') throw usageError('--data DIR (or --synthetic) is required');
    const progress = flags.has('--progress') ? true : flags.has('--no-progress') ? false : undefined;
    const valLabels = flags.get('--val-labels');
    await prepare({
      data,
      out,
      size: intFlag(flags, '--size', 1),
      shardSize: intFlag(flags, '--shard-size', 1),
      valLabels: typeof valLabels === 'string' ? valLabels : undefined,
      concurrency: intFlag(flags, '--concurrency', 1),
      progress,
    });
    return 0;
  },
};
