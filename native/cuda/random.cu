// Seeded normal numbers, the same as native/cpu/random.cc: element i comes from Philox
// block i / 4 of (seed, offset) through Box-Muller in double precision, so the CPU and the
// GPU fill the same values (up to the last bit of sin/cos/log in double).
#include "common.cuh"
#include "ops.cuh"
#include "philox.h"

namespace alexnet {
namespace cuda {
namespace {

__global__ void normal_kernel(int64_t count, float mean, float stddev, uint64_t seed, uint64_t offset, float* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const Philox4 r = philox4x32_10(uint64_t(i) >> 2, offset, seed);
    const int lane = int(i & 3), pair = lane >> 1;
    const double u1 = (double(r.v[2 * pair] >> 8) + 1.0) / 16777216.0;  // (0, 1]
    const double u2 = double(r.v[2 * pair + 1] >> 8) / 16777216.0;       // [0, 1)
    const double radius = sqrt(-2.0 * log(u1));
    const double angle = 6.283185307179586 * u2;
    const double z = (lane & 1) ? radius * sin(angle) : radius * cos(angle);
    out[i] = float(mean + stddev * z);
  }
}

}  // namespace

void fill_normal(const NormalParams& p, float* out) {
  if (p.count)
    launch("randn", elementwise_blocks(p.count), 256, normal_kernel, p.count, p.mean, p.std, p.seed, p.offset, out);
}

}  // namespace cuda
}  // namespace alexnet
