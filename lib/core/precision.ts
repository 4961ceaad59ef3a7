// --precision fp32|tf32|3xtf32 (train, the benchmarks, the cross-check): which GEMM kernels
// the CUDA backend's conv2d, linear and gemm use. It works through ALEXNET_GEMM, which the
// native addon reads once, at its first GEMM, so it must be applied before any op runs.
//   fp32    FP32 SIMT kernels: ALEXNET_GEMM's v1 (the default) or v2
//   tf32    TF32 tensor cores (inputs rounded to 10 mantissa bits, FP32 sums); sm_80 or newer
//   3xtf32  TF32 tensor cores with each operand split in two: FP32 accuracy; sm_80 or newer
// The CPU and cuDNN backends are not affected.

/** A bad --precision or ALEXNET_GEMM; the command line reports it as a flag error. */
export class PrecisionError extends Error {}

export const precisions = ['fp32', 'tf32', '3xtf32'] as const;
export type Precision = (typeof precisions)[number];
export const gemmVersions = ['v1', 'v2', 'tf32', '3xtf32'] as const;

/** The precision an ALEXNET_GEMM value gives (fp32 for v1, v2 and unset). */
export function precisionOf(version: string | undefined): Precision {
  return version === 'tf32' || version === '3xtf32' ? version : 'fp32';
}

/**
 * Sets ALEXNET_GEMM for `precision` and returns the GEMM version now in effect (without a
 * precision: ALEXNET_GEMM's, checked). fp32 keeps an ALEXNET_GEMM of v1 or v2; asking for a
 * precision that contradicts ALEXNET_GEMM, or an unknown one, is a PrecisionError.
 */
export function applyPrecision(precision: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (precision !== undefined && !(precisions as readonly string[]).includes(precision))
    throw new PrecisionError(`--precision must be one of ${precisions.join(', ')}, not ${JSON.stringify(precision)}`);
  const current = env.ALEXNET_GEMM || undefined;
  if (current !== undefined && !(gemmVersions as readonly string[]).includes(current))
    throw new PrecisionError(`ALEXNET_GEMM must be one of ${gemmVersions.join(', ')}, not ${JSON.stringify(current)}`);
  if (precision === undefined) return current ?? 'v1';
  if (current !== undefined && precisionOf(current) !== precision)
    throw new PrecisionError(`--precision ${precision} contradicts ALEXNET_GEMM=${current}; set one of them`);
  if (precision !== 'fp32') env.ALEXNET_GEMM = precision;
  return env.ALEXNET_GEMM || 'v1';
}
