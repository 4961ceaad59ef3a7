// Source-level wrappers for the instructions the tensor-core and pipelined GEMM kernels use
// (gemm_tile2.cuh): TF32 conversion, warp-collective mma.sync m16n8k8 TF32, and cp.async.
// The device code calls only these; on a GPU they are one PTX instruction each, and in the
// test build (ALEXNET_CUDA_EMULATOR) the host emulator does what the hardware does:
//
//  - tf32_rna(x): cvt.rna.tf32.f32, round to the nearest TF32 value (8-bit exponent, 10-bit
//    mantissa), ties away from zero; the result is an f32 bit pattern whose low 13 bits are 0.
//  - mma_m16n8k8_tf32: D(16x8) += A(16x8, row) * B(8x8, col), FP32 accumulation. Operand
//    registers are read as TF32: only the top 19 bits count (the low 13 are ignored), so the
//    emulator masks them off. Each product of two TF32 values is exact in FP32; the emulator
//    sums the eight products of a row and column exactly (in double) and rounds once when
//    adding them to the accumulator. The tensor core's internal adder order and rounding are
//    not published; this model differs from it by at most a few FP32 ulps of the sum, far
//    inside the TF32 tolerances of the tests.
//    Fragments (lane = 4 * group + t, group 0..7, t 0..3), as the PTX ISA gives them:
//      a[0] = A(group, t)     a[1] = A(group + 8, t)   a[2] = A(group, t + 4)   a[3] = A(group + 8, t + 4)
//      b[0] = B(t, group)     b[1] = B(t + 4, group)
//      d[0] = D(group, 2t)    d[1] = D(group, 2t + 1)  d[2] = D(group + 8, 2t)  d[3] = D(group + 8, 2t + 1)
//  - cp_async_f32(dst, src): a 4-byte cp.async.ca global -> shared (src null: dst gets 0, by
//    an ordinary shared store); cp_async_commit / cp_async_wait<n> are cp.async.commit_group
//    and cp.async.wait_group n. The copies are visible to the issuing thread after the wait,
//    to other threads after the wait and a __syncthreads(). The emulator performs a copy only
//    when its thread waits, so a missing wait reads stale data there too.
// sm_75 has neither instruction: cp.async falls back to a load and a store (same result:
// the barrier that follows orders them), and the mma kernels are refused on the host before
// launch (gemm_version.cu), with a __trap() here so a mistake cannot compute garbage.
#pragma once
#include <cstdint>
#include <cstring>

#ifdef ALEXNET_CUDA_EMULATOR
#include "emu/cuda_runtime_emu.h"
#else
#include <cuda_runtime.h>
#endif

