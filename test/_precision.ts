// Tolerances of the CUDA backend's GEMM-shaped ops (conv2d, linear, gemm) by GEMM version
// (ALEXNET_GEMM, lib/core/precision.ts), as the largest error allowed relative to the largest
// magnitude of the reference result, and the tests' elementwise (rtol, atol) pair.
//
// fp32 (v1, v2): each product and sum is rounded to FP32 (unit roundoff u = 2^-24 = 6e-8);
//   the errors of K terms of random sign grow like sqrt(K) u times a typical term while the
//   result grows like sqrt(K) times it, so the error relative to the largest result stays
//   near u; 1e-5 (about 170 u) covers the different summation orders (tiles, split-K)
//   against the CPU's BLAS at every shape checked, K up to 387,200 (conv1's filter gradient
//   at batch 128).
// 3xtf32: a = a_hi + a_lo with both TF32 and a - a_hi exact; a_lo * b_lo (about 2^-22 of
//   a * b) is dropped and a_lo, b_lo are rounded to TF32 (another 2^-22), so each product
//   is off by at most about 2^-21 = 5e-7 relative, 8 FP32 roundings, of random sign: the
//   same argument gives a few 1e-7 relative to the largest result; FP32's 1e-5 holds (the
//   emulator measures 2e-7 to 4e-7 on the small shapes).
// tf32: each operand is rounded to 10 mantissa bits (relative error up to 2^-11 = 4.9e-4,
//   uniform, so each product is off by about 2^-11 * sqrt(2/3) = 4e-4 rms); summed with
//   random signs, the error relative to the largest result is about that rms divided by how
//   far the largest result stands above a typical one (3-4 standard deviations), times the
//   4-5 standard deviations of the worst element: 2e-4 to 5e-4 (the emulator measures 1.5e-4
//   to 5.6e-4). 3e-3 leaves a factor of 5 and is still 300 times smaller than the O(1)
//   errors of a wrong fragment layout or a dropped K step.
export function gemmTolerance(version: string | undefined): number {
  return version === 'tf32' ? 3e-3 : 1e-5;
}

/**
 * The elementwise check of the op tests (|actual - expected| <= atol + rtol |expected|) for
 * the cuda backend at the GEMM version under test, given the FP32 pair and the largest
 * expected magnitude: TF32's error scales with the result's magnitude, not each element's,
 * so its atol is the tolerance above times that magnitude.
 */
export function gemmCloseness(backend: string, rtol: number, atol: number, scale: number): [number, number] {
  const version = process.env.ALEXNET_GEMM;
  if (backend !== 'cuda' || version !== 'tf32') return [rtol, atol];
  const tol = gemmTolerance(version);
  return [Math.max(rtol, tol), Math.max(atol, tol * scale)];
}
