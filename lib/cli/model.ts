// summary, and the model flags that summary and train share.
import { alexnet, formatSummary, ModelOptions, summarize } from '../nn/spec';
import { Command } from './command';
import { BUILTIN } from './presets';
import { flagHelp, FlagSpec, FlagValues, parseFlags } from './flags';

export const modelFlags: Record<string, FlagSpec> = {
  model: { type: 'choice', choices: ['alexnet', 'torchvision'], default: 'alexnet', help: "the layout: the paper's, or torchvision's (64/192/384/256/256 kernels, no LRN, no groups, inverted dropout, 224 input)" },
  width: { type: 'number', min: 0.01, max: 16, help: "kernel count multiplier (1 = the paper's)" },
  crop: { type: 'int', min: 1, help: 'input crop side (the paper: 227)' },
  activation: { type: 'choice', choices: ['relu', 'tanh'], default: 'relu', help: 'nonlinearity' },
  lrn: { type: 'bool', default: true, help: 'local response normalisation (--no-lrn: off)' },
  'overlapping-pool': { type: 'bool', default: true, help: '3x3 stride 2 pooling (--no-overlapping-pool: 2x2 stride 2)' },
  dropout: { type: 'bool', default: true, help: 'dropout 0.5 on fc6 and fc7 (--no-dropout: off)' },
  columns: { type: 'int', min: 1, max: 2, default: 2, help: 'groups of conv2/4/5 and the LRNs: the paper\'s two columns' },
  init: { type: 'choice', choices: ['paper', 'he'], help: `weights N(0, 0.01) (paper) or N(0, sqrt(2/fan-in)) (he) (default paper; ${BUILTIN.model.init} on the built-in set)` },
  'input-scale': { type: 'number', min: 1e-6, help: `multiplies the input pixels, 0..255 minus the mean (default 1; 1/${1 / BUILTIN.model.inputScale!} on the built-in set)` },
};

export function modelOptions(f: FlagValues): Partial<ModelOptions> {
  const o: Partial<ModelOptions> = {
    activation: f.activation as 'relu' | 'tanh',
    lrn: f.lrn as boolean,
    overlappingPool: f['overlapping-pool'] as boolean,
    dropout: f.dropout as boolean,
    columns: f.columns as 1 | 2,
  };
  if (f.model === 'torchvision') o.arch = 'torchvision';
  if (f.width !== undefined) o.width = f.width as number;
  if (f.crop !== undefined) o.crop = f.crop as number;
  if (f.init !== undefined) o.init = f.init as 'paper' | 'he';
  if (f['input-scale'] !== undefined) o.inputScale = f['input-scale'] as number;
  return o;
}


const summaryFlags: Record<string, FlagSpec> = {
  classes: { type: 'int', min: 2, default: 1000, help: 'output classes' },
  json: { type: 'bool', help: 'print JSON' },
  ...modelFlags,
};

export const summaryCommand: Command = {
  summary: 'each layer\'s output shape and parameter count',
  usage: 'summary [--model alexnet|torchvision] [--json] [model flags]',
  help: flagHelp(summaryFlags),
  run(argv) {
    const { flags } = parseFlags('summary', argv, summaryFlags);
    const config = alexnet({ ...modelOptions(flags), classes: flags.classes as number });
    if (flags.json) {
      const { rows, total } = summarize(config);
      console.log(JSON.stringify({ model: config.name, options: config.options, input: config.input, layers: rows, parameters: total }, null, 2));
    } else console.log(formatSummary(config));
    return 0;
  },
};
