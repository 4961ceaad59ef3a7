// Cross-map LRN through cuDNN with the CPU's meaning (native/cpu/lrn.cc): alpha on the sum, the
// window c - size/2 .. c + (size-1)/2 clipped to the channel's group of C/G channels. Settings
// cuDNN cannot express exactly run on the CUDA backend's LRN, so the meaning never changes.
#include "handle.h"
#include "ops.cuh"  // the CUDA backend's LRN, for what cuDNN cannot express
#include "ops.h"

namespace alexnet {
namespace cudnn {
namespace {

// cuDNN computes y_c = x_c * (k + lrnAlpha / lrnN * sum_j x_j^2)^-beta over the channels
// j = c - (lrnN-1)/2 .. c + lrnN-1 - (lrnN-1)/2, clipped to the tensor. For odd lrnN that is our
// window, and lrnAlpha = alpha * size puts our alpha on the sum. An even size has its extra
// channel on the other side in cuDNN, and cuDNN refuses lrnN > 16, k < 1e-5, beta < 0.01:
// those settings (none of them AlexNet's) run on the CUDA backend's LRN instead.
bool cudnn_expresses(const LrnParams& p) {
  return p.size % 2 == 1 && p.size >= CUDNN_LRN_MIN_N && p.size <= CUDNN_LRN_MAX_N && p.k >= CUDNN_LRN_MIN_K &&
         p.beta >= CUDNN_LRN_MIN_BETA;
}

// Groups: the channels of group g of image n are contiguous (offset (n*G + g) * C/G*H*W), so
// the tensor is exactly N*G images of C/G channels each, packed: one cuDNN call on that view
// normalises every group with the window clipped at the group's edges.
struct LrnDescriptors {
  Tensor4d x;  // x, y, dx, dy as (N*G, C/G, H, W)
  LrnDescriptor lrn;

  explicit LrnDescriptors(const LrnParams& p) : x(p.n * p.groups, p.c / p.groups, p.h, p.w) {
    check(cudnnSetLRNDescriptor(lrn, unsigned(p.size), double(p.alpha) * p.size, p.beta, p.k),
          "cudnnSetLRNDescriptor");
  }
};

}  // namespace

//   x, y: (N, C, H, W)
void lrn_forward(const LrnParams& p, const float* x, float* y) {
  if (!cudnn_expresses(p)) {
    cuda::lrn_forward(p, x, y);
    return;
  }
  const LrnDescriptors d(p);
  check(cudnnLRNCrossChannelForward(handle(), d.lrn, CUDNN_LRN_CROSS_CHANNEL_DIM1, &kOne, d.x, x, &kZero, d.x, y),
        "cudnnLRNCrossChannelForward");
}

//   x, dy, dx: (N, C, H, W); dx overwritten
void lrn_backward(const LrnParams& p, const float* x, const float* dy, float* dx) {
  if (!cudnn_expresses(p)) {
    cuda::lrn_backward(p, x, dy, dx);
    return;
  }
  const LrnDescriptors d(p);
  // cuDNN's backward reads the forward's output, which our interface does not pass: recompute it.
  cuda::Scratch y(size_t(lrn_size(p)));
  check(cudnnLRNCrossChannelForward(handle(), d.lrn, CUDNN_LRN_CROSS_CHANNEL_DIM1, &kOne, d.x, x, &kZero, d.x,
                                    y.get()),
        "cudnnLRNCrossChannelForward (lrn backward)");
  check(cudnnLRNCrossChannelBackward(handle(), d.lrn, CUDNN_LRN_CROSS_CHANNEL_DIM1, &kOne, d.x, y.get(), d.x, dy,
                                     d.x, x, &kZero, d.x, dx),
        "cudnnLRNCrossChannelBackward");
}

}  // namespace cudnn
}  // namespace alexnet
