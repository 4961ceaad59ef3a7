// The CPU backend's table: the ops of this folder, one op per file, on host memory
// (memory.cc); and what it reports about itself.
#include <cstring>
#include "backend.h"
#include "cpu.h"
#include "parallel.h"

namespace alexnet {
namespace cpu {
namespace {

// Host memory has one device: the index is ignored, and nothing is ever queued.
void select(int) {}
float* allocate(int, size_t count) { return alloc(count); }
void free_buffer(int, float* data) { release(data); }
void to_host(int, const float* src, float* dst, int64_t count) { std::memcpy(dst, src, size_t(count) * sizeof(float)); }
void from_host(int, const float* src, float* dst, int64_t count) { std::memcpy(dst, src, size_t(count) * sizeof(float)); }
void copy_within(int, const float* src, int, float* dst, int64_t count) { copy(count, src, dst); }
void synchronize(int) {}

}  // namespace

const Backend* backend() {
  static const Memory memory = {true, allocate, free_buffer, to_host, from_host, copy_within, synchronize, cached_bytes, release_cached};
  static const Backend table = {"cpu", &memory, select, gemm_builtin, ALEXNET_OPS_TABLE};
  return &table;
}

void describe(Report& r) {
  r.flag("built", true);
  r.flag("usable", true);
  r.text("blas", blas_name());
#if defined(ALEXNET_HAVE_CBLAS)
  r.flag("blasFound", true);
#else
  r.flag("blasFound", false);
#endif
  r.number("blasThreads", blas_threads());
  r.text("convAlgorithm", conv_algorithm_setting());
  r.text("gemm", gemm_kernel());
  r.flag("packedGemm", packed_gemm_available());
  r.number("threads", cpu_threads());
  r.number("cachedBytes", double(cached_bytes()));
  r.number("cacheLimitBytes", double(cache_limit()));
#if defined(ALEXNET_HAVE_OPENMP)
  r.flag("openmp", true);
#else
  r.flag("openmp", false);
#endif
}

}  // namespace cpu
}  // namespace alexnet
