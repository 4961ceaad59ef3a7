// What a command is: one entry of the table in main.ts.

export interface Command {
  summary: string;
  usage: string;
  /** the flags' help lines, printed by `<command> --help` */
  help?: string;
  run(argv: string[]): Promise<number> | number;
}

export class UsageError extends Error {}
