// Built where CMake's FindMPI found no MPI: the engine reports itself unavailable.
#include "comm.h"

namespace alexnet {
namespace comm {

EngineInfo mpi_info() {
  EngineInfo i;
#if defined(ALEXNET_MPI_WHY_NOT)
  i.reason = ALEXNET_MPI_WHY_NOT;
#else
  i.reason = "no MPI was found when the addon was built";
#endif
  return i;
}

Communicator* open_mpi(double) { throw CommError("open: " + mpi_info().reason); }

}  // namespace comm
}  // namespace alexnet
