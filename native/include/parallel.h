// Parallel loops for the CPU backend: OpenMP where the build has it, a plain loop otherwise.
// Big GEMMs are not called from inside these loops, so the BLAS's own threads never fight ours.
#pragma once
#include <cstdint>
#if defined(ALEXNET_HAVE_OPENMP)
#include <omp.h>
#endif

namespace alexnet {

inline int cpu_threads() {
#if defined(ALEXNET_HAVE_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// The calling thread's index in [0, cpu_threads()), for per-thread scratch buffers.
inline int thread_index() {
#if defined(ALEXNET_HAVE_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Calls body(i) for i in [0, count), split over the threads; small counts run inline.
template <typename Body>
void parallel_for(int64_t count, Body body, int64_t min_per_thread = 1) {
#if defined(ALEXNET_HAVE_OPENMP)
  if (count >= 2 * min_per_thread && cpu_threads() > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) body(i);
    return;
  }
#endif
  for (int64_t i = 0; i < count; ++i) body(i);
}

}  // namespace alexnet
