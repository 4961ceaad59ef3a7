// The CUDA backend's ops: the same functions as alexnet::cpu, declared from the one list of
// signatures (op_signatures.h), one file each, gathered in the Ops table of backend.cu.
// Pointers are memory of the current device; softmax's labels are host memory and its
// forward waits for the stream (the loss comes back to the host).
#pragma once
#include "params.h"

namespace alexnet {
namespace cuda {
#include "op_signatures.h"
}  // namespace cuda
}  // namespace alexnet
