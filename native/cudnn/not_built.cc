// Compiled where cuDNN was not found: there is no cuDNN backend, and info() says why.
#include "backend.h"

namespace alexnet {
namespace cudnn {

const Backend* backend() { return nullptr; }

void describe(Report& r) {
  r.flag("built", false);
  r.flag("usable", false);
  r.text("reason", "not built with cuDNN (cudnn.h not found when the addon was built)");
}

}  // namespace cudnn
}  // namespace alexnet
