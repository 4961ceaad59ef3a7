// Softmax followed by multinomial cross-entropy, averaged over the batch.
//   logits, probs, dlogits: (N, CLASSES)   labels: (N) int32
//   loss = -1/N sum_n log softmax(logits_n)[label_n]
//   dlogits = scale * (probs - onehot(labels)) / N   (scale: the gradient of the loss, 1)
#include <algorithm>
#include <cmath>
#include <vector>
#include "cpu.h"
#include "parallel.h"

namespace alexnet {
namespace cpu {

double softmax_xent_forward(const SoftmaxXentParams& p, const float* logits, const int32_t* labels,
                            float* probs) {
  std::vector<double> row_loss(p.n);
  parallel_for(p.n, [&](int64_t n) {
    const float* z = logits + size_t(n) * p.classes;
    float* q = probs + size_t(n) * p.classes;
    const float zmax = *std::max_element(z, z + p.classes);
    double sum = 0.0;
    for (int c = 0; c < p.classes; ++c) {
      q[c] = std::exp(z[c] - zmax);
      sum += q[c];
    }
    const float inv = float(1.0 / sum);
    for (int c = 0; c < p.classes; ++c) q[c] *= inv;
    row_loss[n] = std::log(sum) - double(z[labels[n]] - zmax);
  });
  double total = 0.0;
  for (double l : row_loss) total += l;
  return total / p.n;
}

void softmax_xent_backward(const SoftmaxXentParams& p, const float* probs, const int32_t* labels,
                           float scale, float* dlogits) {
  const float s = scale / float(p.n);
  parallel_for(p.n, [&](int64_t n) {
    const float* q = probs + size_t(n) * p.classes;
    float* d = dlogits + size_t(n) * p.classes;
    for (int c = 0; c < p.classes; ++c) d[c] = s * q[c];
    d[labels[n]] -= s;
  });
}

}  // namespace cpu
}  // namespace alexnet
