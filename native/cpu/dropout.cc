// Dropout as in the paper: at training each element is kept (mask 1) or zeroed (mask 0),
// dropped with probability p, and kept values are NOT rescaled; at test every output is
// multiplied by (1 - p) (0.5 in the paper). Element i is dropped when its Philox uniform
// number (seed, offset, i) is below p, so the CUDA backend draws the same mask.
//   x, y, mask, dy, dx: count elements
#include "cpu.h"
#include "parallel.h"
#include "philox.h"

namespace alexnet {
namespace cpu {
namespace {
constexpr int64_t kGrain = 1 << 12;
}

void dropout_forward_train(const DropoutParams& p, const float* x, float* y, float* mask) {
  parallel_for(p.count, [&](int64_t i) {
    const float keep = philox_uniform_at(uint64_t(i), p.offset, p.seed) < p.p ? 0.0f : 1.0f;
    mask[i] = keep;
    y[i] = x[i] * keep;
  }, kGrain);
}

void dropout_forward_eval(const DropoutParams& p, const float* x, float* y) {
  const float scale = 1.0f - p.p;
  parallel_for(p.count, [&](int64_t i) { y[i] = x[i] * scale; }, kGrain);
}

void dropout_backward(const DropoutParams& p, const float* dy, const float* mask, float* dx) {
  parallel_for(p.count, [&](int64_t i) { dx[i] = dy[i] * mask[i]; }, kGrain);
}

}  // namespace cpu
}  // namespace alexnet
