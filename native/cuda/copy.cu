// Copies within one device, fills and the elementwise sum (out may alias a or b).
#include "common.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {
namespace {

__global__ void fill_kernel(int64_t count, float value, float* dst) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = value;
}

__global__ void add_kernel(int64_t count, const float* a, const float* b, float* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = a[i] + b[i];
}

}  // namespace

void copy(int64_t count, const float* src, float* dst) {
  if (count && src != dst)
    check(cudaMemcpyAsync(dst, src, size_t(count) * sizeof(float), cudaMemcpyDeviceToDevice, stream()), "copy");
}

void fill(int64_t count, float value, float* dst) {
  if (count) launch("fill", elementwise_blocks(count), 256, fill_kernel, count, value, dst);
}

void add(int64_t count, const float* a, const float* b, float* out) {
  if (count) launch("add", elementwise_blocks(count), 256, add_kernel, count, a, b, out);
}

}  // namespace cuda
}  // namespace alexnet
