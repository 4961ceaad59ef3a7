// Loads the native addon (a local build/Release build, else the prebuild in prebuilds/) and types its surface.
// Nothing here validates: ops.ts and tensor.ts do that before calling in.
import * as path from 'node:path';
import type {
  ConvParams, DropoutParams, GemmParams, LinearParams, LrnParams, NormalParams, PoolParams, SgdParams, SoftmaxXentBackwardParams,
  SoftmaxXentParams,
} from './params';

export interface NativeBuffer {
  readonly count: number;
  readonly device: string;
  read(): Float32Array;
  write(values: Float32Array): void;
  free(): void;
}

export interface CudaDeviceInfo {
  index: number;
  name: string;
  totalMemory: number;
  freeMemory: number;
  computeCapability: string;
  multiprocessors: number;
  clockMHz: number;
  /** the card's FP32 rate: FMA lanes x 2 x SMs x clock */
  fp32PeakTflops: number;
}

export interface NativeInfo {
  version: string;
  cpu: {
    built: true; usable: true; blas: string; blasFound: boolean; blasThreads: number; threads: number; openmp: boolean;
    /** ALEXNET_CPU_CONV: auto (Winograd for stride-1 3x3 and 5x5 layers of 16+ channels per group and 48+ 4x4 output tiles in the batch), gemm or winograd */
    convAlgorithm: string;
    /** what GEMMs run on now: our packed AVX-512 kernel, or the BLAS (ALEXNET_CPU_GEMM: auto, blas, packed) */
    gemm: string;
    /** whether this CPU can run the packed AVX-512 kernel */
    packedGemm: boolean;
    /** freed buffers kept for reuse, and the most that is kept (a quarter of the memory) */
    cachedBytes: number; cacheLimitBytes: number;
  };
  cuda: {
    built: boolean;
    usable: boolean;
    ops: boolean;
    /** the host emulator of the test build, not a GPU */
    emulated: boolean;
    cachedBytes: number;
    reason: string;
    runtimeVersion: number;
    driverVersion: number;
    devices: CudaDeviceInfo[];
  };
  cudnn: { built: boolean; usable: boolean; reason: string; version?: string };
}

/**
 * paramSchema()'s entry for an op that takes a parameter object: the struct of
 * native/include/params.h it fills (or the binding's own, for gemm and the softmax backward)
 * and the keys the binding reads from the object, with their types.
 */
export interface NativeParamSchema {
  struct: string;
  keys: Record<string, 'integer' | 'number' | 'uint32' | 'boolean'>;
}

type Buf = NativeBuffer;

/** native/comm/binding.cc; lib/core/comm.ts wraps it */
export interface NativeCommunicator {
  open(): Promise<{ rank: number; size: number; localRank: number; engine: string }>;
  allreduce(buffers: Buf[], mean: boolean): Promise<number>;
  allgather(send: Buf, recv: Buf): Promise<number>;
  reduceScatter(send: Buf, recv: Buf): Promise<number>;
  broadcast(buffer: Buf, root: number): Promise<number>;
  barrier(): Promise<number>;
  abort(code: number): void;
  close(): Promise<void>;
}

