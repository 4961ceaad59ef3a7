// GEMM versions v2 (FP32 SIMT), tf32 and 3xtf32 (mma.sync tensor cores) for the same ops as
// v1 (gemm_tile.cuh), chosen by ALEXNET_GEMM (gemm_version.cu). What changes from v1:
//  - Operands are read through cursors: a thread's row (or column) of the tile is decoded
//    once, before the K loop (for im2col: image, output pixel, top-left input pixel), and the
//    K index is stepped by constants in mixed-radix digits, e.g. (channel, kernel row, kernel
//    column), so there is no integer division or remainder inside the K loop.
//  - Each thread copies a run of consecutive k for one row: one cursor per operand.
//  - cp.async double buffering: the next K step's tile is copied into the other shared
//    buffer while this one is multiplied; one barrier per K step of 16.
//  - SIMT: 4-wide thread tiles (rows ty*4.., columns tx*4..), so shared loads are float4.
//    Tensor cores: 8 warps as 2 x 4, each a (BM/2) x 32 warp tile of m16n8k8 products.
//  - Tile height 64 or 128 by M (whichever pads M less; conv2's data gradient has M = 48).
//  - Split-K chosen by the device's SM count: the split that minimises waves x K per block.
// Every block has 256 threads and a 16-deep K step; BN is 128.
// Included by gemm_tile.cuh (it uses the split-K reduction kernel and the version switch).
#pragma once
#include "common.cuh"
#include "mma.cuh"

#ifdef ALEXNET_CUDA_EMULATOR
#define ALEXNET_UNROLL
#else
#define ALEXNET_UNROLL _Pragma("unroll")
#endif

