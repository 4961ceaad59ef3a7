// Fully connected layer through GEMM.
//   x: (N, IN)   w: (OUT, IN)   b: (OUT)   y: (N, OUT)
//   y = x w^T + b,   dx = dy w,   dw = dy^T x,   db = sum over N of dy
// With p.relu the forward is y = max(0, x w^T + b), in the pass that adds the bias.
#include <algorithm>
#include "cpu.h"
#include "parallel.h"
#include "simd.h"

namespace alexnet {
namespace cpu {
namespace {
// The forward's epilogue on one row of y (OUT floats): + b, max(0, + b), or max(0, .).
ALEXNET_SIMD void add_row(float* __restrict y, const float* __restrict b, int len) {
  for (int o = 0; o < len; ++o) y[o] += b[o];
}
ALEXNET_SIMD void add_relu_row(float* __restrict y, const float* __restrict b, int len) {
  for (int o = 0; o < len; ++o) y[o] = relu_of(y[o] + b[o]);
}
ALEXNET_SIMD void relu_row(float* y, int len) {
  for (int o = 0; o < len; ++o) y[o] = relu_of(y[o]);
}
}  // namespace

void linear_forward(const LinearParams& p, const float* x, const float* w, const float* b, float* y) {
  gemm(false, true, p.n, p.out, p.in, 1.0f, x, p.in, w, p.in, 0.0f, y, p.out);
  if (b || p.relu) {
    parallel_for(p.n, [&](int64_t n) {
      float* yn = y + size_t(n) * p.out;
      if (!p.relu) add_row(yn, b, p.out);
      else if (b) add_relu_row(yn, b, p.out);
      else relu_row(yn, p.out);
    });
  }
}

void linear_backward_data(const LinearParams& p, const float* dy, const float* w, float* dx) {
  gemm(false, false, p.n, p.in, p.out, 1.0f, dy, p.out, w, p.in, 0.0f, dx, p.in);
}

namespace {
constexpr int kBiasBlock = 256;  // bias-gradient columns per task (2 KB of double sums)

// db[o0 .. o0+len) = sum over n of dy[n][o], in double, row by row: the inner loop runs along
// dy's contiguous rows (a sum per column, down dy, strides by OUT floats and does not vectorise).
ALEXNET_SIMD void bias_grad_block(const float* dy, int n, int ld, int len, float* db) {
  double acc[kBiasBlock];
  for (int o = 0; o < len; ++o) acc[o] = 0.0;
  for (int r = 0; r < n; ++r) {
    const float* row = dy + size_t(r) * ld;
    for (int o = 0; o < len; ++o) acc[o] += row[o];
  }
  for (int o = 0; o < len; ++o) db[o] = float(acc[o]);
}
}  // namespace

void linear_backward_params(const LinearParams& p, const float* x, const float* dy, float* dw, float* db) {
  gemm(true, false, p.out, p.in, p.n, 1.0f, dy, p.out, x, p.in, 0.0f, dw, p.in);
  if (db) {
    const int blocks = (p.out + kBiasBlock - 1) / kBiasBlock;
    parallel_for(blocks, [&](int64_t b) {
      const int o0 = int(b) * kBiasBlock;
      bias_grad_block(dy + o0, p.n, p.out, std::min(kBiasBlock, p.out - o0), db + o0);
    });
  }
}

}  // namespace cpu
}  // namespace alexnet
