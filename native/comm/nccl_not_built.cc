// Built without NCCL (no CUDA backend, no nccl.h, or no MPI to exchange its unique id).
#include "comm.h"

namespace alexnet {
namespace comm {

EngineInfo nccl_info() {
  EngineInfo i;
#if defined(ALEXNET_NCCL_WHY_NOT)
  i.reason = ALEXNET_NCCL_WHY_NOT;
#else
  i.reason = "NCCL was not found when the addon was built";
#endif
  return i;
}

Communicator* open_nccl(Communicator*, double) { throw CommError("open: NCCL not built: " + nccl_info().reason); }

}  // namespace comm
}  // namespace alexnet
