// Declarative command-line flags: every flag has a type, a default and help text, and the
// usage text is made from the same table. Unknown flags and bad values are UsageErrors.

export type FlagType = 'string' | 'int' | 'number' | 'bool' | 'choice';

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean;
  /** for 'choice' */
  choices?: readonly string[];
  /** for 'int' and 'number' */
  min?: number;
  max?: number;
  /** the value's name in usage, e.g. DIR */
  value?: string;
  /** the command cannot run without it: "--name VALUE is required" */
  required?: boolean;
}

export class FlagError extends Error {}

export type FlagValues = Record<string, string | number | boolean | undefined>;

/**
 * Parses `--name value`, `--name=value` and `--switch` / `--no-switch`. Positional arguments
 * are returned apart when `allowPositional` is true, and are an error otherwise.
 */
export function parseFlags(command: string, argv: string[], specs: Record<string, FlagSpec>, allowPositional = false): { flags: FlagValues; positional: string[] } {
  const flags: FlagValues = {};
  const positional: string[] = [];
  for (const [name, s] of Object.entries(specs)) flags[name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    let spec = specs[name];
    if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.type === 'bool' && eq < 0) {
      flags[name.slice(3)] = false;
      continue;
    }
    if (!spec) throw new FlagError(`unknown flag for ${command}: --${name}`);
    if (spec.type === 'bool') {
      if (eq > 0) throw new FlagError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const raw = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--'))) throw new FlagError(`--${name} needs a value${spec.value ? ` (${spec.value})` : ''}`);
    flags[name] = convert(name, spec, raw);
  }
  if (positional.length && !allowPositional) throw new FlagError(`${command} takes no arguments (got ${positional.join(' ')})`);
  for (const [name, s] of Object.entries(specs))
    if (s.required && flags[name] === undefined) throw new FlagError(`--${name}${s.value ? ` ${s.value}` : ''} is required`);
  return { flags, positional };
}

function convert(name: string, spec: FlagSpec, raw: string): string | number {
  switch (spec.type) {
    case 'string':
      if (!raw) throw new FlagError(`--${name} needs a non-empty value`);
      return raw;
    case 'choice':
      if (!spec.choices!.includes(raw)) throw new FlagError(`--${name} must be one of ${spec.choices!.join(', ')}, not ${JSON.stringify(raw)}`);
      return raw;
    case 'int':
    case 'number': {
      const v = Number(raw);
      const ok = raw.trim() !== '' && Number.isFinite(v) && (spec.type === 'number' || Number.isSafeInteger(v));
      if (!ok) throw new FlagError(`--${name} must be ${spec.type === 'int' ? 'an integer' : 'a number'}, not ${JSON.stringify(raw)}`);
      if (spec.min !== undefined && v < spec.min) throw new FlagError(`--${name} must be at least ${spec.min}, not ${v}`);
      if (spec.max !== undefined && v > spec.max) throw new FlagError(`--${name} must be at most ${spec.max}, not ${v}`);
      return v;
    }
    default:
      return raw;
  }
}

/** The flags' help lines, e.g. `  --lr N            learning rate (default 0.01)`. */
export function flagHelp(specs: Record<string, FlagSpec>): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = `--${name}${s.type === 'bool' ? '' : ` ${s.value ?? (s.type === 'choice' ? s.choices!.join('|') : s.type === 'string' ? 'VALUE' : 'N')}`}`;
    const def = s.default === undefined || s.default === false ? '' : ` (default ${s.default})`;
    return [left, s.help + def + (s.required ? ' (required)' : '')] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`).join('\n');
}
