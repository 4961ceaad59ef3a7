// Compiled where cuDNN was not found: the cuDNN backend has no ops.
#include "backend.h"

namespace alexnet {
namespace cudnn {

const Ops* ops() { return nullptr; }
std::string version() { return ""; }

}  // namespace cudnn
}  // namespace alexnet
