// One tiled matrix-multiply kernel for every GEMM-shaped op of the CUDA backend: the plain
// SGEMM, the fully connected layers and the three convolutions (implicit GEMM: the im2col
// matrix is never stored; its elements are computed as the tile is loaded).
//
//   out(g, m, n, sum_k A(g, m, k) * B(g, k, n))   for every group g, m < M, n < N
//
// A and B are functors that return one element (they see only in-range m, n, k, and do
// their own zero padding); Out is the epilogue that stores one result (bias, alpha/beta,
// scatter to NCHW). Each block of 256 threads computes a 128x128 tile of C, each thread an
// 8x8 sub-tile held in registers, stepping through K 8 at a time through shared memory.
// Where the output has too few tiles to fill the GPU, K is split across blocks that write
// partial sums to scratch, and a second kernel adds them in a fixed order (deterministic).
// This is version v1; gemm_tile2.cuh has v2, tf32 and 3xtf32, and tile_gemm() at the end
// runs the one ALEXNET_GEMM names (gemm_version.cu). Each operand functor serves both: v1
// calls operator() per element, the others its cursor (at, src, advance, step).
#pragma once
#include "common.cuh"

namespace alexnet {
namespace cuda {

enum class GemmVersion { v1, v2, tf32, tf32x3 };
// ALEXNET_GEMM, read once per process (v1 when unset); an unknown value throws Error.
GemmVersion gemm_version();
const char* gemm_version_name(GemmVersion v);
// The current device's SM count (cached per device).
int multiprocessors();
// Throws Error naming `op` where the current device has no TF32 tensor cores (sm < 80).
void require_tensor_cores(const char* op);

constexpr int kTileM = 128, kTileN = 128, kTileK = 8, kTileThreads = 256;

// A::kFastK / B::kFastK: whether consecutive k are adjacent in memory for that operand, so
// the tile is loaded in the order that coalesces (threads next to each other read
// neighbouring addresses).
template <class A, class B, class Out, bool kSplit>
__global__ void __launch_bounds__(kTileThreads)
    tile_gemm_kernel(int groups, int M, int N, int K, int k_chunk, A a, B b, Out out, float* partial) {
  __shared__ float As[kTileK][kTileM + 4];  // +4: the k-fast stores hit distinct banks
  __shared__ float Bs[kTileK][kTileN + 4];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int n0 = blockIdx.x * kTileN, m0 = blockIdx.y * kTileM;
  const int g = blockIdx.z % groups, split = blockIdx.z / groups;
  const int k_begin = split * k_chunk;
  const int k_end = K < k_begin + k_chunk ? K : k_begin + k_chunk;

  float acc[8][8];
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  for (int k0 = k_begin; k0 < k_end; k0 += kTileK) {
    for (int r = 0; r < kTileM * kTileK / kTileThreads; ++r) {
      const int e = tid + r * kTileThreads;
      const int am = A::kFastK ? e / kTileK : e % kTileM;
      const int ak = A::kFastK ? e % kTileK : e / kTileM;
      As[ak][am] = (m0 + am < M && k0 + ak < k_end) ? a(g, m0 + am, k0 + ak) : 0.0f;
      const int bn = B::kFastK ? e / kTileK : e % kTileN;
      const int bk = B::kFastK ? e % kTileK : e / kTileN;
      Bs[bk][bn] = (n0 + bn < N && k0 + bk < k_end) ? b(g, k0 + bk, n0 + bn) : 0.0f;
    }
    __syncthreads();
    for (int k = 0; k < kTileK; ++k) {
      float av[8], bv[8];
      for (int i = 0; i < 8; ++i) av[i] = As[k][ty + 16 * i];
      for (int j = 0; j < 8; ++j) bv[j] = Bs[k][tx + 16 * j];
      for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) acc[i][j] += av[i] * bv[j];
    }
    __syncthreads();
  }

  for (int i = 0; i < 8; ++i) {
    const int m = m0 + ty + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 8; ++j) {
      const int n = n0 + tx + 16 * j;
      if (n >= N) continue;
      if (kSplit)
        partial[(size_t(blockIdx.z) * M + m) * N + n] = acc[i][j];
      else
        out(g, m, n, acc[i][j]);
    }
  }
}

// Adds the splits' partial sums in split order and hands each total to the epilogue.
template <class Out>
__global__ void tile_gemm_reduce_kernel(int groups, int M, int N, int splits, const float* partial, Out out) {
  const int64_t count = int64_t(groups) * M * N, stride = count;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    float sum = 0.0f;
    for (int s = 0; s < splits; ++s) sum += partial[s * stride + i];
    const int n = int(i % N), m = int(i / N % M), g = int(i / (int64_t(N) * M));
    out(g, m, n, sum);
  }
}

