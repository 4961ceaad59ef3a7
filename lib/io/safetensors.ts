// Checkpoints in the safetensors format (an 8-byte little-endian header length, a JSON
// header naming each tensor's dtype, shape and byte range, then the raw little-endian data),
// so other tools read the weights. Optimizer velocities are stored beside the weights as
// "velocity/<name>"; the run state (config, epoch, lr, schedule, RNG) is JSON in the
// header's __metadata__. Writes go to a temporary file that is renamed into place, so a
// crash never leaves a broken checkpoint.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export interface SafeTensors {
  tensors: Map<string, NamedArray>;
  metadata: Record<string, string>;
}

export function encodeSafetensors(tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);  // keeps the data 8-byte aligned
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const t of tensors.values()) {
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    src.copy(out, at);  // Float32Array is little-endian on every platform Node runs on here
    at += src.length;
  }
  return out;
}

export function decodeSafetensors(buf: Buffer, file = 'checkpoint'): SafeTensors {
  const fail = (why: string): never => {
    throw new Error(`${file}: not a valid safetensors file (${why})`);
  };
  if (buf.length < 8) fail(`${buf.length} bytes`);
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (headerLength > buf.length - 8) fail(`header length ${headerLength} exceeds the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8'));
  } catch (err) {
    return fail(`header is not JSON: ${(err as Error).message}`);
  }
  const base = 8 + headerLength;
  const tensors = new Map<string, NamedArray>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (e.dtype !== 'F32') fail(`tensor ${name} has dtype ${e.dtype}; only F32 is supported`);
    const [begin, end] = e.data_offsets ?? [];
    const count = (e.shape ?? []).reduce((a, b) => a * b, 1);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || end - begin !== count * 4 || base + end > buf.length)
      fail(`tensor ${name}: byte range [${begin}, ${end}) does not match shape [${e.shape}] or the file`);
    const data = new Float32Array(count);
    Buffer.from(data.buffer).set(buf.subarray(base + begin, base + end));
    tensors.set(name, { shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** Writes data to file atomically: a temporary file in the same folder, fsync, rename. */
export function writeFileAtomic(file: string, data: Buffer | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at, bytes.length - at);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** `what` names the file in errors: 'checkpoint', 'feature index'. */
export function readSafetensorsFile(file: string, what = 'checkpoint'): SafeTensors {
  if (!fs.existsSync(file)) throw new Error(`${what} not found: ${file}`);
  return decodeSafetensors(fs.readFileSync(file), file);
}
