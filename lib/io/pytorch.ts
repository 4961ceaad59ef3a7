// PyTorch checkpoints: a state_dict written by torch.save (the zip format of PyTorch 1.6 and
// later: <name>/data.pkl, a pickle whose tensors point into <name>/data/<key>, the raw
// little-endian storages), read with the restricted pickle reader, and weight files by
// content: such a zip, or safetensors. Tensors come back as float32 host arrays by name.
import * as fs from 'node:fs';
import { decodeSafetensors, NamedArray } from './safetensors';
import { PickleValue, readStateDictPickle, StorageDtype, StorageRef, TensorRef } from './pickle';
import { ZipArchive } from './zip';

const BYTES: Record<StorageDtype, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2 };

/** A state_dict saved with torch.save, as float32 arrays by name (in the file's order). */
export function decodePytorch(buf: Buffer, file = 'checkpoint'): Map<string, NamedArray> {
  if (buf.length >= 2 && buf[0] === 0x80 && buf[1] <= 5)
    throw new Error(`${file}: the legacy torch.save format (PyTorch before 1.6) is not read; save it again with a current PyTorch, or as safetensors`);
  const zip = new ZipArchive(buf, file);
  const pkl = zip.names().find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) throw new Error(`${file}: a zip without <name>/data.pkl, so not a torch.save file`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const order = zip.entries.has(`${prefix}byteorder`) ? zip.read(`${prefix}byteorder`).toString('latin1').trim() : 'little';
  if (order !== 'little') throw new Error(`${file}: tensors stored ${order}-endian; only little-endian files are read`);
  const root = readStateDictPickle(zip.read(pkl), file);
  const dict = stateDictOf(root, file);
  const storages = new Map<string, Float32Array>();
  const storage = (s: StorageRef): Float32Array => {
    let data = storages.get(s.key);
    if (!data) {
      const name = `${prefix}data/${s.key}`;
      if (!zip.entries.has(name)) throw new Error(`${file}: storage ${s.key} is missing from the archive`);
      const raw = zip.read(name);
      if (raw.length < s.numel * BYTES[s.dtype]) throw new Error(`${file}: storage ${s.key} holds ${raw.length} bytes, fewer than its ${s.numel} ${s.dtype} elements`);
      data = toFloat32(raw, s.dtype, s.numel);
      storages.set(s.key, data);
    }
    return data;
  };
  const out = new Map<string, NamedArray>();
  for (const [key, value] of dict) {
    if (typeof key !== 'string') throw new Error(`${file}: a state_dict key that is not a string`);
    const t = value as TensorRef;
    if (t === null || typeof t !== 'object' || t.kind !== 'tensor') continue;  // e.g. num_batches_tracked is a tensor too; plain numbers are skipped
    out.set(key, { shape: t.shape, data: gather(storage(t.storage), t, `${file}: ${key}`) });
  }
  return out;
}

/**
 * The state_dict inside what torch.save wrote: the dict itself, or a training checkpoint's
 * 'state_dict' / 'model' entry. DataParallel's 'module.' prefixes are removed.
 */
function stateDictOf(root: PickleValue, file: string): Map<PickleValue, PickleValue> {
  if (!(root instanceof Map)) throw new Error(`${file}: holds a ${describeValue(root)}, not a state_dict`);
  for (const k of ['state_dict', 'model', 'model_state_dict']) {
    const inner = root.get(k);
    if (inner instanceof Map) return stateDictOf(inner, file);
  }
  const keys = [...root.keys()];
  if (keys.length && keys.every((k) => typeof k === 'string' && k.startsWith('module.')))
    return new Map([...root].map(([k, v]) => [(k as string).slice('module.'.length), v]));
  return root;
}

function describeValue(v: PickleValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object' && 'kind' in v) return v.kind;
  return typeof v;
}

function toFloat32(raw: Buffer, dtype: StorageDtype, numel: number): Float32Array {
  const out = new Float32Array(numel);
  if (dtype === 'float32') {
    // little-endian (checked by the caller), as Float32Array is on every platform Node runs on here
    new Uint8Array(out.buffer).set(raw.subarray(0, numel * 4));
    return out;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < numel; i++) {
    switch (dtype) {
      case 'float64': out[i] = view.getFloat64(8 * i, true); break;
      case 'bfloat16': out[i] = bitsToFloat(view.getUint16(2 * i, true) << 16); break;
      case 'float16': out[i] = halfToFloat(view.getUint16(2 * i, true)); break;
    }
  }
  return out;
}

const bits = new DataView(new ArrayBuffer(4));
function bitsToFloat(u: number): number {
  bits.setUint32(0, u >>> 0);
  return bits.getFloat32(0);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The tensor's elements in row-major order from its strided view of the storage. */
function gather(storage: Float32Array, t: TensorRef, what: string): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  // a view may repeat elements (stride 0), but not into more memory than a typed array holds
  if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1) throw new Error(`${what}: a tensor of ${n} elements (shape [${t.shape}]) is too large to read`);
  const out = new Float32Array(n);
  if (n === 0) return out;
  let last = t.offset;
  for (let d = 0; d < t.shape.length; d++) last += (t.shape[d] - 1) * t.stride[d];
  if (last >= storage.length) throw new Error(`${what}: its view reaches element ${last} of a storage of ${storage.length}`);
  // row-major contiguous (what state_dicts hold): one copy
  let contiguous = true;
  for (let d = t.shape.length - 1, step = 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.stride[d] !== step) contiguous = false;
    step *= t.shape[d];
  }
  if (contiguous) {
    out.set(storage.subarray(t.offset, t.offset + n));
    return out;
  }
  const idx = new Array(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let at = t.offset;
    for (let d = 0; d < idx.length; d++) at += idx[d] * t.stride[d];
    out[i] = storage[at];
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** The kind of weight file `buf` holds, by its first bytes (never by its name). */
export function weightFileKind(buf: Buffer): 'pytorch' | 'safetensors' | 'unknown' {
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50) return 'pytorch';
  if (buf.length >= 2 && buf[0] === 0x80 && buf[1] <= 5) return 'pytorch';  // legacy: decodePytorch says so
  if (buf.length >= 9) {
    const n = Number(buf.readBigUInt64LE(0));
    if (n > 1 && 8 + n <= buf.length && buf[8] === 0x7b) return 'safetensors';  // '{'
  }
  return 'unknown';
}

/** The tensors of a .pth (torch.save) or safetensors file, told apart by content. */
export function readWeightsFile(file: string): { kind: 'pytorch' | 'safetensors'; tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  if (!fs.existsSync(file)) throw new Error(`weights file not found: ${file}`);
  const buf = fs.readFileSync(file);
  const kind = weightFileKind(buf);
  if (kind === 'pytorch') return { kind, tensors: decodePytorch(buf, file), metadata: {} };
  if (kind === 'safetensors') {
    const st = decodeSafetensors(buf, file);
    return { kind, tensors: st.tensors, metadata: st.metadata };
  }
  throw new Error(`${file}: neither a torch.save file (zip) nor safetensors`);
}
