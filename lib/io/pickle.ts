// A restricted reader of Python pickles: exactly what a PyTorch state_dict holds and nothing
// more. Pickles are programs (GLOBAL names any Python callable and REDUCE calls it), so this
// is not an unpickler: it interprets the data opcodes (numbers, strings, tuples, lists,
// dicts, the memo), and of the code-running ones it knows a fixed list of names, each
// replaced by a function written here (an OrderedDict becomes a Map, _rebuild_tensor_v2 a
// tensor record). Any other global, any other call and any other opcode is refused with an
// error naming it. Nothing in the file is ever executed.

/** What a persistent id ('storage', type, key, location, numel) resolves to. */
export interface StorageRef {
  kind: 'storage';
  dtype: StorageDtype;
  key: string;
  location: string;
  numel: number;
}

/** torch._utils._rebuild_tensor_v2's arguments: a strided view of a storage. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  /** in elements */
  offset: number;
  shape: number[];
  stride: number[];
}

export type StorageDtype = 'float32' | 'float64' | 'float16' | 'bfloat16';

/** The torch storage types a state_dict of float weights may name, with their element types. */
const STORAGE_TYPES: Record<string, StorageDtype> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
};

interface GlobalRef {
  kind: 'global';
  name: string;
}

interface Tuple {
  kind: 'tuple';
  items: PickleValue[];
}

export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array
  | PickleValue[] | Map<PickleValue, PickleValue> | Tuple | GlobalRef | StorageRef | TensorRef;

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

/** The callables a state_dict's pickle may name (module.name), and what stands in for each. */
const GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGE_TYPES).map((t) => `torch.${t}`),
]);

export class PickleError extends Error {}

/**
 * Reads a state_dict pickle: tensors come back as TensorRefs into storages that the caller
 * reads from the archive; `source` names the file in errors.
 */
export function readStateDictPickle(buf: Uint8Array, source: string): PickleValue {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: Slot[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let at = 0;
  const fail = (why: string): never => {
    throw new PickleError(`${source}: ${why}`);
  };
  const need = (n: number) => {
    if (at + n > buf.length) fail(`the pickle ends inside an opcode at byte ${at} (truncated file)`);
  };
  const u8 = () => (need(1), buf[at++]);
  const u16 = () => (need(2), (at += 2), view.getUint16(at - 2, true));
  const u32 = () => (need(4), (at += 4), view.getUint32(at - 4, true));
  const i32 = () => (need(4), (at += 4), view.getInt32(at - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(at, true);
    at += 8;
    if (v > BigInt(buf.length)) fail(`a length of ${v} bytes exceeds the pickle`);
    return Number(v);
  };
  const bytes = (n: number) => (need(n), (at += n), buf.subarray(at - n, at));
  const text = (n: number) => Buffer.from(bytes(n)).toString('utf8');
  const line = () => {
    const end = buf.indexOf(0x0a, at);
    if (end < 0) fail('a GLOBAL name has no end of line (truncated file)');
    const s = Buffer.from(buf.subarray(at, end)).toString('latin1');
    at = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    if (!stack.length) fail(`the pickle pops from an empty stack at byte ${at}`);
    const v = stack.pop()!;
    if (v === MARK) fail(`the pickle pops a mark as a value at byte ${at}`);
    return v as PickleValue;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail(`the pickle reads an empty stack at byte ${at}`);
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) fail(`the pickle closes a mark it never opened at byte ${at}`);
    const items = stack.splice(m!) as Slot[];
    items.shift();  // the mark itself
    return items as PickleValue[];
  };
  const global = (module: string, name: string): GlobalRef => {
    const full = `${module}.${name}`;
    if (!GLOBALS.has(full))
      fail(`refused: the pickle names ${full}, which a state_dict does not hold (allowed: ${[...GLOBALS].join(', ')}); it is not executed`);
    return { kind: 'global', name: full };
  };
  const setItems = (target: PickleValue, items: PickleValue[]) => {
    if (!(target instanceof Map)) fail('the pickle sets items on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) (target as Map<PickleValue, PickleValue>).set(items[i], items[i + 1]);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break;                                 // PROTO
      case 0x95: bytes(8); break;                             // FRAME: a length hint
      case 0x2e: {                                            // STOP
        const v = pop();
        return v;
      }
      case 0x28: marks.push(stack.length); stack.push(MARK); break;  // MARK
      case 0x29: stack.push({ kind: 'tuple', items: [] }); break;   // EMPTY_TUPLE
      case 0x5d: stack.push([]); break;                       // EMPTY_LIST
      case 0x7d: stack.push(new Map()); break;                // EMPTY_DICT
      case 0x74: stack.push({ kind: 'tuple', items: popMark() }); break;  // TUPLE
      case 0x85: stack.push({ kind: 'tuple', items: [pop()] }); break;    // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push({ kind: 'tuple', items: [a, b] }); break; }  // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push({ kind: 'tuple', items: [a, b, c] }); break; }  // TUPLE3
      case 0x6c: stack.push(popMark()); break;                // LIST
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) fail('APPEND to something that is not a list'); (l as PickleValue[]).push(v); break; }
      case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l)) fail('APPENDS to something that is not a list'); (l as PickleValue[]).push(...items); break; }
      case 0x64: { const items = popMark(); const d = new Map<PickleValue, PickleValue>(); setItems(d, items); stack.push(d); break; }  // DICT
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; }  // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; }      // SETITEMS
      case 0x4e: stack.push(null); break;                     // NONE
      case 0x88: stack.push(true); break;                     // NEWTRUE
      case 0x89: stack.push(false); break;                    // NEWFALSE
      case 0x4a: stack.push(i32()); break;                    // BININT
      case 0x4b: stack.push(u8()); break;                     // BININT1
      case 0x4d: stack.push(u16()); break;                    // BININT2
      case 0x8a: {                                            // LONG1: little-endian two's complement
        const b = bytes(u8());
        let v = 0n;
        for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: need(8); stack.push(view.getFloat64(at, false)); at += 8; break;  // BINFLOAT (big-endian)
      case 0x58: stack.push(text(u32())); break;              // BINUNICODE
      case 0x8c: stack.push(text(u8())); break;               // SHORT_BINUNICODE
      case 0x8d: stack.push(text(u64())); break;              // BINUNICODE8
      case 0x55: stack.push(Buffer.from(bytes(u8())).toString('latin1')); break;  // SHORT_BINSTRING
      case 0x54: stack.push(Buffer.from(bytes(u32())).toString('latin1')); break; // BINSTRING
      case 0x43: stack.push(Uint8Array.from(bytes(u8()))); break;                 // SHORT_BINBYTES
      case 0x42: stack.push(Uint8Array.from(bytes(u32()))); break;                // BINBYTES
      case 0x71: memo.set(u8(), top()); break;                // BINPUT
      case 0x72: memo.set(u32(), top()); break;               // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break;           // MEMOIZE
      case 0x68: case 0x6a: {                                 // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`the pickle reads memo entry ${i}, which was never stored`);
        stack.push(memo.get(i)!);
        break;
      }
      case 0x30: pop(); break;                                // POP
      case 0x31: popMark(); break;                            // POP_MARK
      case 0x63: { const module = line(); stack.push(global(module, line())); break; }  // GLOBAL
      case 0x93: {                                            // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL with a name that is not a string');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x51: stack.push(persistent(pop(), fail)); break;  // BINPERSID
      case 0x52: { const args = pop(), fn = pop(); stack.push(call(fn, args, fail)); break; }  // REDUCE
      case 0x62: {                                            // BUILD: object state, which a state_dict only uses for _metadata
        const state = pop(), target = top();
        if (!(target instanceof Map) && !isTensor(target)) fail('BUILD on something other than an OrderedDict or a tensor');
        void state;
        break;
      }
      default:
        fail(`refused: pickle opcode 0x${op.toString(16).padStart(2, '0')} (${JSON.stringify(String.fromCharCode(op))}) at byte ${at - 1} is not one a state_dict uses`);
    }
  }
}

