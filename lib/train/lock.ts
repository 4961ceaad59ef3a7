// The run folder's lock: one training run at a time per --out. The lock is a file, RUN/lock,
// created exclusively (O_EXCL) and holding the owner's pid, host and start time. A second run
// is refused with the holder named. A lock whose process is gone (same host, pid not alive) is
// stale: it is taken over, with a message. A lock from another host cannot be checked from
// here, so it is refused and the message says how to remove it. The lock is released when the
// run ends, on errors too, and when the process exits (a second Ctrl-C calls process.exit).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken */
  started: string;
}

export interface RunLock {
  file: string;
  release(): void;
}

export function lockFile(dir: string): string {
  return path.join(dir, 'lock');
}

function readOwner(file: string): LockOwner | null {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8'));
    return Number.isSafeInteger(o.pid) && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists on this machine. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describeOwner(o: LockOwner): string {
  return `process ${o.pid} on ${o.host}, since ${o.started}`;
}

/**
 * Takes the lock of run folder `dir` (which must exist), or throws naming the run that holds it.
 * `log` hears about a stale lock being taken over.
 */
export function acquireRunLock(dir: string, log: (line: string) => void = () => {}): RunLock {
  const file = lockFile(dir);
  const me: LockOwner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  const text = JSON.stringify(me) + '\n';
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, text, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw err;
    }
    const owner = readOwner(file);
    if (owner && owner.host !== me.host)
      throw new Error(`${dir} is in use by ${describeOwner(owner)} (its lock file ${file}); if that run is gone, delete the lock file`);
    if (owner && (owner.pid === me.pid || alive(owner.pid)))
      throw new Error(`${dir} is in use by another training run: ${describeOwner(owner)} (lock file ${file}); use another --out, or wait for it to finish`);
    // Stale (or unreadable: a writer killed between creating and filling it). Move it aside
    // atomically, so that of two runs taking it over only one succeeds, then check that what
    // was moved is still the stale lock that was judged and not a live one taken meanwhile.
    const aside = `${file}.stale-${process.pid}`;
    try {
      fs.renameSync(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;  // someone else moved it: try again
      throw err;
    }
    const moved = readOwner(aside);
    if (moved && owner && (moved.pid !== owner.pid || moved.started !== owner.started)) {
      try { fs.linkSync(aside, file); } catch { /* a third run holds it now */ }
      fs.rmSync(aside, { force: true });
      throw new Error(`${dir} is in use by another training run: ${describeOwner(moved)} (lock file ${file})`);
    }
    fs.rmSync(aside, { force: true });
    log(owner
      ? `taking over a stale lock on ${dir}: ${describeOwner(owner)} is no longer running`
      : `taking over an unreadable lock file ${file}`);
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    // only our own lock: never delete one another run took over meanwhile
    const owner = readOwner(file);
    if (owner && owner.pid === me.pid && owner.started === me.started) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { file, release };
}
