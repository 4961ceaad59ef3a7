// Matrix-vector products for gemm() where one side of C is a single row or column (a fully
// connected layer at batch 1), on the same OpenMP threads as every other CPU op. They run
// at memory speed (fc6 streams its 151 MB of weights), as the BLAS's GEMV does; the point
// of having our own is the threads: with the packed GEMM in use the BLAS is never called,
// so OpenBLAS's worker threads, which keep spinning for a while after each call, never
// share the two cores with OpenMP's (at batch 1, fc8's GEMV is followed by conv1).
//   gemv_rows:    y[i] = alpha sum_p A[i, p] x[p] + beta y[i]    A (rows, cols), rows ld apart
//   gemv_columns: y[j] = alpha sum_p x[p] A[p, j] + beta y[j]    A (rows, cols), rows ld apart
// x and y may be strided (incx, incy); beta = 0 ignores what y held (NaN included).
#include <algorithm>
#include <cstring>
#include <vector>
#include "cpu.h"
#include "parallel.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ALEXNET_CUDA_EMULATOR)
#define ALEXNET_GEMV_AVX512 1
#endif

namespace alexnet {
namespace cpu {
namespace {

// Below this many multiply-adds one thread does it: waking the others costs more.
constexpr int64_t kParallelWork = int64_t(1) << 16;

// x as a contiguous vector (a copy only where it is strided).
const float* contiguous(const float* x, int count, int incx, std::vector<float>& copy) {
  if (incx == 1) return x;
  copy.resize(size_t(count));
  for (int p = 0; p < count; ++p) copy[size_t(p)] = x[size_t(p) * incx];
  return copy.data();
}

float finish(float sum, float alpha, float beta, float old) { return alpha * sum + (beta == 0.0f ? 0.0f : beta * old); }

#if defined(ALEXNET_GEMV_AVX512)
typedef float Vec __attribute__((vector_size(64)));

__attribute__((target("avx512f"))) float horizontal_sum(Vec v) {
  float s = 0.0f;
  for (int l = 0; l < 16; ++l) s += v[l];
  return s;
}

// Rows i0 .. i1-1: four rows at a time share each load of x.
__attribute__((target("avx512f,fma"))) void rows_avx512(int i0, int i1, int cols, float alpha, const float* a, int lda,
                                                      const float* x, float beta, float* y, int incy) {
  const int vec_cols = cols / 16 * 16;
  int i = i0;
  for (; i + 4 <= i1; i += 4) {
    const float* r[4] = {a + size_t(i) * lda, a + size_t(i + 1) * lda, a + size_t(i + 2) * lda, a + size_t(i + 3) * lda};
    Vec acc[4] = {};
    for (int p = 0; p < vec_cols; p += 16) {
      Vec xv;
      std::memcpy(&xv, x + p, sizeof xv);
      for (int q = 0; q < 4; ++q) {
        Vec av;
        std::memcpy(&av, r[q] + p, sizeof av);
        acc[q] += av * xv;
      }
    }
    for (int q = 0; q < 4; ++q) {
      float s = horizontal_sum(acc[q]);
      for (int p = vec_cols; p < cols; ++p) s += r[q][p] * x[p];
      y[size_t(i + q) * incy] = finish(s, alpha, beta, y[size_t(i + q) * incy]);
    }
  }
  for (; i < i1; ++i) {
    const float* r = a + size_t(i) * lda;
    Vec acc = {};
    for (int p = 0; p < vec_cols; p += 16) {
      Vec xv, av;
      std::memcpy(&xv, x + p, sizeof xv);
      std::memcpy(&av, r + p, sizeof av);
      acc += av * xv;
    }
    float s = horizontal_sum(acc);
    for (int p = vec_cols; p < cols; ++p) s += r[p] * x[p];
    y[size_t(i) * incy] = finish(s, alpha, beta, y[size_t(i) * incy]);
  }
}

// Columns j0 .. j1-1 (j1 - j0 a multiple of 16 except at the end of y), 128 at a time in
// eight registers, each row of A read once along its length.
__attribute__((target("avx512f,fma"))) void columns_avx512(int j0, int j1, int rows, float alpha, const float* a,
                                                         int lda, const float* x, float beta, float* y, int incy) {
  constexpr int kVecs = 8;
  int j = j0;
  for (; j + 16 <= j1; j += kVecs * 16) {
    const int vecs = std::min(kVecs, (j1 - j) / 16);
    Vec acc[kVecs] = {};
    for (int p = 0; p < rows; ++p) {
      const float* r = a + size_t(p) * lda + j;
      const Vec xv = Vec{} + x[p];
      for (int v = 0; v < vecs; ++v) {
        Vec av;
        std::memcpy(&av, r + 16 * v, sizeof av);
        acc[v] += xv * av;
      }
    }
    for (int v = 0; v < vecs; ++v)
      for (int l = 0; l < 16; ++l) {
        float* out = y + size_t(j + 16 * v + l) * incy;
        *out = finish(acc[v][l], alpha, beta, *out);
      }
    if (vecs < kVecs) {
      j += vecs * 16;
      break;
    }
  }
  for (; j < j1; ++j) {  // fewer than 16 columns left
    float s = 0.0f;
    for (int p = 0; p < rows; ++p) s += x[p] * a[size_t(p) * lda + j];
    y[size_t(j) * incy] = finish(s, alpha, beta, y[size_t(j) * incy]);
  }
}
#endif

// The reference loops, where the CPU has no AVX-512.
void rows_plain(int i0, int i1, int cols, float alpha, const float* a, int lda, const float* x, float beta, float* y,
                int incy) {
  for (int i = i0; i < i1; ++i) {
    const float* r = a + size_t(i) * lda;
    float s = 0.0f;
    for (int p = 0; p < cols; ++p) s += r[p] * x[p];
    y[size_t(i) * incy] = finish(s, alpha, beta, y[size_t(i) * incy]);
  }
}

void columns_plain(int j0, int j1, int rows, float alpha, const float* a, int lda, const float* x, float beta, float* y,
                   int incy) {
  for (int j = j0; j < j1; ++j) {
    float s = 0.0f;
    for (int p = 0; p < rows; ++p) s += x[p] * a[size_t(p) * lda + j];
    y[size_t(j) * incy] = finish(s, alpha, beta, y[size_t(j) * incy]);
  }
}

// One slice of rows (or columns) [b, e) of a product whose other side is len long.
using Kernel = void (*)(int b, int e, int len, float alpha, const float* a, int lda, const float* x, float beta, float* y,
                        int incy);

// x made contiguous, then [0, count) split into one slice per thread (edges on multiples of
// `align`), each slice to the AVX-512 kernel where the CPU has it, else to the plain one.
void run(Kernel fast, Kernel plain, int count, int len, int align, float alpha, const float* a, int lda, const float* x,
         int incx, float beta, float* y, int incy) {
  thread_local std::vector<float> copy;
  const float* xc = contiguous(x, len, incx, copy);
  const Kernel kernel = fast && packed_gemm_available() ? fast : plain;
  const int threads = int64_t(count) * len >= kParallelWork ? cpu_threads() : 1;
  const int units = (count + align - 1) / align;
  parallel_for(threads, [&](int64_t t) {
    const int b = std::min(count, int(units * t / threads) * align), e = std::min(count, int(units * (t + 1) / threads) * align);
    if (b < e) kernel(b, e, len, alpha, a, lda, xc, beta, y, incy);
  });
}

#if defined(ALEXNET_GEMV_AVX512)
const Kernel kRowsFast = rows_avx512, kColumnsFast = columns_avx512;
#else
const Kernel kRowsFast = nullptr, kColumnsFast = nullptr;
#endif

}  // namespace

void gemv_rows(int rows, int cols, float alpha, const float* a, int lda, const float* x, int incx, float beta, float* y,
               int incy) {
  run(kRowsFast, rows_plain, rows, cols, 4, alpha, a, lda, x, incx, beta, y, incy);
}

void gemv_columns(int rows, int cols, float alpha, const float* a, int lda, const float* x, int incx, float beta,
                  float* y, int incy) {
  run(kColumnsFast, columns_plain, cols, rows, 16, alpha, a, lda, x, incx, beta, y, incy);
}

}  // namespace cpu
}  // namespace alexnet
