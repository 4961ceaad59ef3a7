// SGEMM of our own (no cuBLAS): row-major C = alpha * op(A) * op(B) + beta * C, as
// cpu::gemm. beta = 0 does not read C (so C may hold anything, NaN included).
#include "common.cuh"
#include "gemm_tile.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {
namespace {

// op(A)(m, k): A is (M, K) with row stride lda, or (K, M) when transposed.
struct MatrixA {
  const float* a;
  int lda;
  bool trans;
  static constexpr bool kFastK = true;  // the common case (not transposed)
  __device__ __forceinline__ float operator()(int, int m, int k) const {
    return trans ? a[size_t(k) * lda + m] : a[size_t(m) * lda + k];
  }
};

// op(B)(k, n): B is (K, N) with row stride ldb, or (N, K) when transposed.
struct MatrixB {
  const float* b;
  int ldb;
  bool trans;
  static constexpr bool kFastK = false;
  __device__ __forceinline__ float operator()(int, int k, int n) const {
    return trans ? b[size_t(n) * ldb + k] : b[size_t(k) * ldb + n];
  }
};

struct ScaledStore {
  float* c;
  int ldc;
  float alpha, beta;
  __device__ __forceinline__ void operator()(int, int m, int n, float v) const {
    float* p = c + size_t(m) * ldc + n;
    *p = beta == 0.0f ? alpha * v : alpha * v + beta * *p;
  }
};

}  // namespace

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc) {
  tile_gemm("gemm", 1, m, n, k, MatrixA{a, lda, trans_a}, MatrixB{b, ldb, trans_b}, ScaledStore{c, ldc, alpha, beta});
}

}  // namespace cuda
}  // namespace alexnet
