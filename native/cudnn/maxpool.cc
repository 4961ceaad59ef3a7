// Max pooling (any window, stride and padding; the paper's overlapping 3x3 stride 2) through
// cuDNN, as native/cpu/maxpool.cc: OH = (H + 2 pad_h - KH) / stride_h + 1 on both, padded cells
// never win. The deterministic max mode, so that repeated runs give the same gradients.
#include "handle.h"
#include "ops.h"

namespace alexnet {
namespace cudnn {
namespace {

struct PoolDescriptors {
  Tensor4d x, y;  // x, dx: (N, C, H, W); y, dy: (N, C, OH, OW)
  PoolingDescriptor pool;

  explicit PoolDescriptors(const PoolParams& p) : x(p.n, p.c, p.h, p.w), y(p.n, p.c, p.oh, p.ow) {
    // NaN is not propagated, as on the CPU (std::max keeps the running maximum over a NaN).
    check(cudnnSetPooling2dDescriptor(pool, CUDNN_POOLING_MAX_DETERMINISTIC, CUDNN_NOT_PROPAGATE_NAN, p.kh, p.kw,
                                      p.pad_h, p.pad_w, p.stride_h, p.stride_w),
          "cudnnSetPooling2dDescriptor");
  }
};

}  // namespace

void maxpool_forward(const PoolParams& p, const float* x, float* y) {
  const PoolDescriptors d(p);
  check(cudnnPoolingForward(handle(), d.pool, &kOne, d.x, x, &kZero, d.y, y), "cudnnPoolingForward");
}

// dx overwritten. Where a window holds its maximum twice, the CPU sends the gradient to the
// first one in row-major order; cuDNN may pick another. Ties do not occur on the random inputs
// the tests compare with (they do after a ReLU's zeros, where either choice is a valid subgradient).
void maxpool_backward(const PoolParams& p, const float* x, const float* y, const float* dy, float* dx) {
  const PoolDescriptors d(p);
  check(cudnnPoolingBackward(handle(), d.pool, &kOne, d.y, y, d.y, dy, d.x, x, &kZero, d.x, dx),
        "cudnnPoolingBackward");
}

}  // namespace cudnn
}  // namespace alexnet
