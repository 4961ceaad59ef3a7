// Shared by the benchmark scripts: flags and medians.
import { synchronize } from '../lib/core/tensor';

/** The value after `--name` on the command line, or the fallback. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Median milliseconds of f over `repeats` runs after one warm-up run; `after` gets each
 * result, untimed. With `device`, the clock stops only when that device has finished the
 * work f queued (GPU ops return before they run).
 */
export function timeMs<T>(repeats: number, f: () => T, after: (result: T) => void = () => {}, device = 'cpu'): number {
  after(f());
  synchronize(device);
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    const r = f();
    synchronize(device);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    after(r);
  }
  return median(ms);
}
