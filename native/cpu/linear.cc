// Fully connected layer through GEMM.
//   x: (N, IN)   w: (OUT, IN)   b: (OUT)   y: (N, OUT)
//   y = x w^T + b,   dx = dy w,   dw = dy^T x,   db = sum over N of dy
#include "cpu.h"
#include "parallel.h"

namespace alexnet {
namespace cpu {

void linear_forward(const LinearParams& p, const float* x, const float* w, const float* b, float* y) {
  gemm(false, true, p.n, p.out, p.in, 1.0f, x, p.in, w, p.in, 0.0f, y, p.out);
  if (b) {
    parallel_for(p.n, [&](int64_t n) {
      float* yn = y + size_t(n) * p.out;
      for (int o = 0; o < p.out; ++o) yn[o] += b[o];
    });
  }
}

void linear_backward_data(const LinearParams& p, const float* dy, const float* w, float* dx) {
  gemm(false, false, p.n, p.in, p.out, 1.0f, dy, p.out, w, p.in, 0.0f, dx, p.in);
}

void linear_backward_params(const LinearParams& p, const float* x, const float* dy, float* dw, float* db) {
  gemm(true, false, p.out, p.in, p.n, 1.0f, dy, p.out, x, p.in, 0.0f, dw, p.in);
  if (db) {
    parallel_for(p.out, [&](int64_t o) {
      double sum = 0.0;
      for (int n = 0; n < p.n; ++n) sum += dy[size_t(n) * p.out + o];
      db[o] = float(sum);
    }, 256);
  }
}

}  // namespace cpu
}  // namespace alexnet
