// Host memory for CPU tensors: 64-byte aligned so that vector loads never split cache lines.
#include <cstdlib>
#include <new>
#include "backend.h"

namespace alexnet {
namespace cpu {

float* alloc(size_t count) {
  size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
  if (bytes == 0) bytes = 64;
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  return static_cast<float*>(p);
}

void release(float* data) { std::free(data); }

}  // namespace cpu
}  // namespace alexnet
