// A one-line progress bar on stderr: `label [#####.....] done/total  pct  N img/s  ETA m:ss`.
// Drawn only when enabled (by default: when stderr is a terminal), at most 10 times a second.

export class Progress {
  private readonly start = Date.now();
  private last = 0;
  private done = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly enabled: boolean = Boolean(process.stderr.isTTY),
    private readonly stream: NodeJS.WritableStream = process.stderr,
  ) {}

  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    if (this.enabled && (now - this.last >= 100 || this.done >= this.total)) {
      this.last = now;
      this.draw(now);
    }
  }

  /** The current line (also what is drawn). */
  line(now = Date.now()): string {
    const seconds = Math.max(1e-3, (now - this.start) / 1000);
    const rate = this.done / seconds;
    const frac = this.total ? Math.min(1, this.done / this.total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ` +
      `${(100 * frac).toFixed(0).padStart(3)}% ${rate.toFixed(0)} img/s ETA ${formatDuration(eta)}`;
  }

  private draw(now: number): void {
    this.stream.write(`\r${this.line(now)}\x1b[K`);
    this.drawn = true;
  }

  /** Ends the line (when anything was drawn). */
  finish(): void {
    if (this.enabled) {
      this.draw(Date.now());
      this.stream.write('\n');
    } else if (this.drawn) this.stream.write('\n');
  }

  /** Runs `print` (which writes whole lines) with the bar cleared, then redraws the bar. */
  above(print: () => void): void {
    const bar = this.enabled && this.drawn;
    if (bar) this.stream.write('\r\x1b[K');
    print();
    if (bar) this.draw(Date.now());
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}
