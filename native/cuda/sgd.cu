// The paper's update, fused into one kernel per parameter tensor (as native/cpu/sgd.cc):
//   v <- momentum * v - weight_decay * lr * w - lr * dw;   w <- w + v
#include "common.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {
namespace {

__global__ void sgd_kernel(int64_t count, float lr, float momentum, float decay, float* w, const float* dw, float* v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const float vi = momentum * v[i] - decay * w[i] - lr * dw[i];
    v[i] = vi;
    w[i] += vi;
  }
}

}  // namespace

void sgd_update(const SgdParams& p, float* w, const float* dw, float* v) {
  if (p.count)
    launch("sgdUpdate", elementwise_blocks(p.count), 256, sgd_kernel, p.count, p.lr, p.momentum,
           p.weight_decay * p.lr, w, dw, v);
}

}  // namespace cuda
}  // namespace alexnet
