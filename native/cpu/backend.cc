// The CPU backend's op table: the functions of this folder, one op per file.
#include "backend.h"

namespace alexnet {
namespace cpu {

const Ops& ops() {
  static const Ops table = ALEXNET_OPS_TABLE("cpu");
  return table;
}

}  // namespace cpu
}  // namespace alexnet
