// A reader of zip archives, as much as torch.save's files need: the central directory (with
// its zip64 extension), stored and deflated entries, each entry's CRC-32 checked. Every
// offset and length is checked against the file, so a truncated or damaged archive is an
// error that says so, never a read past the end.
import * as zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50, EOCD64 = 0x06064b50, EOCD64_LOCATOR = 0x07064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();

  constructor(private readonly buf: Buffer, private readonly file = 'zip archive') {
    const eocd = this.findEnd();
    let count = this.u16(eocd + 10), cdSize = this.u32(eocd + 12), cdOffset = this.u32(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // zip64: the locator sits just before the end record and points at the zip64 end record
      const loc = eocd - 20;
      if (loc < 0 || this.u32(loc) !== EOCD64_LOCATOR) this.fail('zip64 sizes without a zip64 end record locator');
      const end64 = this.u64(loc + 8);
      if (this.u32(end64) !== EOCD64) this.fail('the zip64 end record is missing');
      count = this.u64(end64 + 32);
      cdSize = this.u64(end64 + 40);
      cdOffset = this.u64(end64 + 48);
    }
    if (cdOffset + cdSize > buf.length) this.fail(`the central directory [${cdOffset}, ${cdOffset + cdSize}) lies past the end of the ${buf.length}-byte file (truncated?)`);
    let at = cdOffset;
    for (let i = 0; i < count; i++) {
      if (this.u32(at) !== CENTRAL) this.fail(`central directory entry ${i} has a bad signature`);
      const nameLength = this.u16(at + 28), extraLength = this.u16(at + 30), commentLength = this.u16(at + 32);
      const name = this.bytes(at + 46, nameLength).toString('utf8');
      const e: ZipEntry = {
        name, method: this.u16(at + 10), crc32: this.u32(at + 16), compressedSize: this.u32(at + 20), size: this.u32(at + 24), localOffset: this.u32(at + 42),
      };
      this.readZip64Extra(e, at + 46 + nameLength, extraLength);
      this.entries.set(name, e);
      at += 46 + nameLength + extraLength + commentLength;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The entry's bytes, inflated where deflated, its CRC-32 checked. */
  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (!e) this.fail(`no entry ${name}`);
    const at = e!.localOffset;
    if (this.u32(at) !== LOCAL) this.fail(`entry ${name}: bad local header signature`);
    const start = at + 30 + this.u16(at + 26) + this.u16(at + 28);
    const raw = this.bytes(start, e!.compressedSize, `entry ${name}`);
    let data: Buffer;
    if (e!.method === 0) data = raw;
    else if (e!.method === 8) {
      try {
        data = zlib.inflateRawSync(raw);
      } catch (err) {
        return this.fail(`entry ${name}: ${(err as Error).message}`);
      }
    } else return this.fail(`entry ${name}: compression method ${e!.method} is not supported (only stored and deflate)`);
    if (data.length !== e!.size) this.fail(`entry ${name}: ${data.length} bytes where the directory says ${e!.size}`);
    if (crc32(data) !== e!.crc32) this.fail(`entry ${name}: CRC-32 mismatch (damaged file)`);
    return data;
  }

  private readZip64Extra(e: ZipEntry, at: number, length: number): void {
    const end = at + length;
    while (at + 4 <= end) {
      const id = this.u16(at), size = this.u16(at + 2);
      if (id === 0x0001) {
        let p = at + 4;
        // present only for the fields whose 32-bit value is saturated, in this order
        if (e.size === 0xffffffff) { e.size = this.u64(p); p += 8; }
        if (e.compressedSize === 0xffffffff) { e.compressedSize = this.u64(p); p += 8; }
        if (e.localOffset === 0xffffffff) { e.localOffset = this.u64(p); p += 8; }
      }
      at += 4 + size;
    }
  }

  private findEnd(): number {
    const min = Math.max(0, this.buf.length - 22 - 0xffff);
    for (let at = this.buf.length - 22; at >= min; at--) if (this.buf.readUInt32LE(at) === EOCD) return at;
    return this.fail('no end of central directory record (not a zip file, or truncated)');
  }

  private fail(why: string): never {
    throw new Error(`${this.file}: ${why}`);
  }

  private bytes(at: number, n: number, what = 'a header'): Buffer {
    if (at < 0 || at + n > this.buf.length) this.fail(`${what} at byte ${at} (${n} bytes) lies past the end of the ${this.buf.length}-byte file (truncated?)`);
    return this.buf.subarray(at, at + n);
  }

  private u16(at: number): number {
    return this.bytes(at, 2).readUInt16LE(0);
  }

  private u32(at: number): number {
    return this.bytes(at, 4).readUInt32LE(0);
  }

  private u64(at: number): number {
    const v = this.bytes(at, 8).readBigUInt64LE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`a 64-bit size ${v} is out of range`);
    return Number(v);
  }
}

let table: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, reflected, as zip uses): zlib's where Node has it (20.15+), else here. */
export function crc32(data: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
  if (native) return native(data) >>> 0;
  return crc32js(data);
}

/** The same, table-driven in JavaScript. */
export function crc32js(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  const t = table;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
