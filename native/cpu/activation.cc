// Element-wise activations. Backward takes the forward output y (not x): for ReLU,
// y > 0 exactly where x > 0; for tanh, dy/dx = 1 - y^2. Outputs may alias inputs.
//   x, y, dy, dx: count elements
#include <cmath>
#include "cpu.h"
#include "parallel.h"

namespace alexnet {
namespace cpu {
namespace {
constexpr int64_t kGrain = 1 << 14;
}

void relu_forward(int64_t count, const float* x, float* y) {
  parallel_for(count, [&](int64_t i) { y[i] = x[i] > 0.0f ? x[i] : 0.0f; }, kGrain);
}

void relu_backward(int64_t count, const float* y, const float* dy, float* dx) {
  parallel_for(count, [&](int64_t i) { dx[i] = y[i] > 0.0f ? dy[i] : 0.0f; }, kGrain);
}

void tanh_forward(int64_t count, const float* x, float* y) {
  parallel_for(count, [&](int64_t i) { y[i] = std::tanh(x[i]); }, kGrain);
}

void tanh_backward(int64_t count, const float* y, const float* dy, float* dx) {
  parallel_for(count, [&](int64_t i) { dx[i] = dy[i] * (1.0f - y[i] * y[i]); }, kGrain);
}

}  // namespace cpu
}  // namespace alexnet
