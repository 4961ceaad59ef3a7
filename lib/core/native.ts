// Loads the native addon (prebuilds/ first, then build/Release) and types its surface.
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

type Buf = NativeBuffer;

export interface NativeAddon {
  NativeBuffer: new (kind: 'cpu' | 'cuda' | 'cudnn', index: number, count: number, zero: boolean) => NativeBuffer;
  info(): NativeInfo;
  releaseCachedMemory(): number;
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
  philox(blockLo: number, blockHi: number, offsetLo: number, offsetHi: number, seedLo: number, seedHi: number): Uint32Array;
}

let addon: NativeAddon | undefined;

// The CPU ops alternate OpenMP loops with OpenBLAS GEMMs on the same cores. By default both
// runtimes keep their idle threads spinning for a while after each parallel region, and each
// one's spinning threads then steal the cores the other one needs (measured here: 3x to 30x
// slower training steps on 2 cores). Unless the user chose otherwise, idle threads sleep.
// These must be set before the addon (and with it libgomp and OpenBLAS) is loaded.
process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
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
      throw new Error(
        `alexnet: could not load the native addon from ${root} (${(err as Error).message}). ` +
          'Run `npm install` (or `npm run build:native`) to build it.',
      );
    }
  }
  return addon;
}
