// One message shape for every bad argument: "<op>: Expected <what> for <arg> but received <got>".

export class ArgumentError extends Error {
  constructor(
    readonly op: string,
    readonly argument: string,
    readonly expected: string,
    readonly received: string,
  ) {
    super(`${op}: Expected ${expected} for ${argument} but received ${received}`);
    this.name = 'ArgumentError';
  }
}

/** A short, readable description of any value, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
