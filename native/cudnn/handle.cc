// cuDNN handles, one per CUDA device: created the first time an op runs on that device (after
// the table's select, cuda::set_device) and bound to that device's stream, the one every CUDA op
// of the device is queued on, so cuDNN and CUDA ops run in call order without host waits.
#include "handle.h"
#include <mutex>
#include <string>
#include <vector>

namespace alexnet {
namespace cudnn {
namespace {

std::mutex mutex;
std::vector<cudnnHandle_t> handles;  // by device index; null until that device's first op

}  // namespace

void fail(cudnnStatus_t status, const char* what) {
  throw cuda::Error(std::string(what) + ": " + cudnnGetErrorString(status));
}

cudnnHandle_t handle() {
  const int device = cuda::current_device();
  cudaStream_t stream = cuda::stream();
  std::lock_guard<std::mutex> lock(mutex);
  if (size_t(device) >= handles.size()) handles.resize(size_t(device) + 1, nullptr);
  cudnnHandle_t& h = handles[size_t(device)];
  if (!h) {
    // Never destroyed: a handle lives as long as the process (destroying it at exit could
    // run after the CUDA context is gone).
    cudnnHandle_t created = nullptr;
    check(cudnnCreate(&created), "cudnnCreate");
    const cudnnStatus_t status = cudnnSetStream(created, stream);
    if (status != CUDNN_STATUS_SUCCESS) {
      cudnnDestroy(created);  // already failing; its own status adds nothing
      fail(status, "cudnnSetStream");
    }
    h = created;
  }
  return h;
}

Tensor4d::Tensor4d(int n, int c, int h, int w) {
  check(cudnnSetTensor4dDescriptor(*this, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w),
        "cudnnSetTensor4dDescriptor");
}

}  // namespace cudnn
}  // namespace alexnet
