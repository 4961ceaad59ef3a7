// Starting tests under mpirun: whether this machine can (the addon was built with MPI and
// mpirun is on the PATH), and a run of N ranks with Open MPI's settings for CI (as root, more
// ranks than cores).
import { spawn } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { commUnavailable } from '../lib/core/comm';

/** Why MPI tests cannot run here, or null. */
export function mpiUnavailable(): string | null {
  const why = commUnavailable('mpi');
  if (why) return why;
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'mpirun not found (install openmpi-bin)';
  return null;
}

export interface RanksResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** the JSON lines the ranks printed, by rank */
  lines: Record<string, unknown>[];
}

/** Runs `node script args` in `ranks` processes under mpirun; env reaches every rank. */
export function mpirun(ranks: number, script: string, args: string[] = [], env: Record<string, string> = {}, timeoutMs = 240_000): Promise<RanksResult> {
  const started = Date.now();
  const forward = Object.keys(env).flatMap((k) => ['-x', k]);
  const child = spawn('mpirun', ['--oversubscribe', '--bind-to', 'none', '-np', String(ranks), ...forward, process.execPath, script, ...args], {
    env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1', ...env },
  });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      lines.sort((a, b) => Number(a.rank) - Number(b.rank));
      resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000, lines });
    });
  });
}
