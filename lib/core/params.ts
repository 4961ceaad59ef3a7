// The parameter records each op hands to the native binding, typed field for field after the
// structs in native/include/params.h (camelCase here, snake_case there; a 64-bit seed or
// offset crosses as two 32-bit words, lo and hi). The binding reads these keys by name, so
// a key renamed on one side only would fail at run time: PARAM_KEYS lists them, and
// test/params.test.ts compares them with the keys the binding itself reads.

export interface ConvParams {
  /** x: (N, C, H, W) */
  n: number; c: number; h: number; w: number;
  /** weight: (K, C / groups, KH, KW) */
  k: number; kh: number; kw: number;
  strideH: number; strideW: number;
  padH: number; padW: number;
  groups: number;
  /** forward only: y = max(0, conv(x) + b) (a fused ReLU); absent reads as false */
  relu?: boolean;
  // y: (N, K, OH, OW): OH and OW are computed by the binding (params.h's output_size)
}

export interface LrnParams {
  /** x, y: (N, C, H, W) */
  n: number; c: number; h: number; w: number;
  size: number; alpha: number; beta: number; k: number;
  groups: number;
}

export interface PoolParams {
  /** x: (N, C, H, W) */
  n: number; c: number; h: number; w: number;
  kh: number; kw: number;
  strideH: number; strideW: number;
  padH: number; padW: number;
  // y: (N, C, OH, OW): OH and OW are computed by the binding (params.h's output_size)
}

export interface LinearParams {
  /** x: (N, IN), weight: (OUT, IN), y: (N, OUT) */
  n: number; in: number; out: number;
  /** forward only: y = max(0, x w^T + b) (a fused ReLU); absent reads as false */
  relu?: boolean;
}

/** Philox key and stream as 32-bit words. */
export interface SeedWords {
  seedLo: number; seedHi: number;
  offsetLo: number; offsetHi: number;
}

export interface DropoutParams extends SeedWords {
  p: number;
}

export interface SoftmaxXentParams {
  /** logits, probs: (N, CLASSES) */
  n: number; classes: number;
}

export interface SoftmaxXentBackwardParams extends SoftmaxXentParams {
  scale: number;
}

export interface SgdParams {
  lr: number; momentum: number; weightDecay: number;
}

export interface NormalParams extends SeedWords {
  mean: number; std: number;
}

export interface GemmParams {
  m: number; n: number; k: number;
  transA: boolean; transB: boolean;
  alpha: number; beta: number;
  /** the built-in blocked GEMM even where a BLAS was found */
  builtin: boolean;
}

/** Every key of T, once: the compiler refuses a missing or an extra one. */
const keys = <T>(record: Record<keyof T, true>): string[] => Object.keys(record).sort();
const seedKeys = { seedLo: true, seedHi: true, offsetLo: true, offsetHi: true } as const;

/** The keys of each parameter record, by the op family that reads it. */
export const PARAM_KEYS: Record<string, string[]> = {
  conv: keys<ConvParams>({ n: true, c: true, h: true, w: true, k: true, kh: true, kw: true, strideH: true, strideW: true, padH: true, padW: true, groups: true, relu: true }),
  lrn: keys<LrnParams>({ n: true, c: true, h: true, w: true, size: true, alpha: true, beta: true, k: true, groups: true }),
  pool: keys<PoolParams>({ n: true, c: true, h: true, w: true, kh: true, kw: true, strideH: true, strideW: true, padH: true, padW: true }),
  linear: keys<LinearParams>({ n: true, in: true, out: true, relu: true }),
  dropout: keys<DropoutParams>({ p: true, ...seedKeys }),
  softmaxXent: keys<SoftmaxXentParams>({ n: true, classes: true }),
  softmaxXentBackward: keys<SoftmaxXentBackwardParams>({ n: true, classes: true, scale: true }),
  sgd: keys<SgdParams>({ lr: true, momentum: true, weightDecay: true }),
  normal: keys<NormalParams>({ mean: true, std: true, ...seedKeys }),
  gemm: keys<GemmParams>({ m: true, n: true, k: true, transA: true, transB: true, alpha: true, beta: true, builtin: true }),
};
