import test from 'ava';
import { Writable } from 'stream';
import { Progress, formatDuration } from '../../lib/data/progress';

test('the progress line shows count, percentage, images/s and ETA', (t) => {
  const p = new Progress('prepare train', 200, false);
  p.tick(50);
  const start = (p as unknown as { start: number }).start;
  const line = p.line(start + 10_000);
  t.is(line, 'prepare train [######..................] 50/200  25% 5 img/s ETA 0:30');
  t.is(formatDuration(3725), '1:02:05');
  t.is(formatDuration(Infinity), '--:--');
});

test('the bar is drawn only when enabled, and messages go above it', (t) => {
  const chunks: string[] = [];
  const sink = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
  const off = new Progress('x', 3, false, sink);
  off.tick(3);
  off.finish();
  t.deepEqual(chunks, []);
  const on = new Progress('x', 3, true, sink);
  on.tick();
  on.above(() => chunks.push('warning\n'));
  on.tick(2);
  on.finish();
  const text = chunks.join('');
  t.regex(text, /\r\x1b\[Kwarning\n\rx \[/);
  t.regex(text, /3\/3 100%/);
  t.true(text.endsWith('\n'));
});
