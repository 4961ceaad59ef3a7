// info: the version and the backends compiled in and usable.
import { backendInfo, formatInfo } from '../core/info';
import { Command, UsageError } from './command';

export const infoCommand: Command = {
  summary: 'show the version and the backends compiled in and usable',
  usage: 'info [--json]',
  run(argv) {
    const unknown = argv.filter((a) => a !== '--json');
    if (unknown.length) throw new UsageError(`unknown flag for info: ${unknown[0]}`);
    const info = backendInfo();
    console.log(argv.includes('--json') ? JSON.stringify(info, null, 2) : formatInfo(info));
    return 0;
  },
};
