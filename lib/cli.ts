#!/usr/bin/env node
// `node lib/cli.js <command> [flags]` (and `npx alexnet`): the command line itself is in cli/.
import { main } from './cli/main';

export { main };

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
