// A packed, blocked SGEMM for CPUs with AVX-512 (the Goto / BLIS scheme), used instead of
// the BLAS's where the CPU has AVX-512: a BLAS built for older CPUs, or told to use its
// AVX2 kernels (OPENBLAS_CORETYPE=Haswell), runs at about two thirds of this kernel's rate
// on such a CPU.
//   C (M, N) = alpha op(A) (M, K) op(B) (K, N) + beta C,   row-major, as gemm() in gemm.cc
// Blocking: for each block of kKc rows of op(B) and kNc of its columns, op(B) is packed into
// panels of kNr columns (kc x 32 floats each, zero-padded at the right edge); for each block
// of kMc rows of op(A), op(A) times alpha into panels of kMr rows (kc x 12, zero-padded).
// The micro-kernel keeps a 12 x 32 tile of C in 24 vector registers and adds, for each of kc
// steps, 12 broadcast elements of A times two vectors of B: 24 FMAs per 14 loads. The
// threads split C into column (or row) slices and pack their own operands.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "cpu.h"
#include "errors.h"
#include "parallel.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ALEXNET_CUDA_EMULATOR)
#define ALEXNET_PACKED_GEMM 1
#endif

namespace alexnet {
namespace cpu {

#if defined(ALEXNET_PACKED_GEMM)
namespace {

constexpr int kMr = 12, kNr = 32;          // micro-tile of C
constexpr int kKc = 384, kMc = 96, kNc = 4096;  // blocks: A's kMc x kKc stays in L2
constexpr size_t kRowsFirstBytes = size_t(512) << 10;  // see gemm_block_columns
constexpr int kAInPlacePanels = 8;                      // see gemm_block_columns

typedef float Vec __attribute__((vector_size(64)));

// Where the micro-kernel finds A's kMr rows: a packed panel (kc, kMr), or A itself where the
// panel would serve too few tiles to pay for its packing (see gemm_block_columns): row r's
// element p at ap[r * lda + p] (A as stored) or ap[p * lda + r] (A^T as stored). The kernel
// only broadcasts single elements of A, so any layout serves; packing buys contiguity.
enum ALayout { kPackedA, kRowsA, kColumnsA };

template <int kA>
inline const float* a_element(const float* ap, int lda, int p, int r) {
  return kA == kPackedA ? ap + p * kMr + r : kA == kRowsA ? ap + size_t(r) * lda + p : ap + size_t(p) * lda + r;
}

// c (kMr, kNr), row stride ldc  +=  A's panel (kc, kMr) . bp (kc, kNr), bp's rows ldbp apart
// (kNr when packed)   (with kStore: =, C not read). The epilogue: bias (the tile's kMr row
// biases, or null) is where the sums start; relu takes max(0, .) of what is stored.
template <bool kStore, int kA = kPackedA>
__attribute__((target("avx512f,fma"))) void micro_kernel(int kc, const float* __restrict ap, int lda, const float* __restrict bp,
                                                       int ldbp, float* __restrict c, int ldc, const float* bias = nullptr,
                                                       bool relu = false) {
  Vec acc[kMr][2];
  for (int r = 0; r < kMr; ++r) acc[r][0] = acc[r][1] = bias ? Vec{} + bias[r] : Vec{};
  for (int p = 0; p < kc; ++p) {
    Vec b0, b1;
    std::memcpy(&b0, bp + size_t(p) * ldbp, sizeof b0);
    std::memcpy(&b1, bp + size_t(p) * ldbp + 16, sizeof b1);
    for (int r = 0; r < kMr; ++r) {
      const float a = *a_element<kA>(ap, lda, p, r);
      acc[r][0] += a * b0;
      acc[r][1] += a * b1;
    }
  }
  for (int r = 0; r < kMr; ++r) {
    Vec c0 = acc[r][0], c1 = acc[r][1];
    if (!kStore) {
      Vec o0, o1;
      std::memcpy(&o0, c + size_t(r) * ldc, sizeof o0);
      std::memcpy(&o1, c + size_t(r) * ldc + 16, sizeof o1);
      c0 += o0;
      c1 += o1;
    }
    if (relu) {  // as relu_of: NaN and -0 become 0
      c0 = c0 > 0.0f ? c0 : Vec{};
      c1 = c1 > 0.0f ? c1 : Vec{};
    }
    std::memcpy(c + size_t(r) * ldc, &c0, sizeof c0);
    std::memcpy(c + size_t(r) * ldc + 16, &c1, sizeof c1);
  }
}

// micro_kernel for A's layout as a runtime value (an ALayout)
template <bool kStore>
void full_tile(int a_layout, int kc, const float* ap, int lda, const float* bp, int ldbp, float* c, int ldc,
               const float* bias = nullptr, bool relu = false) {
  if (a_layout == kRowsA) micro_kernel<kStore, kRowsA>(kc, ap, lda, bp, ldbp, c, ldc, bias, relu);
  else if (a_layout == kColumnsA) micro_kernel<kStore, kColumnsA>(kc, ap, lda, bp, ldbp, c, ldc, bias, relu);
  else micro_kernel<kStore>(kc, ap, 0, bp, ldbp, c, ldc, bias, relu);
}

// An edge tile (rows < kMr or cols < kNr of C left): the full tile into a scratch tile, then
// only its valid part into C (added, or with store: written), with the epilogue's bias (rows
// entries, or null) and relu.
void edge_tile(int kc, const float* ap, int a_layout, int lda, const float* bp, int ldbp, float* c, int ldc, int rows,
               int cols, bool store, const float* bias, bool relu) {
  alignas(64) float tile[kMr * kNr];
  full_tile<true>(a_layout, kc, ap, lda, bp, ldbp, tile, kNr);
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < cols; ++j) {
      float v = (store ? 0.0f : c[size_t(r) * ldc + j]) + (bias ? bias[r] : 0.0f) + tile[r * kNr + j];
      c[size_t(r) * ldc + j] = relu ? relu_of(v) : v;
    }
}

// Panel `panel` of op(B)'s block (rows p0..p0+kc, columns j0..j0+nc): (kc, kNr), zero-padded.
void pack_b(bool trans_b, const float* b, int ldb, int p0, int kc, int j0, int nc, int panel, float* out) {
  const int jj = j0 + panel * kNr, cols = std::min(kNr, j0 + nc - jj);
  float* o = out + size_t(panel) * kc * kNr;
  if (!trans_b) {
    for (int p = 0; p < kc; ++p) {
      float* row = o + size_t(p) * kNr;
      std::memcpy(row, b + size_t(p0 + p) * ldb + jj, sizeof(float) * cols);
      for (int j = cols; j < kNr; ++j) row[j] = 0.0f;
    }
    return;
  }
  // op(B) = B^T: column j of the panel is row jj + j of B. Row by row of the panel, so that
  // the panel is written in whole cache lines while the 32 rows of B being read stay in L1.
  const float* src[kNr];
  for (int j = 0; j < kNr; ++j) src[j] = b + size_t(jj + std::min(j, cols - 1)) * ldb + p0;
  for (int p = 0; p < kc; ++p) {
    float* row = o + size_t(p) * kNr;
    for (int j = 0; j < kNr; ++j) row[j] = j < cols ? src[j][p] : 0.0f;
  }
}

// Panel `panel` of alpha op(A)'s block (rows i0..i0+mc, columns p0..p0+kc): (kc, kMr).
void pack_a(bool trans_a, const float* a, int lda, float alpha, int i0, int mc, int p0, int kc, int panel, float* out) {
  const int ii = i0 + panel * kMr, rows = std::min(kMr, i0 + mc - ii);
  float* o = out + size_t(panel) * kc * kMr;
  if (!trans_a) {
    for (int r = 0; r < kMr; ++r) {
      const float* src = a + size_t(ii + r) * lda + p0;
      for (int p = 0; p < kc; ++p) o[size_t(p) * kMr + r] = r < rows ? alpha * src[p] : 0.0f;
    }
  } else {
    for (int p = 0; p < kc; ++p) {
      const float* src = a + size_t(p0 + p) * lda + ii;
      float* row = o + size_t(p) * kMr;
      for (int r = 0; r < kMr; ++r) row[r] = r < rows ? alpha * src[r] : 0.0f;
    }
  }
}

// C's columns j_begin .. j_end-1 (beta already applied, or with overwrite: C's old values
// ignored, as beta = 0 asks), on the calling thread, with its own packing buffers (kept per
// thread between calls). With overwrite, the first block of kKc steps stores its tiles instead
// of adding them to a zeroed C: where K is small (a fully connected layer's weight gradient,
// K = the batch) that saves a pass over a C that does not fit in cache (fc6: 151 MB).
// The epilogue (row_bias: M entries, or null): the bias joins the first block of kKc steps,
// relu the last.
void gemm_block_columns(bool trans_a, bool trans_b, int m, int j_begin, int j_end, int k, float alpha, const float* a,
                        int lda, const float* b, int ldb, float* c, int ldc, bool overwrite, const float* row_bias = nullptr,
                        bool relu = false) {
  thread_local std::vector<float> ap, bp;
  const int width = j_end - j_begin;
  const size_t b_need = size_t((std::min(width, kNc) + kNr - 1) / kNr) * kNr * std::min(k, kKc);
  const size_t a_need = size_t((std::min(m, kMc) + kMr - 1) / kMr) * kMr * std::min(k, kKc);
  if (bp.size() < b_need) bp.resize(b_need);
  if (ap.size() < a_need) ap.resize(a_need);
  for (int j0 = j_begin; j0 < j_end; j0 += kNc) {
    const int nc = std::min(kNc, j_end - j0), jpanels = (nc + kNr - 1) / kNr;
    for (int p0 = 0; p0 < k; p0 += kKc) {
      const int kc = std::min(kKc, k - p0);
      // With few rows of A (a fully connected layer's gradient to its input: M = the batch),
      // each B panel serves only a few tiles: whole panels of a row-major B are read where
      // they lie instead of being copied first (fc6 at batch 32: a quarter of the time was
      // that copy); only a ragged last panel is packed.
      const bool direct_b = !trans_b && m <= kMr * 4;
      for (int jp = 0; jp < jpanels; ++jp)
        if (!direct_b || j0 + (jp + 1) * kNr > j_end) pack_b(trans_b, b, ldb, p0, kc, j0, nc, jp, bp.data());
      for (int i0 = 0; i0 < m; i0 += kMc) {
        const int mc = std::min(kMc, m - i0), ipanels = (mc + kMr - 1) / kMr;
        // Each packed A panel serves jpanels tiles: where that is only a few (a convolution
        // of one image: 169 columns, so 3 panels per thread), packing it costs about as much
        // as using it, and whole panels of A are read where they lie instead.
        const bool a_in_place = alpha == 1.0f && jpanels <= kAInPlacePanels;
        for (int ip = 0; ip < ipanels; ++ip)
          if (!a_in_place || i0 + (ip + 1) * kMr > m) pack_a(trans_a, a, lda, alpha, i0, mc, p0, kc, ip, ap.data());
        // Tiles column panel by column panel (the B panel stays in L1), except where K is one
        // block and op(B)'s packed block fits in half the L2: then each tile of C is written
        // once, and going along rows of tiles writes C in 12 streams instead of kMc = 96
        // (fc6's weight gradient at batch 32, K = 32: 15% faster). Where the block does not
        // fit (conv1's forward: K = 363, 2-6 MB), the B panels would stream from L3 once per
        // row of tiles (measured 5-8% slower there, on a noisy machine).
        const bool rows_first = k <= kKc && size_t(kc) * jpanels * kNr * sizeof(float) <= kRowsFirstBytes;
        for (int t = 0; t < jpanels * ipanels; ++t) {
          const int jp = rows_first ? t % jpanels : t / ipanels, ip = rows_first ? t / jpanels : t % ipanels;
          const int jj = j0 + jp * kNr, cols = std::min(kNr, j_end - jj);
          const int ii = i0 + ip * kMr, rows = std::min(kMr, m - ii);
          const bool a_direct = a_in_place && rows == kMr;
          const float* a_panel = !a_direct ? ap.data() + size_t(ip) * kc * kMr
                                 : trans_a ? a + size_t(p0) * lda + ii
                                           : a + size_t(ii) * lda + p0;
          const int a_layout = !a_direct ? kPackedA : trans_a ? kColumnsA : kRowsA;
          const bool in_place = direct_b && cols == kNr;
          const float* b_panel = in_place ? b + size_t(p0) * ldb + jj : bp.data() + size_t(jp) * kc * kNr;
          const int ldbp = in_place ? ldb : kNr;
          float* ct = c + size_t(ii) * ldc + jj;
          const bool store = overwrite && p0 == 0;
          const float* bias = row_bias && p0 == 0 ? row_bias + ii : nullptr;
          const bool last = relu && p0 + kc == k;
          if (rows == kMr && cols == kNr) {
            if (store) full_tile<true>(a_layout, kc, a_panel, lda, b_panel, ldbp, ct, ldc, bias, last);
            else full_tile<false>(a_layout, kc, a_panel, lda, b_panel, ldbp, ct, ldc, bias, last);
          } else {
            edge_tile(kc, a_panel, a_layout, lda, b_panel, ldbp, ct, ldc, rows, cols, store, bias, last);
          }
        }
      }
    }
  }
}

// beta times rows of C's columns j_begin .. j_end-1 (beta = 0 ignores what C held, NaN
// included, as BLAS does)
void scale_columns(int m, int j_begin, int j_end, float beta, float* c, int ldc) {
  if (beta == 1.0f) return;
  for (int i = 0; i < m; ++i) {
    float* row = c + size_t(i) * ldc;
    if (beta == 0.0f) std::fill(row + j_begin, row + j_end, 0.0f);
    else for (int j = j_begin; j < j_end; ++j) row[j] *= beta;
  }
}

}  // namespace

bool packed_gemm_available() {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  return avx512;
}

namespace {
void serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
            float beta, float* c, int ldc, const float* row_bias, bool relu) {
  const bool overwrite = beta == 0.0f && alpha != 0.0f && k > 0;
  if (!overwrite) scale_columns(m, 0, n, beta, c, ldc);
  if (alpha != 0.0f && k > 0) gemm_block_columns(trans_a, trans_b, m, 0, n, k, alpha, a, lda, b, ldb, c, ldc, overwrite, row_bias, relu);
}
}  // namespace

