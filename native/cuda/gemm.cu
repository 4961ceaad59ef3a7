// SGEMM of our own (no cuBLAS): row-major C = alpha * op(A) * op(B) + beta * C, as
// cpu::gemm. beta = 0 does not read C (so C may hold anything, NaN included).
#include "common.cuh"
#include "gemm_tile.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {
namespace {

struct ScaledStore {
  float* c;
  int ldc;
  float alpha, beta;
  __device__ __forceinline__ void operator()(int, int m, int n, float v) const {
    float* p = c + size_t(m) * ldc + n;
    *p = beta == 0.0f ? alpha * v : alpha * v + beta * *p;
  }
};

template <bool kTransA, bool kTransB>
void run(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c,
         int ldc) {
  tile_gemm("gemm", 1, m, n, k, MatrixA<kTransA>{a, lda}, MatrixB<kTransB>{b, ldb}, ScaledStore{c, ldc, alpha, beta});
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc) {
  // one instantiation per layout, so each operand is loaded in the order that coalesces
  auto f = trans_a ? (trans_b ? run<true, true> : run<true, false>) : (trans_b ? run<false, true> : run<false, false>);
  f(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace cuda
}  // namespace alexnet
