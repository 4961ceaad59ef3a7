// The command-line flag parser every command uses.
import test from 'ava';
import { FlagError, flagHelp, FlagSpec, parseFlags } from '../lib/cli/flags';

const specs: Record<string, FlagSpec> = {
  lr: { type: 'number', min: 0, default: 0.01, help: 'learning rate' },
  epochs: { type: 'int', min: 1, help: 'epochs' },
  schedule: { type: 'choice', choices: ['plateau', 'step'], default: 'plateau', help: 'schedule' },
  lrn: { type: 'bool', default: true, help: 'LRN' },
  out: { type: 'string', value: 'DIR', help: 'output' },
};

test('values, =, defaults and --no- switches', (t) => {
  const { flags } = parseFlags('train', ['--lr=0.1', '--epochs', '3', '--no-lrn', '--out', 'runs/a'], specs);
  t.deepEqual(flags, { lr: 0.1, epochs: 3, schedule: 'plateau', lrn: false, out: 'runs/a' });
});

test('bad values, unknown flags, missing values and stray arguments are FlagErrors naming the flag', (t) => {
  const bad = (argv: string[], message: string | RegExp) => t.throws(() => parseFlags('train', argv, specs), { instanceOf: FlagError, message });
  bad(['--epochs', '2.5'], '--epochs must be an integer, not "2.5"');
  bad(['--epochs', '0'], '--epochs must be at least 1, not 0');
  bad(['--lr', 'fast'], '--lr must be a number, not "fast"');
  bad(['--schedule', 'cosine'], '--schedule must be one of plateau, step, not "cosine"');
  bad(['--momentum', '0.9'], 'unknown flag for train: --momentum');
  bad(['--out'], '--out needs a value (DIR)');
  bad(['--out', '--lr', '1'], '--out needs a value (DIR)');
  bad(['--lrn=yes'], '--lrn takes no value');
  bad(['extra'], 'train takes no arguments (got extra)');
  t.deepEqual(parseFlags('predict', ['a.jpg', '--lr', '1'], specs, true).positional, ['a.jpg']);
});

test('help lines show each flag with its value name and default', (t) => {
  const help = flagHelp(specs);
  t.regex(help, /--lr N +learning rate \(default 0\.01\)/);
  t.regex(help, /--schedule plateau\|step +schedule \(default plateau\)/);
  t.regex(help, /--out DIR +output$/m);
});
