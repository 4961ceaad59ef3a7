// TensorBoard event files (what `tensorboard --logdir` reads): a sequence of records, each
//   uint64 length (LE) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data
// where data is an Event protobuf: wall_time (1, double), step (2, int64), file_version (3,
// string) in the first record, summary (5) in the rest; a Summary holds Values of tag (1,
// string) and simple_value (2, float). The mask is ((crc >>> 15) | (crc << 17)) + 0xa282ead8.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writer } from './onnx';

let table: Uint32Array | null = null;

/** CRC-32C (Castagnoli, reflected polynomial 0x82f63b78). */
export function crc32c(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One record around `data`. */
export function eventRecord(data: Uint8Array): Buffer {
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(data.length), 0);
  head.writeUInt32LE(maskedCrc32c(head.subarray(0, 8)), 8);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([head, data, tail]);
}

function event(wallTime: number, step: number): Writer {
  const w = new Writer().double(1, wallTime);
  if (step) w.int(2, step);
  return w;
}

/** An Event holding scalar summaries at `step`. */
export function scalarEvent(wallTime: number, step: number, scalars: Record<string, number>): Buffer {
  const summary = new Writer();
  for (const [tag, value] of Object.entries(scalars)) summary.message(1, new Writer().bytes(1, tag).float(2, value));
  return event(wallTime, step).message(5, summary).finish();
}

/**
 * Appends scalars to one event file in `dir` (events.out.tfevents.<seconds>.<host>). A fresh
 * run (not a resumed one) first removes the event files an earlier run left there.
 */
export class EventWriter {
  readonly file: string;

  constructor(dir: string, o: { fresh: boolean }) {
    fs.mkdirSync(dir, { recursive: true });
    if (o.fresh) for (const f of fs.readdirSync(dir)) if (f.startsWith('events.out.tfevents.')) fs.rmSync(path.join(dir, f));
    const now = Date.now() / 1000;
    let file = path.join(dir, `events.out.tfevents.${Math.floor(now)}.${os.hostname()}`);
    for (let k = 1; fs.existsSync(file); k++) file = path.join(dir, `events.out.tfevents.${Math.floor(now)}.${os.hostname()}.${k}`);
    this.file = file;
    fs.writeFileSync(file, eventRecord(event(now, 0).bytes(3, 'brain.Event:2').finish()));
  }

  scalars(step: number, values: Record<string, number>): void {
    fs.appendFileSync(this.file, eventRecord(scalarEvent(Date.now() / 1000, step, values)));
  }
}
