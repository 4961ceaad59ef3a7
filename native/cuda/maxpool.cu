// Max pooling, as native/cpu/maxpool.cc: any window, stride and padding (padded cells never
// win). Forward: one thread per output. Backward: one thread per input cell gathers the
// gradient of every output whose window's FIRST maximum is that cell, in the CPU's order,
// so the sums match the CPU bit for bit and no atomics are needed.
#include "common.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {
namespace {

struct PoolShape {
  int h, w, kh, kw, sh, sw, ph, pw, oh, ow;
};

__device__ __forceinline__ int clamp_lo(int v) { return v < 0 ? 0 : v; }
__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int imax(int a, int b) { return a > b ? a : b; }

__global__ void maxpool_forward_kernel(int64_t count, PoolShape s, const float* x, float* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const int ox = int(i % s.ow), oy = int(i / s.ow % s.oh);
    const int64_t plane = i / (int64_t(s.ow) * s.oh);
    const float* xp = x + plane * s.h * s.w;
    const int y0 = oy * s.sh - s.ph, x0 = ox * s.sw - s.pw;
    const int y1 = imin(s.h, y0 + s.kh), x1 = imin(s.w, x0 + s.kw);
    float best = -INFINITY;
    for (int iy = clamp_lo(y0); iy < y1; ++iy)
      for (int ix = clamp_lo(x0); ix < x1; ++ix) best = fmaxf(best, xp[iy * s.w + ix]);
    y[i] = best;
  }
}

__global__ void maxpool_backward_kernel(int64_t count, PoolShape s, const float* x, const float* y, const float* dy,
                                        float* dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const int ix = int(i % s.w), iy = int(i / s.w % s.h);
    const int64_t plane = i / (int64_t(s.w) * s.h);
    const float* xp = x + plane * s.h * s.w;
    const float* yp = y + plane * s.oh * s.ow;
    const float* dyp = dy + plane * s.oh * s.ow;
    // outputs whose window holds (iy, ix): oy * sh - ph <= iy < oy * sh - ph + kh
    const int oy0 = imax(0, (iy + s.ph - s.kh + s.sh) / s.sh), oy1 = imin(s.oh - 1, (iy + s.ph) / s.sh);
    const int ox0 = imax(0, (ix + s.pw - s.kw + s.sw) / s.sw), ox1 = imin(s.ow - 1, (ix + s.pw) / s.sw);
    float acc = 0.0f;
    for (int oy = oy0; oy <= oy1; ++oy)
      for (int ox = ox0; ox <= ox1; ++ox) {
        const float best = yp[oy * s.ow + ox];
        const int wy0 = oy * s.sh - s.ph, wx0 = ox * s.sw - s.pw;
        const int wy1 = imin(s.h, wy0 + s.kh), wx1 = imin(s.w, wx0 + s.kw);
        // the first cell of the window (row-major) that holds the maximum
        int first = -1;
        for (int wy = clamp_lo(wy0); wy < wy1 && first < 0; ++wy)
          for (int wx = clamp_lo(wx0); wx < wx1; ++wx)
            if (xp[wy * s.w + wx] == best) {
              first = wy * s.w + wx;
              break;
            }
        if (first == iy * s.w + ix) acc += dyp[oy * s.ow + ox];
      }
    dx[i] = acc;
  }
}

PoolShape shape_of(const PoolParams& p) {
  return PoolShape{p.h, p.w, p.kh, p.kw, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.oh, p.ow};
}

}  // namespace

void maxpool_forward(const PoolParams& p, const float* x, float* y) {
  const int64_t count = pool_y_size(p);
  if (count) launch("maxpool", elementwise_blocks(count), 256, maxpool_forward_kernel, count, shape_of(p), x, y);
}

void maxpool_backward(const PoolParams& p, const float* x, const float* y, const float* dy, float* dx) {
  const int64_t count = pool_x_size(p);
  if (count)
    launch("maxpoolBackward", elementwise_blocks(count), 256, maxpool_backward_kernel, count, shape_of(p), x, y, dy, dx);
}

}  // namespace cuda
}  // namespace alexnet
