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

// gemm.cc: the built-in blocked GEMM, used where no CBLAS was found (and tested everywhere).
void gemm_builtin(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                  int lda, const float* b, int ldb, float beta, float* c, int ldc);
std::string blas_name();
int blas_threads();

#include "op_signatures.h"  // the ops, as every backend declares them

}  // namespace cpu
}  // namespace alexnet