namespace alexnet {
namespace cuda {

#if defined(ALEXNET_CUDA_EMULATOR) || !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define ALEXNET_HAVE_MMA_TF32 1
#endif

__device__ __forceinline__ float bits_to_float(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

__device__ __forceinline__ uint32_t float_to_bits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

// The TF32 value nearest x (ties away from zero), as the bits of an f32.
__device__ __forceinline__ uint32_t tf32_rna(float x) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
#else
  const uint32_t u = float_to_bits(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return (u & 0x007fffffu) ? 0x7fffffffu : u;  // NaN stays NaN, Inf stays
  // adding half of the dropped range rounds ties away from zero (sign-magnitude); a carry
  // into the exponent is the correct next binade, and past the largest finite it gives Inf
  return (u + 0x1000u) & 0xffffe000u;
#endif
}

#ifdef ALEXNET_CUDA_EMULATOR
namespace emu_detail {
// One lane's D of one m16n8k8 from all 32 lanes' A and B fragments (lane-major, a: 4 words
// per lane, b: 2 words per lane), as the tensor core computes it (see the top of the file).
inline void mma_lane(float d[4], const uint32_t* a, const uint32_t* b, unsigned lane) {
  const unsigned group = lane / 4, t = lane % 4;
  auto A = [&](unsigned row, unsigned k) {  // which lane holds A(row, k), and which word
    const unsigned owner = (row % 8) * 4 + k % 4, word = (row / 8) + 2 * (k / 4);
    return bits_to_float(a[owner * 4 + word] & 0xffffe000u);
  };
  auto B = [&](unsigned k, unsigned col) {
    const unsigned owner = col * 4 + k % 4, word = k / 4;
    return bits_to_float(b[owner * 2 + word] & 0xffffe000u);
  };
  for (int i = 0; i < 4; ++i) {
    const unsigned row = group + 8 * (i / 2), col = 2 * t + i % 2;
    double sum = 0.0;
    for (unsigned k = 0; k < 8; ++k) sum += double(A(row, k)) * double(B(k, col));
    d[i] = float(double(d[i]) + sum);
  }
}
}  // namespace emu_detail
#endif

// d += A * B for MI x NI m16n8k8 tiles of one warp: acc[i][j] is the D fragment of A tile i
// (a[i]) times B tile j (b[j]). Every lane of the warp must call it (mma.sync.aligned).
template <int MI, int NI>
__device__ __forceinline__ void mma_m16n8k8_tf32(float (&acc)[MI][NI][4], const uint32_t (&a)[MI][4],
                                                 const uint32_t (&b)[NI][2]) {
#ifdef ALEXNET_CUDA_EMULATOR
  // gather every lane's fragments, wait for the warp, compute this lane's share, and wait
  // again so that no lane overwrites the scratch while another still reads it
  constexpr size_t kA = size_t(MI) * 4, kB = size_t(NI) * 2;
  uint32_t* scratch = static_cast<uint32_t*>(alexnet_emu::warp_scratch(32 * (kA + kB) * sizeof(uint32_t)));
  const unsigned lane = alexnet_emu::lane_id();
  for (int i = 0; i < MI; ++i)
    for (int w = 0; w < 4; ++w) scratch[(size_t(i) * 32 + lane) * 4 + w] = a[i][w];
  uint32_t* bs = scratch + 32 * kA;
  for (int j = 0; j < NI; ++j)
    for (int w = 0; w < 2; ++w) bs[(size_t(j) * 32 + lane) * 2 + w] = b[j][w];
  alexnet_emu::syncwarp();
  for (int i = 0; i < MI; ++i)
    for (int j = 0; j < NI; ++j) emu_detail::mma_lane(acc[i][j], scratch + size_t(i) * 32 * 4, bs + size_t(j) * 32 * 2, lane);
  alexnet_emu::syncwarp();
#elif defined(ALEXNET_HAVE_MMA_TF32)
#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < NI; ++j)
      asm volatile(
          "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
          : "+f"(acc[i][j][0]), "+f"(acc[i][j][1]), "+f"(acc[i][j][2]), "+f"(acc[i][j][3])
          : "r"(a[i][0]), "r"(a[i][1]), "r"(a[i][2]), "r"(a[i][3]), "r"(b[j][0]), "r"(b[j][1]));
#else
  __trap();  // sm_75: the host never launches a tensor-core kernel there
#endif
}

// ---- cp.async ----
__device__ __forceinline__ void cp_async_f32(float* dst_shared, const float* src_global) {
#ifdef ALEXNET_CUDA_EMULATOR
  if (src_global)
    alexnet_emu::cp_async(dst_shared, src_global, sizeof(float));
  else
    *dst_shared = 0.0f;
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if (src_global) {
    const unsigned dst = unsigned(__cvta_generic_to_shared(dst_shared));
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(dst), "l"(src_global) : "memory");
  } else {
    *dst_shared = 0.0f;
  }
#else
  *dst_shared = src_global ? __ldg(src_global) : 0.0f;
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#ifdef ALEXNET_CUDA_EMULATOR
  alexnet_emu::cp_async_commit();
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}

template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
#ifdef ALEXNET_CUDA_EMULATOR
  alexnet_emu::cp_async_wait(kPending);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending) : "memory");
#endif
}

}  // namespace cuda
}  // namespace alexnet