export interface NativeAddon {
  NativeBuffer: new (kind: 'cpu' | 'cuda' | 'cudnn', index: number, count: number, zero: boolean) => NativeBuffer;
  info(): NativeInfo;
  releaseCachedMemory(): number;
  Communicator: new (engine: 'mpi' | 'nccl', timeoutMs: number) => NativeCommunicator;
  commInfo(): { mpi: { built: boolean; version: string; reason: string }; nccl: { built: boolean; version: string; reason: string } };
  conv2dForward(x: Buf, w: Buf, b: Buf | null, y: Buf, p: ConvParams): void;
  conv2dBackwardData(dy: Buf, w: Buf, dx: Buf, p: ConvParams): void;
  conv2dBackwardFilter(x: Buf, dy: Buf, dw: Buf, db: Buf | null, p: ConvParams): void;
  lrnForward(x: Buf, y: Buf, p: LrnParams): void;
  lrnBackward(x: Buf, dy: Buf, dx: Buf, p: LrnParams): void;
  maxpoolForward(x: Buf, y: Buf, p: PoolParams): void;
  maxpoolBackward(x: Buf, y: Buf, dy: Buf, dx: Buf, p: PoolParams): void;
  linearForward(x: Buf, w: Buf, b: Buf | null, y: Buf, p: LinearParams): void;
  linearBackwardData(dy: Buf, w: Buf, dx: Buf, p: LinearParams): void;
  linearBackwardParams(x: Buf, dy: Buf, dw: Buf, db: Buf | null, p: LinearParams): void;
  reluForward(x: Buf, y: Buf): void;
  reluBackward(y: Buf, dy: Buf, dx: Buf): void;
  tanhForward(x: Buf, y: Buf): void;
  tanhBackward(y: Buf, dy: Buf, dx: Buf): void;
  dropoutForwardTrain(x: Buf, y: Buf, mask: Buf, p: DropoutParams): void;
  dropoutForwardEval(x: Buf, y: Buf, p: DropoutParams): void;
  dropoutBackward(dy: Buf, mask: Buf, dx: Buf): void;
  softmaxXentForward(logits: Buf, labels: Int32Array, probs: Buf, p: SoftmaxXentParams): number;
  softmaxXentBackward(probs: Buf, labels: Int32Array, dlogits: Buf, p: SoftmaxXentBackwardParams): void;
  sgdUpdate(w: Buf, dw: Buf, v: Buf, p: SgdParams): void;
  fillNormal(out: Buf, p: NormalParams): void;
  fill(out: Buf, value: number): void;
  copy(src: Buf, dst: Buf): void;
  add(a: Buf, b: Buf, out: Buf): void;
  gemm(a: Buf, b: Buf, c: Buf, p: GemmParams): void;
  synchronize(kind: 'cpu' | 'cuda' | 'cudnn', index: number): void;
  /** per op name (e.g. 'conv2dForward'), the parameter keys the binding reads */
  paramSchema(): Record<string, NativeParamSchema>;
  philox(blockLo: number, blockHi: number, offsetLo: number, offsetHi: number, seedLo: number, seedHi: number): Uint32Array;
}

let addon: NativeAddon | undefined;

// The CPU ops alternate OpenMP loops with OpenBLAS GEMMs on the same cores. By default both
// runtimes keep their idle threads spinning for a while after each parallel region, and each
// one's spinning threads then steal the cores the other one needs (measured here: 3x to 30x
// slower training steps on 2 cores). Unless the user chose otherwise, idle threads sleep,
// but only after a short spin (GOMP_SPINCOUNT, which libgomp obeys over the policy): an op is
// several back-to-back OpenMP loops (im2col, GEMM, per group), and a thread put to sleep
// between them is woken by a system call each time. 10,000 spins is some tens of
// microseconds: batch-1 inference went from 12.5 to 11.4 ms here, while training at batch 32,
// through our GEMM or OpenBLAS's, did not change beyond noise.
// These must be set before the addon (and with it libgomp and OpenBLAS) is loaded.
process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
process.env.GOMP_SPINCOUNT ??= '10000';
process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';

/**
 * The addon, loaded on first use. Throws with a hint when it was never built.
 * ALEXNET_NATIVE_ADDON=path/to/file.node loads that build instead (the tests use it for the
 * CUDA emulator build, `npm run build:emulator`).
 */
export function native(): NativeAddon {
  if (!addon) {
    const root = path.join(__dirname, '..', '..');
    const override = process.env.ALEXNET_NATIVE_ADDON;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      addon = (override ? require(path.resolve(override)) : require('node-gyp-build')(root)) as NativeAddon;
    } catch (err) {
      // node-gyp-build's message is several lines; its first says what was looked for
      throw new Error(
        `alexnet: could not load the native addon from ${root} (${(err as Error).message.split('\n')[0].trim()}). ` +
          'Build it from source (needs cmake and a C++17 compiler): `npm rebuild alexnet-native` where it is a dependency ' +
          '(npm 12 runs it only after `npm approve-scripts alexnet-native`), `npm run build:native` in a clone of the repository.',
      );
    }
  }
  return addon;
}
