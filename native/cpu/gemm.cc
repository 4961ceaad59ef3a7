// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C.
// op(A): (M, K), op(B): (K, N), C: (M, N). On a CPU with AVX-512, our packed kernel
// (gemm_packed.cc); otherwise through CBLAS where the build found one, and the built-in
// blocked version where it did not (always available, so that tests cover it). With the
// packed kernel, one-row and one-column products go to our GEMV (gemv.cc), so that the
// BLAS's threads are never woken.
// ALEXNET_CPU_GEMM=blas keeps the BLAS (or the built-in loops) on any CPU; =packed asks for
// the packed kernel and is an error where the CPU lacks AVX-512.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "errors.h"
#include "cpu.h"
#include "parallel.h"
#if defined(ALEXNET_HAVE_CBLAS)
#include <cblas.h>
#endif

namespace alexnet {
namespace cpu {

void gemm_builtin(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                  int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  // B is packed row-major (K, N) once so that the inner loop runs along contiguous memory.
  std::vector<float> packed;
  const float* bk = b;
  int ldbk = ldb;
  if (trans_b) {
    packed.resize(size_t(k) * n);
    parallel_for(k, [&](int64_t p) {
      for (int j = 0; j < n; ++j) packed[size_t(p) * n + j] = b[size_t(j) * ldb + p];
    });
    bk = packed.data();
    ldbk = n;
  }
  constexpr int kRows = 16, kDepth = 128, kCols = 512;
  const int row_blocks = (m + kRows - 1) / kRows;
  // Each thread owns whole row blocks of C: no two threads write the same element.
  parallel_for(row_blocks, [&](int64_t rb) {
    const int i0 = int(rb) * kRows, i1 = std::min(m, i0 + kRows);
    for (int i = i0; i < i1; ++i) {
      float* ci = c + size_t(i) * ldc;
      if (beta == 0.0f) std::fill(ci, ci + n, 0.0f);
      else if (beta != 1.0f) for (int j = 0; j < n; ++j) ci[j] *= beta;
    }
    for (int j0 = 0; j0 < n; j0 += kCols) {
      const int j1 = std::min(n, j0 + kCols);
      for (int p0 = 0; p0 < k; p0 += kDepth) {
        const int p1 = std::min(k, p0 + kDepth);
        for (int i = i0; i < i1; ++i) {
          float* ci = c + size_t(i) * ldc;
          for (int p = p0; p < p1; ++p) {
            const float aip = alpha * (trans_a ? a[size_t(p) * lda + i] : a[size_t(i) * lda + p]);
            if (aip == 0.0f) continue;
            const float* bp = bk + size_t(p) * ldbk;
            for (int j = j0; j < j1; ++j) ci[j] += aip * bp[j];
          }
        }
      }
    }
  });
}

namespace {
// true: the packed kernel; false: the BLAS or the built-in loops. Read at every call, so
// that a test can compare the two in one process.
bool use_packed() {
  const char* s = std::getenv("ALEXNET_CPU_GEMM");
  if (!s || !*s || !std::strcmp(s, "auto")) return packed_gemm_available();
  if (!std::strcmp(s, "blas")) return false;
  if (!std::strcmp(s, "packed")) {
    if (!packed_gemm_available()) throw OpError("ALEXNET_CPU_GEMM=packed: this CPU has no AVX-512 (use auto or blas)");
    return true;
  }
  throw OpError(std::string("ALEXNET_CPU_GEMM must be one of auto, blas, packed (got '") + s + "')");
}
}  // namespace

bool gemm_uses_packed() { return use_packed(); }

std::string gemm_kernel() {
  return use_packed() ? "packed AVX-512 kernel (ours)" : blas_name();
}

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // nothing to multiply: C = beta * C
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) c[size_t(i) * ldc + j] = beta == 0.0f ? 0.0f : beta * c[size_t(i) * ldc + j];
    return;
  }
  const bool packed = use_packed();
  if (packed && m == 1) {  // c (1, n): a row of A (or column of A^T) times op(B)
    const int inc_a = trans_a ? lda : 1;
    if (trans_b) return gemv_rows(n, k, alpha, b, ldb, a, inc_a, beta, c, 1);
    return gemv_columns(k, n, alpha, b, ldb, a, inc_a, beta, c, 1);
  }
  if (packed && n == 1) {  // c (m, 1): op(A) times a column of B (or row of B^T)
    const int inc_b = trans_b ? 1 : ldb;
    if (!trans_a) return gemv_rows(m, k, alpha, a, lda, b, inc_b, beta, c, ldc);
    return gemv_columns(k, m, alpha, a, lda, b, inc_b, beta, c, ldc);
  }
#if defined(ALEXNET_HAVE_CBLAS)
  // A one-row or one-column product is a matrix-vector product, which the BLAS's GEMV streams
  // at memory speed; its GEMM pads and packs it as a matrix (fc6 at batch 1: about 3x slower).
  if (m == 1) {  // c (1, n) = alpha op(B)^T a + beta c;  a: row of A, or column of A^T
    cblas_sgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, trans_b ? n : k, trans_b ? k : n, alpha, b, ldb,
                a, trans_a ? lda : 1, beta, c, 1);
    return;
  }
  if (n == 1) {  // c (m, 1) = alpha op(A) b + beta c;  b: column of B, or row of B^T
    cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_a ? k : m, trans_a ? m : k, alpha, a, lda,
                b, trans_b ? 1 : ldb, beta, c, ldc);
    return;
  }
  if (packed) return gemm_packed(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
  if (packed) return gemm_packed(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  gemm_builtin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

void gemm_bias_relu(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                    const float* row_bias, bool relu, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (m > 1 && n > 1 && k > 0 && use_packed())
    return gemm_packed_epilogue(trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, row_bias, relu);
  gemm(trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  if (!row_bias && !relu) return;
  parallel_for(m, [&](int64_t i) {
    float* row = c + size_t(i) * ldc;
    const float bias = row_bias ? row_bias[i] : 0.0f;
    for (int j = 0; j < n; ++j) row[j] = relu ? relu_of(row[j] + bias) : row[j] + bias;
  });
}

std::string blas_name() {
#if defined(ALEXNET_HAVE_OPENBLAS)
  return std::string(openblas_get_config()) + " (" ALEXNET_BLAS_LINK ")";
#else
  return ALEXNET_BLAS_NAME;
#endif
}

int blas_threads() {
#if defined(ALEXNET_HAVE_OPENBLAS)
  return openblas_get_num_threads();
#else
  return cpu_threads();
#endif
}

}  // namespace cpu
}  // namespace alexnet
