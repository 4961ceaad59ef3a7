// Built where CMake's FindMPI found no MPI: the engine reports itself unavailable.
#include "comm.h"

namespace alexnet {
namespace comm {

EngineInfo mpi_info() {
  EngineInfo i;
  i.reason = "no MPI was found when the addon was built (install openmpi-bin and libopenmpi-dev, then rebuild)";
  return i;
}

Communicator* open_mpi(double) { throw CommError("open: " + mpi_info().reason); }

}  // namespace comm
}  // namespace alexnet