function isTensor(v: PickleValue): v is TensorRef {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Uint8Array) && (v as TensorRef).kind === 'tensor';
}

function tupleItems(v: PickleValue, what: string, fail: (why: string) => never): PickleValue[] {
  if (typeof v !== 'object' || v === null || (v as Tuple).kind !== 'tuple') fail(`${what} is not a tuple`);
  return (v as Tuple).items;
}

function ints(v: PickleValue, what: string, fail: (why: string) => never): number[] {
  return tupleItems(v, what, fail).map((x) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) fail(`${what} holds ${String(x)}, not a size`);
    return x as number;
  });
}

/** A persistent id: torch.save's ('storage', storage type, key, location, numel). */
function persistent(pid: PickleValue, fail: (why: string) => never): StorageRef {
  const [tag, type, key, location, numel] = tupleItems(pid, 'a persistent id', fail);
  if (tag !== 'storage') fail(`refused: a persistent id of kind ${JSON.stringify(tag)} (only tensor storages are read)`);
  const name = (type as GlobalRef)?.kind === 'global' ? (type as GlobalRef).name.replace(/^torch\./, '') : '';
  const dtype = STORAGE_TYPES[name];
  if (!dtype) fail(`a storage of type ${String((type as GlobalRef)?.name ?? type)} (only float storages are read)`);
  if (typeof key !== 'string' || !/^[0-9A-Za-z_]+$/.test(key)) fail(`a storage key ${JSON.stringify(key)} that is not a plain name`);
  if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0) fail(`storage ${String(key)} has a bad element count`);
  return { kind: 'storage', dtype, key: key as string, location: String(location), numel: numel as number };
}

/** REDUCE: the allowed callables, each done here. */
function call(fn: PickleValue, args: PickleValue, fail: (why: string) => never): PickleValue {
  const name = (fn as GlobalRef)?.kind === 'global' ? (fn as GlobalRef).name : '';
  const a = tupleItems(args, `the arguments of ${name || 'a call'}`, fail);
  switch (name) {
    case 'collections.OrderedDict':
      if (a.length) fail('OrderedDict called with arguments');
      return new Map();
    case 'torch._utils._rebuild_tensor_v2': {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      const [storage, offset, size, stride] = a;
      if ((storage as StorageRef)?.kind !== 'storage') fail('_rebuild_tensor_v2 without a storage');
      if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) fail('_rebuild_tensor_v2 with a bad storage offset');
      const shape = ints(size, 'a tensor size', fail), strides = ints(stride, 'a tensor stride', fail);
      if (shape.length !== strides.length) fail(`a tensor with size (${shape}) but stride (${strides})`);
      return { kind: 'tensor', storage: storage as StorageRef, offset: offset as number, shape, stride: strides };
    }
    case 'torch._utils._rebuild_parameter': {
      // (tensor, requires_grad, backward_hooks): an nn.Parameter is its tensor here
      if (!isTensor(a[0])) fail('_rebuild_parameter without a tensor');
      return a[0];
    }
    default:
      return fail(`refused: the pickle calls ${name || 'something that is not an allowed global'}; it is not executed`);
  }
}
