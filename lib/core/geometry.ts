// The one output-size formula of a sliding window (convolution, pooling) in TypeScript; its
// C++ twin is in native/include/params.h.

/** Output side of a window of `kernel` sliding by `stride` over `size` padded by `pad` on each side. */
export function outputSize(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}
