// Seeded normal numbers from Philox + Box-Muller: element i comes from block i / 4 of
// (seed, offset); words (0, 1) give lanes 0 and 1, words (2, 3) lanes 2 and 3. The same
// (seed, offset) fills the same values whatever the device or the thread count.
//   out: count elements
#include <cmath>
#include "cpu.h"
#include "parallel.h"
#include "philox.h"

namespace alexnet {
namespace cpu {

void fill_normal(const NormalParams& p, float* out) {
  parallel_for(p.count, [&](int64_t i) {
    const Philox4 r = philox4x32_10(uint64_t(i) >> 2, p.offset, p.seed);
    const int lane = int(i & 3), pair = lane >> 1;
    const double u1 = (double(r.v[2 * pair] >> 8) + 1.0) / 16777216.0;  // (0, 1]
    const double u2 = double(r.v[2 * pair + 1] >> 8) / 16777216.0;       // [0, 1)
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586 * u2;
    const double z = (lane & 1) ? radius * std::sin(angle) : radius * std::cos(angle);
    out[i] = float(p.mean + p.std * z);
  }, 1 << 12);
}

}  // namespace cpu
}  // namespace alexnet
