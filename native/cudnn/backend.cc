// The "cudnn" backend: an engine on CUDA memory. Its table is the CUDA backend's (the same
// Memory, device selection and ops) with convolution, LRN and max pooling from cuDNN (the
// files of this folder), so that a benchmark can run our kernels and cuDNN's side by side on
// the same card, data and stream. version() reports the cuDNN loaded at run time.
#include <string>
#include "handle.h"
#include "ops.h"

namespace alexnet {
namespace cudnn {
namespace {

// cudnnGetVersion(): major*10000 + minor*100 + patch from cuDNN 9 on (9.1.0 -> 90100),
// major*1000 + minor*100 + patch before (8.9.7 -> 8907).
std::string version() {
  const size_t v = cudnnGetVersion();
  const size_t major = v >= 10000 ? v / 10000 : v / 1000;
  const size_t minor = v >= 10000 ? v / 100 % 100 : v / 100 % 10;
  const size_t patch = v % 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace

const Backend* backend() {
  static const Backend table = [] {
    Backend t = *cuda::backend();  // built only together with the CUDA backend, so never null
    t.name = "cudnn";
    t.ops.conv2d_forward = conv2d_forward;
    t.ops.conv2d_backward_data = conv2d_backward_data;
    t.ops.conv2d_backward_filter = conv2d_backward_filter;
    t.ops.lrn_forward = lrn_forward;
    t.ops.lrn_backward = lrn_backward;
    t.ops.maxpool_forward = maxpool_forward;
    t.ops.maxpool_backward = maxpool_backward;
    return t;
  }();
  return &table;
}

void describe(Report& r) {
  const cuda::Info ci = cuda::info();
  r.flag("built", true);
  r.flag("usable", ci.usable);
  r.text("reason", ci.usable ? "" : ci.reason);
  r.text("version", version());
}

}  // namespace cudnn
}  // namespace alexnet
