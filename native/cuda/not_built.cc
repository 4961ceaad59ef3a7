// Compiled instead of the CUDA sources where the build found no nvcc: CUDA reports itself
// "not built" and everything runs on the CPU.
#include "backend.h"

namespace alexnet {
namespace cuda {

Info info() {
  Info out;
  out.built = false;
  out.usable = false;
  out.reason = "not built with CUDA (nvcc was not found when the addon was built)";
  out.runtime_version = 0;
  out.driver_version = 0;
  return out;
}

}  // namespace cuda
}  // namespace alexnet