void gemm_packed_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                        const float* b, int ldb, float beta, float* c, int ldc) {
  serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nullptr, false);
}

void gemm_packed(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
  gemm_packed_epilogue(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nullptr, false);
}

void gemm_packed_epilogue(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                          const float* b, int ldb, float beta, float* c, int ldc, const float* row_bias, bool relu) {
  // The threads split C: by whole column panels where C is wide, by rows where it is tall
  // (C^T = op(B)^T op(A)^T is the same product on the transposed operands). Each thread packs
  // what it needs itself: one parallel region per product and no barrier inside it.
  if (trans_b && !trans_a && m < kMr * 4 && n >= 256) {
    // A few rows of A times B^T (a fully connected layer's forward pass: x w^T): B's rows
    // would be packed across their length, a strided gather of all of B. The same product
    // as T (N, M) = B A^T reads B along its rows as the A side; T is small, and lands in C
    // transposed.
    thread_local std::vector<float> t;
    if (t.size() < size_t(n) * m) t.resize(size_t(n) * m);
    gemm_packed(false, true, n, m, k, alpha, b, ldb, a, lda, 0.0f, t.data(), m);
    for (int i = 0; i < m; ++i) {
      float* row = c + size_t(i) * ldc;
      const float bias = row_bias ? row_bias[i] : 0.0f;
      for (int j = 0; j < n; ++j) {
        const float v = (beta == 0.0f ? 0.0f : beta * row[j]) + bias + t[size_t(j) * m + i];
        row[j] = relu ? relu_of(v) : v;
      }
    }
    return;
  }
  const int threads = int64_t(m) * n * k >= (int64_t(1) << 20) ? cpu_threads() : 1;
  const bool overwrite = beta == 0.0f && alpha != 0.0f && k > 0;
  if (threads == 1) return serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, row_bias, relu);
  if (n >= m) {
    const int panels = (n + kNr - 1) / kNr;
    parallel_for(threads, [&](int64_t t) {
      const int j0 = std::min(n, int(panels * t / threads) * kNr), j1 = std::min(n, int(panels * (t + 1) / threads) * kNr);
      if (j0 >= j1) return;
      if (!overwrite) scale_columns(m, j0, j1, beta, c, ldc);
      if (alpha != 0.0f) gemm_block_columns(trans_a, trans_b, m, j0, j1, k, alpha, a, lda, b, ldb, c, ldc, overwrite, row_bias, relu);
    });
  } else {
    const int panels = (m + kMr - 1) / kMr;
    parallel_for(threads, [&](int64_t t) {
      const int i0 = std::min(m, int(panels * t / threads) * kMr), i1 = std::min(m, int(panels * (t + 1) / threads) * kMr);
      if (i0 >= i1) return;
      const float* a_rows = trans_a ? a + i0 : a + size_t(i0) * lda;  // op(A)'s rows i0 .. i1-1
      if (!overwrite) scale_columns(i1 - i0, 0, n, beta, c + size_t(i0) * ldc, ldc);
      if (alpha != 0.0f)
        gemm_block_columns(trans_a, trans_b, i1 - i0, 0, n, k, alpha, a_rows, lda, b, ldb, c + size_t(i0) * ldc, ldc, overwrite,
                           row_bias ? row_bias + i0 : nullptr, relu);
    });
  }
}

#else  // no GCC x86-64 build: the BLAS (or the built-in loops) always

bool packed_gemm_available() { return false; }

void gemm_packed_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                        const float* b, int ldb, float beta, float* c, int ldc) {
  gemm_builtin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_packed(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
  gemm_builtin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_packed_epilogue(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                          const float* b, int ldb, float beta, float* c, int ldc, const float* row_bias, bool relu) {
  gemm_builtin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float& v = c[size_t(i) * ldc + j];
      if (row_bias) v += row_bias[i];
      if (relu) v = relu_of(v);
    }
}

#endif

}  // namespace cpu
}  // namespace alexnet
