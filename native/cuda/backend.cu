// The CUDA backend's op table: the kernels of this folder, one op per file.
#include "common.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {

const Ops* ops() {
  static const Ops table = ALEXNET_OPS_TABLE("cuda");
  return &table;
}

}  // namespace cuda
}  // namespace alexnet
