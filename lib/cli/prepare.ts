// prepare: decode a source folder into shards (or generate the synthetic set first).
import * as path from 'path';
import type { Command } from './command';
import { FlagError, flagHelp, FlagSpec, parseFlags } from './flags';
import { prepare } from '../data/prepare';
import { generateSynthetic } from '../data/synthetic';

const USAGE = 'prepare (--data DIR | --synthetic) --out DIR [--size 256] [--help for more]';

const flags: Record<string, FlagSpec> = {
  data: { type: 'string', value: 'DIR', help: 'ImageNet layout (train/<class>/*, val/<class>/* or a flat val/ with a labels file), CIFAR-10/100 binary batches, or MNIST IDX files (.gz or not)' },
  synthetic: { type: 'bool', help: 'generate the synthetic 10-class set (JPEGs) in OUT/source and prepare it' },
  out: { type: 'string', value: 'DIR', help: 'the prepared folder (required)' },
  size: { type: 'int', min: 1, help: 'side of the stored images (default 256; CIFAR 32, MNIST 28)' },
  'shard-size': { type: 'int', min: 1, help: 'source images per shard (default 1000)' },
  'val-labels': { type: 'string', value: 'FILE', help: "'<file> <class>' lines for a flat validation folder (default DATA/val_labels.txt)" },
  concurrency: { type: 'int', min: 1, help: 'images decoded at once (default max(4, CPUs))' },
  progress: { type: 'bool', help: 'draw the progress bar even when stderr is not a terminal (--no-progress: never; default: on a terminal)' },
  seed: { type: 'int', min: 0, help: 'synthetic set: seed (default 0)' },
  'per-class': { type: 'int', min: 1, help: 'synthetic set: training images per class (default 100)' },
  'val-per-class': { type: 'int', min: 1, help: 'synthetic set: validation images per class (default 20)' },
};

export const prepareCommand: Command = {
  summary: 'decode images to 256x256 shards with labels, mean image and RGB PCA',
  usage: USAGE,
  help: `Decodes every image once (shorter side to --size, centre crop, RGB) into shards of uint8
pixels with labels, the training mean image and the RGB covariance PCA (lib/data/README.md).
Re-running reuses finished shards; bad files are skipped with a warning and counted.

${flagHelp(flags)}`,
  async run(argv) {
    const { flags: f } = parseFlags('prepare', argv, flags);
    const out = f.out as string | undefined;
    if (out === undefined) throw new FlagError('--out DIR is required');
    let data = f.data as string | undefined;
    const syntheticOnly = ['seed', 'per-class', 'val-per-class'].filter((k) => f[k] !== undefined);
    if (f.synthetic) {
      if (data !== undefined) throw new FlagError('give either --data DIR or --synthetic, not both');
      const source = path.join(out, 'source');
      const r = await generateSynthetic({
        out: source,
        seed: f.seed as number | undefined,
        trainPerClass: f['per-class'] as number | undefined,
        valPerClass: f['val-per-class'] as number | undefined,
      });
      console.error(`synthetic set in ${source}: ${r.train} train and ${r.val} val JPEGs${r.cached ? ' (already there)' : ''}`);
      data = source;
    } else if (syntheticOnly.length) {
      throw new FlagError('--seed, --per-class and --val-per-class apply only with --synthetic');
    }
    if (data === undefined) throw new FlagError('--data DIR (or --synthetic) is required');
    await prepare({
      data,
      out,
      size: f.size as number | undefined,
      shardSize: f['shard-size'] as number | undefined,
      valLabels: f['val-labels'] as string | undefined,
      concurrency: f.concurrency as number | undefined,
      progress: f.progress as boolean | undefined,
    });
    return 0;
  },
};
