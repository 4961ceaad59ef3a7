// Cross-map local response normalisation, as native/cpu/lrn.cc (alpha on the sum, window
// clipped to the channel's group):
//   s_c = k + alpha * sum_{j in W(c)} x_j^2,  y_c = x_c * s_c^-beta
//   dx_i = dy_i * s_i^-beta - 2 alpha beta x_i * sum_{j : i in W(j)} dy_j x_j s_j^(-beta-1)
// One thread per element; backward first writes r_j = dy_j x_j s_j^(-beta-1) to scratch,
// then gathers it, so each s is computed twice instead of size times.
#include "common.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {
namespace {

struct LrnShape {
  int c, plane, cg, before, after;
  float alpha, beta, k;
};

LrnShape shape_of(const LrnParams& p) {
  return LrnShape{p.c, p.h * p.w, p.c / p.groups, p.size / 2, (p.size - 1) / 2, p.alpha, p.beta, p.k};
}

// s for element i (channel c of its image); xc points at element i.
__device__ __forceinline__ float lrn_scale(const LrnShape& s, const float* xc, int c) {
  const int local = c % s.cg;
  const int j0 = local - s.before < 0 ? 0 : local - s.before;
  const int j1 = local + s.after > s.cg - 1 ? s.cg - 1 : local + s.after;
  float sum = 0.0f;
  for (int j = j0; j <= j1; ++j) {
    const float v = xc[int64_t(j - local) * s.plane];
    sum += v * v;
  }
  return s.k + s.alpha * sum;
}

__global__ void lrn_forward_kernel(int64_t count, LrnShape s, const float* x, float* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const int c = int(i / s.plane % s.c);
    y[i] = x[i] * powf(lrn_scale(s, x + i, c), -s.beta);
  }
}

__global__ void lrn_ratio_kernel(int64_t count, LrnShape s, const float* x, const float* dy, float* ratio) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const int c = int(i / s.plane % s.c);
    ratio[i] = dy[i] * x[i] * powf(lrn_scale(s, x + i, c), -s.beta - 1.0f);
  }
}

__global__ void lrn_backward_kernel(int64_t count, LrnShape s, const float* x, const float* dy, const float* ratio,
                                    float* dx) {
  const float coeff = 2.0f * s.alpha * s.beta;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const int c = int(i / s.plane % s.c), local = c % s.cg;
    // j such that c is in W(j)
    const int j0 = local - s.after < 0 ? 0 : local - s.after;
    const int j1 = local + s.before > s.cg - 1 ? s.cg - 1 : local + s.before;
    float acc = 0.0f;
    for (int j = j0; j <= j1; ++j) acc += ratio[i + int64_t(j - local) * s.plane];
    dx[i] = dy[i] * powf(lrn_scale(s, x + i, c), -s.beta) - coeff * x[i] * acc;
  }
}

}  // namespace

void lrn_forward(const LrnParams& p, const float* x, float* y) {
  const int64_t count = lrn_size(p);
  if (count) launch("lrn", elementwise_blocks(count), 256, lrn_forward_kernel, count, shape_of(p), x, y);
}

void lrn_backward(const LrnParams& p, const float* x, const float* dy, float* dx) {
  const int64_t count = lrn_size(p);
  if (!count) return;
  Scratch ratio{size_t(count)};
  launch("lrnBackward", elementwise_blocks(count), 256, lrn_ratio_kernel, count, shape_of(p), x, dy, ratio.get());
  launch("lrnBackward", elementwise_blocks(count), 256, lrn_backward_kernel, count, shape_of(p), x, dy,
         static_cast<const float*>(ratio.get()), dx);
}

}  // namespace cuda
}  // namespace alexnet
