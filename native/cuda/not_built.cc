// Compiled instead of the CUDA sources where the build found no nvcc: there is no CUDA
// backend, and info() says why.
#include "backend.h"

namespace alexnet {
namespace cuda {

const Backend* backend() { return nullptr; }

void describe(Report& r) {
  r.flag("built", false);
  r.flag("usable", false);
  r.flag("ops", false);
  r.flag("emulated", false);
  r.number("cachedBytes", 0);
  r.text("reason", "not built with CUDA (nvcc was not found when the addon was built)");
  r.number("runtimeVersion", 0);
  r.number("driverVersion", 0);
  r.list("devices", {});
}

}  // namespace cuda
}  // namespace alexnet
