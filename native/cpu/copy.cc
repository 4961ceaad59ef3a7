// Copies, fills and the elementwise sum within host memory (copies between devices go
// through the binding, which picks the backend that owns each side).
#include <cstring>
#include "cpu.h"
#include "parallel.h"

namespace alexnet {
namespace cpu {

void copy(int64_t count, const float* src, float* dst) {
  if (src != dst && count > 0) std::memcpy(dst, src, size_t(count) * sizeof(float));
}

void fill(int64_t count, float value, float* dst) {
  parallel_for(count, [&](int64_t i) { dst[i] = value; }, 1 << 16);
}

// out = a + b; out may alias a or b (the two-column model adds partial sums in place).
void add(int64_t count, const float* a, const float* b, float* out) {
  parallel_for(count, [&](int64_t i) { out[i] = a[i] + b[i]; }, 1 << 16);
}

}  // namespace cpu
}  // namespace alexnet
