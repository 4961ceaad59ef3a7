#!/usr/bin/env node
// The command line: `node lib/cli.js <command> [flags]`. Each command is one entry in the
// table below; bad commands and flags print usage and exit non-zero.
import {
  evalCommand, exportCommand, featuresCommand, filtersCommand, neighborsCommand, predictCommand, reportCommand, summaryCommand, trainCommand,
} from './commands';
import { FlagError } from './flags';
import { backendInfo, formatInfo } from './info';
import { prepareCommand } from './data/cli';

export interface Command {
  summary: string;
  usage: string;
  /** the flags' help lines, printed by `<command> --help` */
  help?: string;
  run(argv: string[]): Promise<number> | number;
}

export class UsageError extends Error {}

const commands: Record<string, Command> = {
  info: {
    summary: 'show the version and the backends compiled in and usable',
    usage: 'info [--json]',
    run(argv) {
      const unknown = argv.filter((a) => a !== '--json');
      if (unknown.length) throw new UsageError(`unknown flag for info: ${unknown[0]}`);
      const info = backendInfo();
      console.log(argv.includes('--json') ? JSON.stringify(info, null, 2) : formatInfo(info));
      return 0;
    },
  },
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

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
