// The CUDA backend's table: the kernels of this folder, one op per file, on the device memory
// of memory.cu.
#include "common.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {

const Memory& memory() {
  static const Memory table = {false,        alloc,       release,      copy_to_host, copy_from_host,
                               copy_between, synchronize, cached_bytes, release_cached};
  return table;
}

const Backend* backend() {
  static const Backend table = {"cuda", &memory(), set_device, nullptr, ALEXNET_OPS_TABLE};
  return &table;
}

}  // namespace cuda
}  // namespace alexnet
