// Runtime dispatch for the CPU backend's element loops: a function marked ALEXNET_SIMD is
// compiled three times (AVX-512, AVX2, baseline x86-64) and the loader picks the widest the
// CPU has, so one binary runs everywhere and the compiler's vectoriser does the rest. Loops
// in such functions are plain C++ (no intrinsics): the plain loop is the specification.
#pragma once
#include <cstddef>  // defines __GLIBC__ where the C library is glibc (ifunc, which the clones need)

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__) && !defined(ALEXNET_CUDA_EMULATOR)
#define ALEXNET_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ALEXNET_SIMD
#endif
