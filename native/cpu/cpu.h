// What the CPU backend's files share: its ops (the one list of signatures), its host memory
// and its GEMM. Private to native/cpu; the binding sees the backend only as a Backend table
// (backend.cc).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include "params.h"

namespace alexnet {
namespace cpu {

// memory.cc: 64-byte aligned host buffers, recycled through a bounded cache of freed ones.
float* alloc(size_t count);
void release(float* data);
size_t cached_bytes();
size_t cache_limit();
void release_cached();  // frees every cached buffer

// A scratch buffer from that cache, returned to it on scope exit.
struct Scratch {
  float* data;
  explicit Scratch(size_t count) : data(alloc(count)) {}
  ~Scratch() { release(data); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// gemm.cc: the built-in blocked GEMM, used where no CBLAS was found (and tested everywhere).
void gemm_builtin(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                  int lda, const float* b, int ldb, float beta, float* c, int ldc);
std::string blas_name();
std::string gemm_kernel();  // what gemm() runs now: the packed kernel or blas_name()

// gemm_packed.cc: the blocked GEMM with an AVX-512 micro-kernel, where the CPU has AVX-512.
bool packed_gemm_available();
void gemm_packed(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc);
// the same with an epilogue: C = op(A) op(B) * alpha + beta C + row_bias[i] (row_bias: M
// entries, or null), then max(0, .) where relu; applied as each tile is stored
void gemm_packed_epilogue(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                          const float* b, int ldb, float beta, float* c, int ldc, const float* row_bias, bool relu);
// What conv's forward asks of gemm(): C = op(A) op(B) + row_bias[i] (or no bias where null),
// then max(0, .) where relu, C overwritten. In the packed kernel's epilogue where it is in
// use; otherwise gemm() and one pass over C.
void gemm_bias_relu(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                    const float* row_bias, bool relu, float* c, int ldc);
// the same on the calling thread only, for products that are themselves run in parallel
void gemm_packed_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                        int lda, const float* b, int ldb, float beta, float* c, int ldc);
// gemv.cc: one-row or one-column products on our threads (AVX-512 where the CPU has it)
void gemv_rows(int rows, int cols, float alpha, const float* a, int lda, const float* x, int incx, float beta, float* y,
               int incy);
void gemv_columns(int rows, int cols, float alpha, const float* a, int lda, const float* x, int incx, float beta,
                  float* y, int incy);
bool gemm_uses_packed();  // what gemm() would run now (ALEXNET_CPU_GEMM and the CPU)
int blas_threads();

// winograd.cc: stride-1 3x3 and 5x5 convolutions by Winograd's minimal filtering; false
// where it does not apply (or ALEXNET_CPU_CONV says gemm), and conv.cc's im2col + GEMM runs.
bool winograd_forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y);
bool winograd_backward_data(const ConvParams& p, const float* dy, const float* w, float* dx);
bool winograd_backward_filter(const ConvParams& p, const float* x, const float* dy, float* dw);
const char* conv_algorithm_setting();  // ALEXNET_CPU_CONV: auto, gemm or winograd

#include "op_signatures.h"  // the ops, as every backend declares them

}  // namespace cpu
}  // namespace alexnet
