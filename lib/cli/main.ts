// cli: the command line. Each command is one entry in the table below, its flags a table of
// their own (flags.ts), the run's defaults in presets.ts; bad commands and flags print usage
// and exit non-zero. The top layer: may import every other folder; nothing imports it.
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
  return ['usage: node lib/cli.js <command> [flags]', '', 'commands:', ...lines, '  help'.padEnd(width + 4) + 'this text'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 1;
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
    console.error(`alexnet ${name}: ${(err as Error).message}`);
    return 1;
  }
}
