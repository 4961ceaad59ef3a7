// Element-wise activations. Backward takes the forward output y (not x): for ReLU,
// y > 0 exactly where x > 0; for tanh, dy/dx = 1 - y^2. Outputs may alias inputs.
//   x, y, dy, dx: count elements
#include <algorithm>
#include <cmath>
#include "backend.h"
#include "parallel.h"
#include "simd.h"

namespace alexnet {
namespace cpu {
namespace {
constexpr int64_t kGrain = 1 << 14;  // elements per task

// Calls row(begin, length) over [0, count) in tasks of kGrain elements, split over the threads.
template <typename Row>
void chunks(int64_t count, Row row) {
  parallel_for((count + kGrain - 1) / kGrain, [&](int64_t t) {
    const int64_t i0 = t * kGrain;
    row(i0, std::min(kGrain, count - i0));
  });
}

// Both operands are loaded unconditionally so that the selects become vector blends instead
// of branches on the sign (a mispredicted branch per element made ReLU's backward 20x slower
// than its forward).
ALEXNET_SIMD void relu_row(const float* x, float* y, int64_t len) {
  for (int64_t i = 0; i < len; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

ALEXNET_SIMD void relu_backward_row(const float* y, const float* dy, float* dx, int64_t len) {
  for (int64_t i = 0; i < len; ++i) {
    const float d = dy[i];
    dx[i] = y[i] > 0.0f ? d : 0.0f;
  }
}

ALEXNET_SIMD void tanh_backward_row(const float* y, const float* dy, float* dx, int64_t len) {
  for (int64_t i = 0; i < len; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}
}  // namespace

void relu_forward(int64_t count, const float* x, float* y) {
  chunks(count, [&](int64_t i, int64_t len) { relu_row(x + i, y + i, len); });
}

void relu_backward(int64_t count, const float* y, const float* dy, float* dx) {
  chunks(count, [&](int64_t i, int64_t len) { relu_backward_row(y + i, dy + i, dx + i, len); });
}

void tanh_forward(int64_t count, const float* x, float* y) {
  chunks(count, [&](int64_t i0, int64_t len) {
    for (int64_t i = i0; i < i0 + len; ++i) y[i] = std::tanh(x[i]);
  });
}

void tanh_backward(int64_t count, const float* y, const float* dy, float* dx) {
  chunks(count, [&](int64_t i, int64_t len) { tanh_backward_row(y + i, dy + i, dx + i, len); });
}

}  // namespace cpu
}  // namespace alexnet
