// The "cudnn" op table: convolution, LRN and max pooling from cuDNN (the files of this folder),
// every other op from the CUDA backend, so that a benchmark can run our kernels and cuDNN's
// side by side on the same card, data and stream. version() reports the cuDNN loaded at run time.
#include <string>
#include "handle.h"
#include "ops.h"

namespace alexnet {
namespace cudnn {

const Ops* ops() {
  static const Ops table = [] {
    Ops t = *cuda::ops();  // built only together with the CUDA backend, so never null
    t.name = "cudnn";
    t.conv2d_forward = conv2d_forward;
    t.conv2d_backward_data = conv2d_backward_data;
    t.conv2d_backward_filter = conv2d_backward_filter;
    t.lrn_forward = lrn_forward;
    t.lrn_backward = lrn_backward;
    t.maxpool_forward = maxpool_forward;
    t.maxpool_backward = maxpool_backward;
    return t;
  }();
  return &table;
}

// cudnnGetVersion(): major*10000 + minor*100 + patch from cuDNN 9 on (9.1.0 -> 90100),
// major*1000 + minor*100 + patch before (8.9.7 -> 8907).
std::string version() {
  const size_t v = cudnnGetVersion();
  const size_t major = v >= 10000 ? v / 10000 : v / 1000;
  const size_t minor = v >= 10000 ? v / 100 % 100 : v / 100 % 10;
  const size_t patch = v % 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace cudnn
}  // namespace alexnet