namespace alexnet {
namespace cuda {

enum class Compute { simt, tf32, tf32x3 };

// An index in mixed radix: hi (unbounded), mid < r1, lo < r0. Decoded once (with division,
// outside the loop), then advanced by a constant's digits: two compares, no division.
struct Digits3 {
  int hi, mid, lo;
};

__host__ __device__ inline Digits3 digits3(int value, int r1, int r0) {
  return Digits3{value / (r1 * r0), value / r0 % r1, value % r0};
}

__device__ __forceinline__ void advance3(Digits3& x, const Digits3& d, int r1, int r0) {
  x.lo += d.lo;
  x.mid += d.mid;
  x.hi += d.hi;
  if (x.lo >= r0) {  // lo + d.lo < 2 r0: one carry at most
    x.lo -= r0;
    ++x.mid;
  }
  if (x.mid >= r1) {
    x.mid -= r1;
    ++x.hi;
  }
}

// An operand with the two steps its cursor takes: +1 (next k of the thread's run) and the
// jump from the end of the run to the start of its run in the next K step.
template <class Op>
struct Loader {
  Op op;
  typename Op::Step unit, skip;
};

constexpr int kT2N = 128, kT2K = 16, kT2Threads = 256, kT2Pad = 8;  // +8: conflict-free mma fragment loads

template <int BM>
struct alignas(16) Tile2Shared {
  float a[2][kT2K][BM + kT2Pad];
  float b[2][kT2K][kT2N + kT2Pad];
};

template <int BM, Compute C, class A, class B, class Out>
__global__ void __launch_bounds__(kT2Threads)
    tile_gemm2_kernel(int groups, int M, int N, int K, int k_chunk, Loader<A> a, Loader<B> b, Out out, float* partial) {
  constexpr int BN = kT2N, BK = kT2K;
  constexpr int EA = BM * BK / kT2Threads, EB = BN * BK / kT2Threads;  // elements per thread per K step
  __shared__ Tile2Shared<BM> sm;
  const int tid = threadIdx.x;
  const int n0 = blockIdx.x * BN, m0 = blockIdx.y * BM;
  const int g = blockIdx.z % groups, split = blockIdx.z / groups;
  const int k_begin = split * k_chunk;
  const int k_end = K < k_begin + k_chunk ? K : k_begin + k_chunk;

  // this thread's row of A and column of B, and where its run of k starts in a K step:
  // neighbouring threads take neighbouring addresses (along k where the operand is k-fast)
  const int am = A::kFastK ? tid / (BK / EA) : tid % BM;
  const int ak = (A::kFastK ? tid % (BK / EA) : tid / BM) * EA;
  const int bn = B::kFastK ? tid / (BK / EB) : tid % BN;
  const int bk = (B::kFastK ? tid % (BK / EB) : tid / BN) * EB;
  const bool a_ok = m0 + am < M, b_ok = n0 + bn < N;
  typename A::Cursor ac = a.op.at(g, a_ok ? m0 + am : 0, k_begin + ak);
  typename B::Cursor bc = b.op.at(g, b_ok ? n0 + bn : 0, k_begin + bk);

  auto load = [&](int stage, int k0) {
ALEXNET_UNROLL
    for (int e = 0; e < EA; ++e) {
      cp_async_f32(&sm.a[stage][ak + e][am], a_ok && k0 + ak + e < k_end ? a.op.src(ac) : nullptr);
      a.op.advance(ac, a.unit);
    }
    a.op.advance(ac, a.skip);
ALEXNET_UNROLL
    for (int e = 0; e < EB; ++e) {
      cp_async_f32(&sm.b[stage][bk + e][bn], b_ok && k0 + bk + e < k_end ? b.op.src(bc) : nullptr);
      b.op.advance(bc, b.unit);
    }
    b.op.advance(bc, b.skip);
    cp_async_commit();
  };

  const int steps = k_end > k_begin ? (k_end - k_begin + BK - 1) / BK : 0;
  if (steps > 0) load(0, k_begin);

  if constexpr (C == Compute::simt) {
    // thread (tx, ty) of 16 x 16 owns rows ty*VM + {0..VM-1} of each of CM row chunks, and
    // columns tx*4 + {0..3} of each of 2 column chunks
    constexpr int TM = BM / 16, VM = TM < 4 ? TM : 4, CM = TM / VM, TN = 8;
    const int tx = tid % 16, ty = tid / 16;
    float acc[TM][TN];
ALEXNET_UNROLL
    for (int i = 0; i < TM; ++i)
ALEXNET_UNROLL
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    for (int step = 0; step < steps; ++step) {
      cp_async_wait<0>();
      __syncthreads();  // this step's tile is in; everyone is done with the other buffer
      if (step + 1 < steps) load((step + 1) & 1, k_begin + (step + 1) * BK);
      const int s = step & 1;
ALEXNET_UNROLL
      for (int k = 0; k < BK; ++k) {
        float av[TM], bv[TN];
ALEXNET_UNROLL
        for (int c = 0; c < CM; ++c) {
          const float4 v = *reinterpret_cast<const float4*>(&sm.a[s][k][c * (BM / CM) + ty * VM]);
          av[c * 4 + 0] = v.x;
          av[c * 4 + 1] = v.y;
          av[c * 4 + 2] = v.z;
          av[c * 4 + 3] = v.w;
        }
ALEXNET_UNROLL
        for (int c = 0; c < 2; ++c) {
          const float4 v = *reinterpret_cast<const float4*>(&sm.b[s][k][c * 64 + tx * 4]);
          bv[c * 4 + 0] = v.x;
          bv[c * 4 + 1] = v.y;
          bv[c * 4 + 2] = v.z;
          bv[c * 4 + 3] = v.w;
        }
ALEXNET_UNROLL
        for (int i = 0; i < TM; ++i)
ALEXNET_UNROLL
          for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
    }

ALEXNET_UNROLL
    for (int i = 0; i < TM; ++i) {
      const int m = m0 + (i / VM) * (BM / CM) + ty * VM + i % VM;
      if (m >= M) continue;
ALEXNET_UNROLL
      for (int j = 0; j < TN; ++j) {
        const int n = n0 + (j / 4) * 64 + tx * 4 + j % 4;
        if (n >= N) continue;
        if (partial)
          partial[(size_t(blockIdx.z) * M + m) * N + n] = acc[i][j];
        else
          out(g, m, n, acc[i][j]);
      }
    }
  } else {
    // 8 warps as 2 (M) x 4 (N); a warp tile of (BM/2) x 32 is MI x 4 m16n8k8 products
    constexpr int WM = BM / 2, MI = WM / 16, NI = 4;
    const int warp = tid / 32, lane = tid % 32, group = lane / 4, t4 = lane % 4;
    const int wm = warp / 4, wn = warp % 4;
    float acc[MI][NI][4];
ALEXNET_UNROLL
    for (int i = 0; i < MI; ++i)
ALEXNET_UNROLL
      for (int j = 0; j < NI; ++j)
ALEXNET_UNROLL
        for (int c = 0; c < 4; ++c) acc[i][j][c] = 0.0f;

    for (int step = 0; step < steps; ++step) {
      cp_async_wait<0>();
      __syncthreads();
      if (step + 1 < steps) load((step + 1) & 1, k_begin + (step + 1) * BK);
      const int s = step & 1;
ALEXNET_UNROLL
      for (int k8 = 0; k8 < BK; k8 += 8) {
        float af[MI][4], bf[NI][2];
ALEXNET_UNROLL
        for (int i = 0; i < MI; ++i) {
          const int r = wm * WM + i * 16 + group;
          af[i][0] = sm.a[s][k8 + t4][r];
          af[i][1] = sm.a[s][k8 + t4][r + 8];
          af[i][2] = sm.a[s][k8 + t4 + 4][r];
          af[i][3] = sm.a[s][k8 + t4 + 4][r + 8];
        }
ALEXNET_UNROLL
        for (int j = 0; j < NI; ++j) {
          const int c = wn * 32 + j * 8 + group;
          bf[j][0] = sm.b[s][k8 + t4][c];
          bf[j][1] = sm.b[s][k8 + t4 + 4][c];
        }
        uint32_t ah[MI][4], bh[NI][2];
ALEXNET_UNROLL
        for (int i = 0; i < MI; ++i)
ALEXNET_UNROLL
          for (int w = 0; w < 4; ++w) ah[i][w] = tf32_rna(af[i][w]);
ALEXNET_UNROLL
        for (int j = 0; j < NI; ++j)
ALEXNET_UNROLL
          for (int w = 0; w < 2; ++w) bh[j][w] = tf32_rna(bf[j][w]);
        if constexpr (C == Compute::tf32x3) {
          // x = big + small with both TF32; x - big is exact in FP32. The small products
          // go first, so they are not lost against the big one.
          uint32_t al[MI][4], bl[NI][2];
ALEXNET_UNROLL
          for (int i = 0; i < MI; ++i)
ALEXNET_UNROLL
            for (int w = 0; w < 4; ++w) al[i][w] = tf32_rna(af[i][w] - bits_to_float(ah[i][w]));
ALEXNET_UNROLL
          for (int j = 0; j < NI; ++j)
ALEXNET_UNROLL
            for (int w = 0; w < 2; ++w) bl[j][w] = tf32_rna(bf[j][w] - bits_to_float(bh[j][w]));
          mma_m16n8k8_tf32(acc, al, bh);
          mma_m16n8k8_tf32(acc, ah, bl);
        }
        mma_m16n8k8_tf32(acc, ah, bh);
      }
    }

ALEXNET_UNROLL
    for (int i = 0; i < MI; ++i)
ALEXNET_UNROLL
      for (int c = 0; c < 4; ++c) {
        const int m = m0 + wm * WM + i * 16 + group + (c / 2) * 8;
        if (m >= M) continue;
ALEXNET_UNROLL
        for (int j = 0; j < NI; ++j) {
          const int n = n0 + wn * 32 + j * 8 + 2 * t4 + c % 2;
          if (n >= N) continue;
          if (partial)
            partial[(size_t(blockIdx.z) * M + m) * N + n] = acc[i][j][c];
          else
            out(g, m, n, acc[i][j][c]);
        }
      }
  }
}

// Tile height: 64 where it pads M less than 128 does (M = 48, 64, 192, ...), else 128.
inline int tile_gemm2_height(int M) {
  const int pad64 = (M + 63) / 64 * 64 - M, pad128 = (M + 127) / 128 * 128 - M;
  return pad64 < pad128 ? 64 : 128;
}

// How many ways to split K: the split that minimises (waves of blocks) x (K per block), a
// block's time being about proportional to its K; a split must improve that by 10% over a
// smaller one (the partial sums cost memory traffic and a second kernel), and keep at least
// 128 of K per block. Resident blocks per SM: 2 (256 threads of at most 128 registers).
inline int tile_gemm2_splits(int64_t tiles, int K, int sms) {
  const int64_t slots = 2 * int64_t(sms);
  int most = K / 128;
  if (most > 128) most = 128;
  int best = 1;
  double best_cost = double((tiles + slots - 1) / slots) * K;
  for (int s = 2; s <= most; ++s) {
    const int chunk = ((K + s - 1) / s + kT2K - 1) / kT2K * kT2K;
    const int64_t used = (K + chunk - 1) / chunk;
    const double cost = double((tiles * used + slots - 1) / slots) * chunk;
    if (cost < 0.9 * best_cost) {
      best = s;
      best_cost = cost;
    }
  }
  return best;
}

template <int BM, Compute C, class A, class B, class Out>
void tile_gemm2_launch(const char* name, int groups, int M, int N, int K, const A& a, const B& b, const Out& out) {
  const int64_t tiles = int64_t(groups) * ((M + BM - 1) / BM) * ((N + kT2N - 1) / kT2N);
  int splits = tile_gemm2_splits(tiles, K, multiprocessors());
  const int k_chunk = K > 0 ? ((K + splits - 1) / splits + kT2K - 1) / kT2K * kT2K : kT2K;
  splits = K > 0 ? (K + k_chunk - 1) / k_chunk : 1;
  constexpr int EA = BM * kT2K / kT2Threads, EB = kT2N * kT2K / kT2Threads;
  const Loader<A> la{a, a.step(1), a.step(kT2K - EA)};
  const Loader<B> lb{b, b.step(1), b.step(kT2K - EB)};
  const dim3 grid(unsigned((N + kT2N - 1) / kT2N), unsigned((M + BM - 1) / BM), unsigned(groups * splits));
  if (splits == 1) {
    launch(name, grid, kT2Threads, tile_gemm2_kernel<BM, C, A, B, Out>, groups, M, N, K, k_chunk, la, lb, out,
           static_cast<float*>(nullptr));
    return;
  }
  Scratch partial(size_t(splits) * groups * M * N);
  launch(name, grid, kT2Threads, tile_gemm2_kernel<BM, C, A, B, Out>, groups, M, N, K, k_chunk, la, lb, out,
         partial.get());
  launch(name, elementwise_blocks(int64_t(groups) * M * N), 256, tile_gemm_reduce_kernel<Out>, groups, M, N, splits,
         static_cast<const float*>(partial.get()), out);
}

template <Compute C, class A, class B, class Out>
void tile_gemm2(const char* name, int groups, int M, int N, int K, const A& a, const B& b, const Out& out) {
  if (C != Compute::simt) require_tensor_cores(name);
  if (tile_gemm2_height(M) == 64)
    tile_gemm2_launch<64, C>(name, groups, M, N, K, a, b, out);
  else
    tile_gemm2_launch<128, C>(name, groups, M, N, K, a, b, out);
}

}  // namespace cuda
}  // namespace alexnet
