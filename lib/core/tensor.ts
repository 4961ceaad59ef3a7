// Tensor: float32, NCHW, on one device, over a native buffer. dispose() frees the memory at
// once; otherwise the garbage collector frees it with the native handle. Views made by
// reshape() share their base's memory and never free it.
import { Device, DeviceLike } from './device';
import { ArgumentError, describe } from './errors';
import { native, NativeBuffer } from './native';

export type Shape = readonly number[];

/** Splits a non-negative integer seed below 2^53 into the (lo, hi) words Philox takes. */
export function seedWords(op: string, name: string, seed: number): { lo: number; hi: number } {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new ArgumentError(op, name, 'a non-negative integer below 2^53', describe(seed));
  return { lo: seed % 2 ** 32 >>> 0, hi: Math.floor(seed / 2 ** 32) };
}

export function checkShape(op: string, name: string, shape: unknown): Shape {
  if (
    !Array.isArray(shape) ||
    shape.length === 0 ||
    !shape.every((d) => Number.isSafeInteger(d) && (d as number) > 0)
  )
    throw new ArgumentError(op, name, 'a non-empty array of positive integers', describe(shape));
  return Object.freeze([...(shape as number[])]);
}

export function shapeSize(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Returns the CPU memory that disposed tensors left for reuse to the system (the backend
 * keeps freed buffers, up to a quarter of the machine's memory, because a training step
 * frees and allocates the same sizes every iteration). Returns the bytes released.
 */
export function releaseCachedMemory(): number {
  return native().releaseCachedMemory();
}

/**
 * Waits until every op queued on `device` has run. GPU ops are queued and return at once;
 * reading a tensor waits by itself, so only timing code needs this. A no-op on the cpu.
 */
export function synchronize(device: DeviceLike): void {
  const d = Device.parse(device, 'synchronize');
  native().synchronize(d.kind, d.index);
}

/** The memory behind one or more tensors (a base and its views). */
class Storage {
  constructor(public buffer: NativeBuffer | null) {}
}

export interface RandnOptions {
  seed: number;
  mean?: number;
  std?: number;
  /** Philox stream; tensors drawn with the same seed and different offsets are independent. */
  offset?: number;
  device?: DeviceLike;
}

export class Tensor {
  readonly shape: Shape;
  readonly device: Device;
  readonly size: number;
  private readonly storage: Storage;
  private readonly owner: boolean;
  private released = false;

  private constructor(shape: Shape, device: Device, storage: Storage, owner: boolean) {
    this.shape = shape;
    this.device = device;
    this.size = shapeSize(shape);
    this.storage = storage;
    this.owner = owner;
  }

  private static allocate(op: string, shape: unknown, device: DeviceLike | undefined, zero: boolean): Tensor {
    const s = checkShape(op, 'shape', shape);
    const d = Device.parse(device ?? 'cpu', op);
    const buffer = new (native().NativeBuffer)(d.kind, d.index, shapeSize(s), zero);
    return new Tensor(s, d, new Storage(buffer), true);
  }

  /** A tensor whose contents are undefined until written (outputs of ops). */
  static empty(shape: Shape, device?: DeviceLike): Tensor {
    return Tensor.allocate('Tensor.empty', shape, device, false);
  }

  static zeros(shape: Shape, device?: DeviceLike): Tensor {
    return Tensor.allocate('Tensor.zeros', shape, device, true);
  }

  static full(shape: Shape, value: number, device?: DeviceLike): Tensor {
    if (typeof value !== 'number' || Number.isNaN(value))
      throw new ArgumentError('Tensor.full', 'value', 'a number', describe(value));
    const t = Tensor.allocate('Tensor.full', shape, device, false);
    native().fill(t.handle('Tensor.full', 'out'), value);
    return t;
  }

  /** Copies `data` (row-major, NCHW for images) into a new tensor of `shape`. */
  static fromArray(data: ArrayLike<number>, shape: Shape, device?: DeviceLike): Tensor {
    const op = 'Tensor.fromArray';
    const s = checkShape(op, 'shape', shape);
    if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number')
      throw new ArgumentError(op, 'data', 'an array or typed array of numbers', describe(data));
    if (data.length !== shapeSize(s))
      throw new ArgumentError(op, 'data', `${shapeSize(s)} values for shape ${formatShape(s)}`, `${data.length} values`);
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const t = Tensor.allocate(op, s, device, false);
    t.handle(op, 'out').write(values);
    return t;
  }

  /** Normal numbers from a counter-based generator: the same seed gives the same values everywhere. */
  static randn(shape: Shape, options: RandnOptions): Tensor {
    const op = 'Tensor.randn';
    if (!options || typeof options !== 'object') throw new ArgumentError(op, 'options', 'an object with a seed', describe(options));
    const mean = options.mean ?? 0;
    const std = options.std ?? 1;
    if (!Number.isFinite(mean)) throw new ArgumentError(op, 'mean', 'a finite number', describe(mean));
    if (!Number.isFinite(std) || std < 0) throw new ArgumentError(op, 'std', 'a finite number >= 0', describe(std));
    const seed = seedWords(op, 'seed', options.seed);
    const offset = seedWords(op, 'offset', options.offset ?? 0);
    const t = Tensor.allocate(op, shape, options.device, false);
    native().fillNormal(t.handle(op, 'out'), {
      mean,
      std,
      seedLo: seed.lo,
      seedHi: seed.hi,
      offsetLo: offset.lo,
      offsetHi: offset.hi,
    });
    return t;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** True once this tensor (or, for a view, its base) was disposed. */
  get disposed(): boolean {
    return this.released || this.storage.buffer === null;
  }

  /** The native buffer, for ops; throws naming the op and argument when disposed. */
  handle(op: string, name: string): NativeBuffer {
    if (this.disposed) throw new ArgumentError(op, name, 'a live tensor', `a disposed tensor of shape ${formatShape(this.shape)}`);
    return this.storage.buffer as NativeBuffer;
  }

  /** A copy of the contents. */
  toFloat32Array(): Float32Array {
    return this.handle('Tensor.toFloat32Array', 'this').read();
  }

  /** Overwrites the contents with `data` (same number of values). */
  write(data: ArrayLike<number>): void {
    const op = 'Tensor.write';
    const buffer = this.handle(op, 'this');
    if (data === null || typeof data !== 'object' || data.length !== this.size)
      throw new ArgumentError(op, 'data', `${this.size} values`, describe(data));
    buffer.write(data instanceof Float32Array ? data : Float32Array.from(data));
  }

  /** A view with another shape of the same size, sharing this tensor's memory. */
  reshape(shape: Shape): Tensor {
    const op = 'Tensor.reshape';
    this.handle(op, 'this');
    const s = checkShape(op, 'shape', shape);
    if (shapeSize(s) !== this.size)
      throw new ArgumentError(op, 'shape', `a shape of ${this.size} elements (from ${formatShape(this.shape)})`, formatShape(s));
    return new Tensor(s, this.device, this.storage, false);
  }

  /** A copy on `device` (a copy even when it is this tensor's device). */
  to(device: DeviceLike): Tensor {
    const op = 'Tensor.to';
    const src = this.handle(op, 'this');
    const out = Tensor.empty(this.shape, Device.parse(device, op));
    native().copy(src, out.handle(op, 'out'));
    return out;
  }

  clone(): Tensor {
    return this.to(this.device);
  }

  /** Frees the memory now (a view only stops being usable). Disposing twice is harmless. */
  dispose(): void {
    if (this.released) return;
    this.released = true;
    if (this.owner && this.storage.buffer) {
      this.storage.buffer.free();
      this.storage.buffer = null;
    }
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.device}${this.disposed ? ', disposed' : ''})`;
  }
}
