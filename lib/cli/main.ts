// cli: the command line. Each command is one entry in the table below, its flags a table of
// their own (flags.ts), the run's defaults in presets.ts; bad commands and flags print usage
// and exit non-zero. The top layer: may import every other folder; nothing imports it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, UsageError } from './command';
import { FlagError } from './flags';
import { infoCommand } from './info';
import { summaryCommand } from './model';
import { prepareCommand } from './prepare';
import { exportCommand, featuresCommand, filtersCommand, neighborsCommand, predictCommand, reportCommand } from './tools';
import { evalCommand, trainCommand } from './train';

const commands: Record<string, Command> = {
  info: infoCommand,
  prepare: prepareCommand,
  summary: summaryCommand,
  train: trainCommand,
  eval: evalCommand,
  predict: predictCommand,
  filters: filtersCommand,
  features: featuresCommand,
  neighbors: neighborsCommand,
  report: reportCommand,
  export: exportCommand,
};

function usage(): string {
  const width = Math.max(...Object.values(commands).map((c) => c.usage.length));
  const lines = Object.values(commands).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
  return ['usage: node lib/cli.js <command> [flags]', '', 'commands:', ...lines, '  help'.padEnd(width + 4) + 'this text',
    '  --version'.padEnd(width + 4) + 'the version'].join('\n');
}

/** The package's version, from its package.json. */
export function version(): string {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(`alexnet-native ${version()}`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`alexnet: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (command.help && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(`usage: node lib/cli.js ${command.usage}\n\n${command.summary}\n\n${command.help}`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof FlagError) {
      console.error(`alexnet ${name}: ${err.message}\nusage: node lib/cli.js ${command.usage}`);
      return 2;
    }
    // library errors may already name the command ("prepare: ..."): say it once
    const message = (err as Error).message.replace(new RegExp(`^${name}: `), '');
    console.error(`alexnet ${name}: ${message}`);
    return 1;
  }
}
