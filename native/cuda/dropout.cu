// Dropout as on the CPU (native/cpu/dropout.cc): element i is dropped when its Philox
// uniform number (seed, offset, i) is below p, so the same seed gives the same mask on both
// backends. Kept values are not rescaled; evaluation multiplies by (1 - p).
#include "common.cuh"
#include "ops.cuh"
#include "philox.h"

namespace alexnet {
namespace cuda {
namespace {

__global__ void dropout_train_kernel(int64_t count, float p, uint64_t seed, uint64_t offset, const float* x,
                                     float* y, float* mask) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const float keep = philox_uniform_at(uint64_t(i), offset, seed) < p ? 0.0f : 1.0f;
    mask[i] = keep;
    y[i] = x[i] * keep;
  }
}

__global__ void scale_kernel(int64_t count, float scale, const float* x, float* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = x[i] * scale;
}

__global__ void multiply_kernel(int64_t count, const float* a, const float* b, float* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = a[i] * b[i];
}

}  // namespace

void dropout_forward_train(const DropoutParams& p, const float* x, float* y, float* mask) {
  if (p.count)
    launch("dropout", elementwise_blocks(p.count), 256, dropout_train_kernel, p.count, p.p, p.seed, p.offset, x, y,
           mask);
}

void dropout_forward_eval(const DropoutParams& p, const float* x, float* y) {
  if (p.count) launch("dropout", elementwise_blocks(p.count), 256, scale_kernel, p.count, 1.0f - p.p, x, y);
}

void dropout_backward(const DropoutParams& p, const float* dy, const float* mask, float* dx) {
  if (p.count) launch("dropoutBackward", elementwise_blocks(p.count), 256, multiply_kernel, p.count, dy, mask, dx);
}

}  // namespace cuda
}  // namespace alexnet
