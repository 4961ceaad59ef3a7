// A reader of MATLAB level-5 MAT-files, as much as the ILSVRC devkit's meta.mat needs: numeric
// arrays, char arrays, cell arrays and struct arrays, compressed (miCOMPRESSED, zlib) or not,
// little-endian. Every length is checked against the file; anything else is an error naming it.
import * as zlib from 'zlib';

export type MatValue = number[] | string | MatValue[] | Record<string, MatValue>[];

const MI = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, INT64: 12, UINT64: 13, MATRIX: 14, COMPRESSED: 15, UTF8: 16 };
const MX = { CELL: 1, STRUCT: 2, CHAR: 4 };

/** The variables of a MAT-file, by name. */
export function readMatFile(buf: Buffer, file: string): Map<string, MatValue> {
  const fail = (why: string): never => {
    throw new Error(`${file}: ${why}`);
  };
  if (buf.length < 128) fail('not a MAT-file (shorter than its 128-byte header)');
  if (buf.toString('latin1', 0, 6) !== 'MATLAB') fail('not a level-5 MAT-file (no MATLAB header; a v7.3 file is HDF5 and not read)');
  if (buf.toString('latin1', 126, 128) !== 'IM') fail('a big-endian MAT-file, which is not read');
  const vars = new Map<string, MatValue>();
  let at = 128;
  while (at + 8 <= buf.length) {
    const el = element(buf, at, fail);
    at = el.next;
    let data = el.data, type = el.type;
    if (type === MI.COMPRESSED) {
      try {
        data = zlib.inflateSync(data);
      } catch (err) {
        fail(`a compressed variable does not inflate: ${(err as Error).message}`);
      }
      const inner = element(data, 0, fail);
      type = inner.type;
      data = inner.data;
    }
    if (type !== MI.MATRIX) continue;
    const { name, value } = matrix(data, fail);
    vars.set(name, value);
  }
  return vars;
}

/** One data element at `at`: its type, its data, and where the next one starts. */
function element(buf: Buffer, at: number, fail: (why: string) => never): { type: number; data: Buffer; next: number } {
  if (at + 8 > buf.length) fail(`a data element at byte ${at} runs past the end (truncated?)`);
  const first = buf.readUInt32LE(at);
  if (first >>> 16) {
    // small data element: type and size in one word, up to 4 bytes of data in the next
    const n = first >>> 16;
    if (n > 4) fail(`a small data element at byte ${at} claims ${n} bytes`);
    return { type: first & 0xffff, data: buf.subarray(at + 4, at + 4 + n), next: at + 8 };
  }
  const n = buf.readUInt32LE(at + 4);
  if (at + 8 + n > buf.length) fail(`a data element at byte ${at} (${n} bytes) runs past the end (truncated?)`);
  const next = first === MI.COMPRESSED ? at + 8 + n : at + 8 + Math.ceil(n / 8) * 8;
  return { type: first, data: buf.subarray(at + 8, at + 8 + n), next };
}

function numbers(type: number, d: Buffer, fail: (why: string) => never): number[] {
  const size: Record<number, number> = { [MI.INT8]: 1, [MI.UINT8]: 1, [MI.UTF8]: 1, [MI.INT16]: 2, [MI.UINT16]: 2, [MI.INT32]: 4, [MI.UINT32]: 4, [MI.SINGLE]: 4, [MI.DOUBLE]: 8, [MI.INT64]: 8, [MI.UINT64]: 8 };
  const s = size[type];
  if (!s) fail(`a numeric element of type ${type}, which is not read`);
  const out: number[] = [];
  for (let i = 0; i + s <= d.length; i += s) {
    switch (type) {
      case MI.INT8: out.push(d.readInt8(i)); break;
      case MI.UINT8: case MI.UTF8: out.push(d.readUInt8(i)); break;
      case MI.INT16: out.push(d.readInt16LE(i)); break;
      case MI.UINT16: out.push(d.readUInt16LE(i)); break;
      case MI.INT32: out.push(d.readInt32LE(i)); break;
      case MI.UINT32: out.push(d.readUInt32LE(i)); break;
      case MI.SINGLE: out.push(d.readFloatLE(i)); break;
      case MI.DOUBLE: out.push(d.readDoubleLE(i)); break;
      case MI.INT64: out.push(Number(d.readBigInt64LE(i))); break;
      case MI.UINT64: out.push(Number(d.readBigUInt64LE(i))); break;
    }
  }
  return out;
}

/** A miMATRIX's contents: flags, dimensions, name, then its class's data. */
function matrix(d: Buffer, fail: (why: string) => never): { name: string; value: MatValue } {
  if (d.length === 0) return { name: '', value: [] };  // an empty array
  let at = 0;
  const next = () => {
    const el = element(d, at, fail);
    at = el.next;
    return el;
  };
  const flags = next();
  const cls = flags.data.readUInt32LE(0) & 0xff;
  const dims = numbers(MI.INT32, next().data, fail);
  const name = next().data.toString('latin1');
  const count = dims.reduce((a, b) => a * b, 1);
  if (cls === MX.STRUCT) {
    const fieldLength = numbers(MI.INT32, next().data, fail)[0];
    const namesData = next().data;
    const fields: string[] = [];
    for (let i = 0; i + fieldLength <= namesData.length; i += fieldLength)
      fields.push(namesData.toString('latin1', i, i + fieldLength).replace(/\0.*$/s, ''));
    const out: Record<string, MatValue>[] = [];
    for (let e = 0; e < count; e++) {
      const rec: Record<string, MatValue> = {};
      for (const f of fields) {
        const el = next();
        if (el.type !== MI.MATRIX) fail(`struct field ${f} is not a matrix element`);
        rec[f] = matrix(el.data, fail).value;
      }
      out.push(rec);
    }
    return { name, value: out };
  }
  if (cls === MX.CELL) {
    const out: MatValue[] = [];
    for (let e = 0; e < count; e++) {
      const el = next();
      if (el.type !== MI.MATRIX) fail('a cell that is not a matrix element');
      out.push(matrix(el.data, fail).value);
    }
    return { name, value: out };
  }
  const real = next();
  if (cls === MX.CHAR) {
    // column-major (rows, cols): read row by row
    const text = real.type === MI.UTF8 ? Array.from(real.data.toString('utf8')).map((c) => c.codePointAt(0)!) : numbers(real.type, real.data, fail);
    const [rows, cols] = [dims[0], count / Math.max(1, dims[0])];
    const lines: string[] = [];
    for (let r = 0; r < rows; r++) {
      let s = '';
      for (let c = 0; c < cols; c++) s += String.fromCodePoint(text[c * rows + r] ?? 32);
      lines.push(s);
    }
    return { name, value: lines.join('\n') };
  }
  if (cls >= 6 && cls <= 15) return { name, value: numbers(real.type, real.data, fail) };
  return fail(`variable ${name || '(unnamed)'} has MATLAB class ${cls}, which is not read`);
}
