// ReLU and tanh, forward and backward, elementwise (grid-stride loops). y may alias x and
// dx may alias dy, as on the CPU. Backward uses the output: relu' = [y > 0], tanh' = 1 - y^2.
#include "common.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {
namespace {

__global__ void relu_forward_kernel(int64_t count, const float* x, float* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void relu_backward_kernel(int64_t count, const float* y, const float* dy, float* dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__global__ void tanh_forward_kernel(int64_t count, const float* x, float* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = tanhf(x[i]);
}

__global__ void tanh_backward_kernel(int64_t count, const float* y, const float* dy, float* dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

}  // namespace

void relu_forward(int64_t count, const float* x, float* y) {
  if (count) launch("relu", elementwise_blocks(count), 256, relu_forward_kernel, count, x, y);
}

void relu_backward(int64_t count, const float* y, const float* dy, float* dx) {
  if (count) launch("reluBackward", elementwise_blocks(count), 256, relu_backward_kernel, count, y, dy, dx);
}

void tanh_forward(int64_t count, const float* x, float* y) {
  if (count) launch("tanh", elementwise_blocks(count), 256, tanh_forward_kernel, count, x, y);
}

void tanh_backward(int64_t count, const float* y, const float* dy, float* dx) {
  if (count) launch("tanhBackward", elementwise_blocks(count), 256, tanh_backward_kernel, count, y, dy, dx);
}

}  // namespace cuda
}  // namespace alexnet
