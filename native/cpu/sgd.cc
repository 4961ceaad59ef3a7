// The paper's update rule (section 5), for every parameter tensor, in place:
//   v <- momentum * v - weight_decay * lr * w - lr * dw
//   w <- w + v
//   w, dw, v: count elements
#include "cpu.h"
#include "parallel.h"

namespace alexnet {
namespace cpu {

void sgd_update(const SgdParams& p, float* w, const float* dw, float* v) {
  const float decay = p.weight_decay * p.lr;
  parallel_for(p.count, [&](int64_t i) {
    const float vi = p.momentum * v[i] - decay * w[i] - p.lr * dw[i];
    v[i] = vi;
    w[i] += vi;
  }, 1 << 14);
}

}  // namespace cpu
}  // namespace alexnet
