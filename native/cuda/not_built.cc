// Compiled instead of the CUDA sources where the build found no nvcc: CUDA reports itself
// "not built", has no ops, and any attempt to put memory on it says why.
#include <stdexcept>
#include "backend.h"

namespace alexnet {
namespace cuda {

namespace {
[[noreturn]] void not_built() {
  throw std::runtime_error("this addon was built without CUDA (nvcc was not found when it was built); use the cpu device");
}
}  // namespace

Info info() {
  Info out;
  out.built = false;
  out.usable = false;
  out.reason = "not built with CUDA (nvcc was not found when the addon was built)";
  out.runtime_version = 0;
  out.driver_version = 0;
  return out;
}

const Ops* ops() { return nullptr; }
void set_device(int) { not_built(); }
float* alloc(int, size_t) { not_built(); }
void release(int, float*) noexcept {}
size_t cached_bytes() { return 0; }
void release_cached() {}
void copy_to_host(int, const float*, float*, int64_t) { not_built(); }
void copy_from_host(int, const float*, float*, int64_t) { not_built(); }
void copy_between(int, const float*, int, float*, int64_t) { not_built(); }
void synchronize(int) { not_built(); }

}  // namespace cuda
}  // namespace alexnet