// Row-major matrices as operands. A(m, k) reads an (M, K) matrix with row stride ld, or,
// transposed, a stored (K, M) one; B(k, n) reads (K, N), or, transposed, a stored (N, K).
// Their cursor is a pointer, stepped along k by 1 or by ld.
template <bool kTrans>
struct MatrixA {
  const float* p;
  int ld;
  static constexpr bool kFastK = !kTrans;
  __device__ __forceinline__ float operator()(int, int m, int k) const {
    return kTrans ? p[size_t(k) * ld + m] : p[size_t(m) * ld + k];
  }
  using Cursor = const float*;
  using Step = int64_t;
  Step step(int d) const { return kTrans ? int64_t(d) * ld : d; }
  __device__ __forceinline__ Cursor at(int, int m, int k) const {
    return kTrans ? p + size_t(k) * ld + m : p + size_t(m) * ld + k;
  }
  __device__ __forceinline__ const float* src(Cursor c) const { return c; }
  __device__ __forceinline__ void advance(Cursor& c, Step d) const { c += d; }
};

template <bool kTrans>
struct MatrixB {
  const float* p;
  int ld;
  static constexpr bool kFastK = kTrans;
  __device__ __forceinline__ float operator()(int, int k, int n) const {
    return kTrans ? p[size_t(n) * ld + k] : p[size_t(k) * ld + n];
  }
  using Cursor = const float*;
  using Step = int64_t;
  Step step(int d) const { return kTrans ? d : int64_t(d) * ld; }
  __device__ __forceinline__ Cursor at(int, int n, int k) const {
    return kTrans ? p + size_t(n) * ld + k : p + size_t(k) * ld + n;
  }
  __device__ __forceinline__ const float* src(Cursor c) const { return c; }
  __device__ __forceinline__ void advance(Cursor& c, Step d) const { c += d; }
};

// How many ways to split K: enough blocks for a large GPU (about four per SM of an H100),
// but at least 256 of K per split so each block still does real work.
inline int tile_gemm_splits(int groups, int M, int N, int K) {
  const int64_t tiles = int64_t(groups) * ((M + kTileM - 1) / kTileM) * ((N + kTileN - 1) / kTileN);
  const int64_t wanted = (528 + tiles - 1) / tiles;
  const int64_t most = (K + 255) / 256;
  int64_t splits = wanted < most ? wanted : most;
  if (splits > 64) splits = 64;
  return splits < 1 ? 1 : int(splits);
}

template <class A, class B, class Out>
void tile_gemm_v1(const char* name, int groups, int M, int N, int K, const A& a, const B& b, const Out& out) {
  int splits = tile_gemm_splits(groups, M, N, K);
  // k_chunk is a multiple of the tile's K step, so every split starts on a step boundary
  const int k_chunk = ((K + splits - 1) / splits + kTileK - 1) / kTileK * kTileK;
  splits = K > 0 ? (K + k_chunk - 1) / k_chunk : 1;
  const dim3 grid(unsigned((N + kTileN - 1) / kTileN), unsigned((M + kTileM - 1) / kTileM), unsigned(groups * splits));
  if (splits == 1) {
    launch(name, grid, kTileThreads, tile_gemm_kernel<A, B, Out, false>, groups, M, N, K, k_chunk > 0 ? k_chunk : 1, a,
           b, out, static_cast<float*>(nullptr));
    return;
  }
  Scratch partial(size_t(splits) * groups * M * N);
  launch(name, grid, kTileThreads, tile_gemm_kernel<A, B, Out, true>, groups, M, N, K, k_chunk, a, b, out,
         partial.get());
  const int64_t count = int64_t(groups) * M * N;
  launch(name, elementwise_blocks(count), 256, tile_gemm_reduce_kernel<Out>, groups, M, N, splits,
         static_cast<const float*>(partial.get()), out);
}

}  // namespace cuda
}  // namespace alexnet

#include "gemm_tile2.cuh"

namespace alexnet {
namespace cuda {

// out(g, m, n, sum_k A(g, m, k) B(g, k, n)) by the GEMM version ALEXNET_GEMM names.
template <class A, class B, class Out>
void tile_gemm(const char* name, int groups, int M, int N, int K, const A& a, const B& b, const Out& out) {
  if (groups <= 0 || M <= 0 || N <= 0) return;
  switch (gemm_version()) {
    case GemmVersion::v1: tile_gemm_v1(name, groups, M, N, K, a, b, out); break;
    case GemmVersion::v2: tile_gemm2<Compute::simt>(name, groups, M, N, K, a, b, out); break;
    case GemmVersion::tf32: tile_gemm2<Compute::tf32>(name, groups, M, N, K, a, b, out); break;
    case GemmVersion::tf32x3: tile_gemm2<Compute::tf32x3>(name, groups, M, N, K, a, b, out); break;
  }
}

}  // namespace cuda
}  // namespace alexnet
