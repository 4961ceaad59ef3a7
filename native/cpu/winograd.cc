// Winograd convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2015) for stride-1 convolutions with square 3x3 or 5x5 kernels: F(4x4, 3x3) on 6x6 tiles
// for conv3-5 and F(4x4, 5x5) on 8x8 tiles for conv2, so that one 4x4 output tile costs
// alpha^2 multiplications per (input, output) channel pair (36 and 64) instead of 16 r^2
// (144 and 400). In one dimension, for a tile d of alpha = m + r - 1 inputs and a filter g
// of r taps, the m outputs y_i = sum_k d_(i+k) g_k are
//   y = A^T [ (G g) . (B^T d) ]        (. : elementwise)
// and in two dimensions Y = A^T [ (G g G^T) . (B^T d B) ] A. The matrices come from
// evaluating polynomials at the points 0, 1, -1, 2, -2 (and 1/2, -1/2 for alpha = 8) and
// infinity (modified Toom-Cook): with E_n the alpha x n matrix whose row j is
// (1, a_j, ..., a_j^(n-1)) (and (0, ..., 0, 1) at infinity), A^T = E_m^T, G = E_r and
// B^T = E_alpha^-T; row j of B^T is multiplied and row j of G divided by
// prod_(l != j) (a_j - a_l), which makes every entry of B^T a short binary fraction (exact in
// float) and leaves the other fractions in G, applied once per call to the weights. For
// F(4x4, 3x3) these are exactly Lavin's matrices.
//
// The multiplications become alpha^2 GEMMs per group, one per point xi of the tile:
//   U_xi (K/G, C/G) = (G g G^T)_xi over the group's filters
//   V_xi (C/G, T)   = (B^T d B)_xi over the T tiles of a chunk of images
//   M_xi (K/G, T)   = U_xi V_xi,   then Y = A^T M A per tile, plus the bias, clipped to OH x OW.
// The backward pass to the data is the same algorithm: dx is the stride-1 convolution of dy
// with each filter turned by 180 degrees and input and output channels exchanged, padded by
// r - 1 - pad.
//
// The filter gradient is the transpose, tile by tile: dM = A dY A^T per output tile,
// dU_xi (K/G, C/G) = sum over tiles of dM_xi V_xi^T, and dw = G^T dU G per filter.
//
// Error: the transforms add rounding that a direct sum does not have. The bound we state and
// test (test/winograd.test.ts) is 2^-17 (7.6e-6) of the sum of |x| |w| over each output's
// window (for dx: of |w| |dy|; for dw: the largest sum of |x| |dy| among the filter's taps);
// the worst measured there, all three passes, F(4x4,3x3) and F(4x4,5x5), was 3.4e-6, against
// about 1e-7 for im2col + GEMM.
//   x: (N, C, H, W)   w: (K, C/G, r, r)   b: (K)   y: (N, K, OH, OW)
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include "cpu.h"
#include "errors.h"
#include "parallel.h"
#include "simd.h"

namespace alexnet {
namespace cpu {
namespace {

constexpr int kMaxAlpha = 8;                   // transformed tile side alpha = m + r - 1: 6 or 8
constexpr int kMaxPoints = kMaxAlpha * kMaxAlpha;  // GEMMs per group: alpha^2
constexpr int kLanes = 16;                  // tiles transformed together (one AVX-512 vector)
// Floats of transformed input and output (V and M) per chunk of images (32 MiB): the GEMMs'
// width is the chunk's tiles, and wider GEMMs ran faster up to about this size (AlexNet's
// conv2 takes 15 images per chunk, conv3 22, conv4 and conv5 37 and 45).
constexpr int64_t kChunkBudget = int64_t(8) << 20;

struct Transform {
  int m, r, alpha;
  float bt[kMaxAlpha][kMaxAlpha];  // B^T (alpha x alpha)
  float g[kMaxAlpha][5];           // G (alpha x r)
  float at[6][kMaxAlpha];          // A^T (m x alpha)
};

// Inverts an n x n matrix in double by Gauss-Jordan with partial pivoting (a Vandermonde
// matrix of distinct points: never singular).
void invert(int n, double a[kMaxAlpha][kMaxAlpha], double inv[kMaxAlpha][kMaxAlpha]) {
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) inv[i][j] = i == j ? 1.0 : 0.0;
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    for (int i = col + 1; i < n; ++i)
      if (std::fabs(a[i][col]) > std::fabs(a[pivot][col])) pivot = i;
    std::swap(a[col], a[pivot]);
    std::swap(inv[col], inv[pivot]);
    const double s = 1.0 / a[col][col];
    for (int j = 0; j < n; ++j) a[col][j] *= s, inv[col][j] *= s;
    for (int i = 0; i < n; ++i) {
      if (i == col || a[i][col] == 0.0) continue;
      const double f = a[i][col];
      for (int j = 0; j < n; ++j) a[i][j] -= f * a[col][j], inv[i][j] -= f * inv[col][j];
    }
  }
}

// F(m x m, r x r) on alpha x alpha tiles, alpha = m + r - 1 = 6 or 8.
Transform make_transform(int m, int r) {
  static const double pts[kMaxAlpha - 1] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5};  // and infinity
  Transform t{};
  t.r = r;
  t.m = m;
  const int alpha = t.alpha = m + r - 1;
  double e[kMaxAlpha][kMaxAlpha] = {}, inv[kMaxAlpha][kMaxAlpha];
  for (int j = 0; j < alpha - 1; ++j)
    for (int k = 0; k < alpha; ++k) e[j][k] = std::pow(pts[j], k);
  e[alpha - 1][alpha - 1] = 1.0;
  invert(alpha, e, inv);
  for (int j = 0; j < alpha; ++j) {
    double f = 1.0;  // prod over l != j of (a_j - a_l); 1 at infinity
    if (j < alpha - 1)
      for (int l = 0; l < alpha - 1; ++l)
        if (l != j) f *= pts[j] - pts[l];
    for (int k = 0; k < alpha; ++k) t.bt[j][k] = float(inv[k][j] * f);  // row j of E^-T, times f
    for (int k = 0; k < r; ++k) t.g[j][k] = j < alpha - 1 ? float(std::pow(pts[j], k) / f) : (k == r - 1 ? 1.0f : 0.0f);
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < alpha; ++j) t.at[i][j] = j < alpha - 1 ? float(std::pow(pts[j], i)) : (i == m - 1 ? 1.0f : 0.0f);
  return t;
}

// 3x3: F(4x4, 3x3) on 6x6 tiles; 5x5: F(4x4, 5x5) on 8x8 tiles (conv2 at batch 32: 35 ms
// forward, against 69 ms with F(2x2, 5x5) on 6x6 tiles, whose transforms cost more per
// output pixel).
const Transform& transform_for(int r) {
  static const Transform f43 = make_transform(4, 3), f45 = make_transform(4, 5);
  return r == 3 ? f43 : f45;
}

// Sixteen tiles side by side, one per lane: GCC's vector extension (plain arithmetic on a
// 16-float type, which each clone lowers to its widest registers), so that the transforms
// below are written once, as the formulas read, and run one AVX-512 instruction per term.
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

// out (rows x rows) = L d L^T for 16 tiles side by side, L (rows x cols) read from `mat`
// (row stride ld), or from its transpose: every transform here is one of these.
//   inputs   V  = B^T d B      L = B^T    (alpha x alpha)
//   outputs  Y  = A^T M A      L = A^T    (m x alpha)
//   filters  U  = G g G^T      L = G      (alpha x r)
//   dy       dM = A dY A^T     L = A      (alpha x m, A^T transposed)
//   dw       dw = G^T dU G     L = G^T    (r x alpha, G transposed)
ALEXNET_SIMD void sandwich(const float* mat, int ld, bool transposed, int rows, int cols, const Lanes* d, Lanes* out) {
  float l[kMaxAlpha][kMaxAlpha];  // L, row-major
  for (int i = 0; i < rows; ++i)
    for (int a = 0; a < cols; ++a) l[i][a] = transposed ? mat[a * ld + i] : mat[i * ld + a];
  Lanes tmp[kMaxAlpha][kMaxAlpha];  // L d
  for (int i = 0; i < rows; ++i)
    for (int b = 0; b < cols; ++b) {
      Lanes acc = {};
      for (int a = 0; a < cols; ++a)
        if (l[i][a] != 0.0f) acc += l[i][a] * d[a * cols + b];
      tmp[i][b] = acc;
    }
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < rows; ++j) {  // (L d) L^T
      Lanes acc = {};
      for (int b = 0; b < cols; ++b)
        if (l[j][b] != 0.0f) acc += l[j][b] * tmp[i][b];
      out[i * rows + j] = acc;
    }
}

struct Plan {
  const Transform* t;
  int cg, kg;         // input and output channels per group
  int th, tw, tiles;  // tiles per image: th x tw
  int chunk;          // images per chunk
  int alpha, points;  // tile side in the transformed domain; points = alpha^2 GEMMs per group
};

Plan make_plan(const ConvParams& p) {
  Plan pl;
  pl.t = &transform_for(p.kh);
  pl.cg = p.c / p.groups;
  pl.kg = p.k / p.groups;
  pl.th = (p.oh + pl.t->m - 1) / pl.t->m;
  pl.tw = (p.ow + pl.t->m - 1) / pl.t->m;
  pl.tiles = pl.th * pl.tw;
  pl.alpha = pl.t->alpha;
  pl.points = pl.alpha * pl.alpha;
  const int64_t per_image = int64_t(pl.points) * (pl.cg + pl.kg) * pl.tiles;
  pl.chunk = int(std::max<int64_t>(1, std::min<int64_t>(p.n, kChunkBudget / per_image)));
  return pl;
}

// u (G, alpha^2, K/G, C/G): the transformed filters, U = G g G^T, for 16 input channels c at a
// time (lanes). With `turned`, filter (k, c) is w's (c, k) turned by 180 degrees (the
// backward pass to the data; K and C are then dy's and dx's channels).
void transform_filters(const ConvParams& p, const Plan& pl, const float* w, bool turned, float* u) {
  const int r = pl.t->r, cblocks = (pl.cg + kLanes - 1) / kLanes;
  parallel_for(int64_t(p.groups) * pl.kg * cblocks, [&](int64_t task) {
    const int group = int(task / (int64_t(pl.kg) * cblocks)), k = int(task / cblocks % pl.kg);
    const int c0 = int(task % cblocks) * kLanes, lanes = std::min(kLanes, pl.cg - c0);
    Lanes g[25], out[kMaxPoints];
    for (int l = 0; l < kLanes; ++l) {
      const int c = c0 + l;
      for (int a = 0; a < r; ++a)
        for (int b = 0; b < r; ++b)
          g[a * r + b][l] = l >= lanes ? 0.0f
                            : turned ? w[(((size_t(group) * pl.cg + c) * pl.kg + k) * r + (r - 1 - a)) * r + (r - 1 - b)]
                                     : w[(((size_t(group) * pl.kg + k) * pl.cg + c) * r + a) * r + b];
    }
    sandwich(&pl.t->g[0][0], 5, false, pl.alpha, r, g, out);
    float* ug = u + size_t(group) * pl.points * pl.kg * pl.cg;
    for (int e = 0; e < pl.points; ++e)
      for (int l = 0; l < lanes; ++l) ug[(size_t(e) * pl.kg + k) * pl.cg + c0 + l] = out[e][l];
  });
}

// v (alpha^2, C/G, ld): the transformed alpha x alpha input tiles of images n0 .. n0+nb-1, channels of
// `group`; tile index (image - n0) * tiles + ty * tw + tx, zero outside the image.
void transform_input(const ConvParams& p, const Plan& pl, const float* x, int n0, int nb, int group, int64_t ld, float* v) {
  const int m = pl.t->m;
  const int64_t count = int64_t(nb) * pl.tiles, blocks = (count + kLanes - 1) / kLanes;
  parallel_for(int64_t(pl.cg) * blocks, [&](int64_t task) {
    const int c = int(task / blocks);
    const int64_t t0 = (task % blocks) * kLanes;
    const int alpha = pl.alpha;
    Lanes d[kMaxPoints], out[kMaxPoints];
    for (int l = 0; l < kLanes; ++l) {
      const int64_t t = t0 + l;
      if (t >= count) {
        for (int e = 0; e < pl.points; ++e) d[e][l] = 0.0f;
        continue;
      }
      const int n = n0 + int(t / pl.tiles), rem = int(t % pl.tiles);
      const int y0 = (rem / pl.tw) * m - p.pad_h, x0 = (rem % pl.tw) * m - p.pad_w;
      const float* xc = x + ((size_t(n) * p.c + size_t(group) * pl.cg + c) * p.h) * p.w;
      if (y0 >= 0 && x0 >= 0 && y0 + alpha <= p.h && x0 + alpha <= p.w) {  // inside: no checks
        for (int a = 0; a < alpha; ++a) {
          const float* row = xc + size_t(y0 + a) * p.w + x0;
          for (int b = 0; b < alpha; ++b) d[a * alpha + b][l] = row[b];
        }
        continue;
      }
      for (int a = 0; a < alpha; ++a) {
        const int iy = y0 + a;
        const bool row_in = iy >= 0 && iy < p.h;
        for (int b = 0; b < alpha; ++b) {
          const int ix = x0 + b;
          d[a * alpha + b][l] = row_in && ix >= 0 && ix < p.w ? xc[size_t(iy) * p.w + ix] : 0.0f;
        }
      }
    }
    sandwich(&pl.t->bt[0][0], kMaxAlpha, false, alpha, alpha, d, out);
    for (int e = 0; e < pl.points; ++e) std::memcpy(v + (size_t(e) * pl.cg + c) * ld + t0, &out[e], sizeof(Lanes));
  });
}

// out[0 .. count) + b, and with relu max(0, that), on whole vectors of 16 tiles, lane by
// lane as relu_of (the scalar relu_of in the store loop below compiled to a branch on each
// value's sign, mispredicted half the time: conv3 at batch 32 took 4-5 ms longer fused than
// unfused; this way fused and unfused take the same time).
ALEXNET_SIMD void bias_relu(Lanes* out, int count, float b, bool relu) {
  const Lanes zero = {};
  for (int e = 0; e < count; ++e) {
    const Lanes v = out[e] + b;
    out[e] = relu ? (v > zero ? v : zero) : v;
  }
}

// y's images n0 .. n0+nb-1, channels of `group` = A^T M A per tile (+ bias), clipped; with
// relu, max(0, that) (a fused ReLU, in the same store).
void transform_output(const ConvParams& p, const Plan& pl, const float* mt, int n0, int nb, int group, int64_t ld,
                      const float* bias, bool relu, float* y) {
  const int m = pl.t->m;
  const int64_t count = int64_t(nb) * pl.tiles, blocks = (count + kLanes - 1) / kLanes;
  parallel_for(int64_t(pl.kg) * blocks, [&](int64_t task) {
    const int k = int(task / blocks);
    const int64_t t0 = (task % blocks) * kLanes;
    Lanes in[kMaxPoints], out[36];
    for (int e = 0; e < pl.points; ++e) std::memcpy(&in[e], mt + (size_t(e) * pl.kg + k) * ld + t0, sizeof(Lanes));
    sandwich(&pl.t->at[0][0], kMaxAlpha, false, m, pl.alpha, in, out);
    bias_relu(out, m * m, bias ? bias[size_t(group) * pl.kg + k] : 0.0f, relu);
    for (int l = 0; l < kLanes && t0 + l < count; ++l) {
      const int64_t t = t0 + l;
      const int n = n0 + int(t / pl.tiles), rem = int(t % pl.tiles);
      const int y0 = (rem / pl.tw) * m, x0 = (rem % pl.tw) * m;
      float* yc = y + ((size_t(n) * p.k + size_t(group) * pl.kg + k) * p.oh) * p.ow;
      for (int i = 0; i < m && y0 + i < p.oh; ++i)
        for (int j = 0; j < m && x0 + j < p.ow; ++j) yc[size_t(y0 + i) * p.ow + x0 + j] = out[i * m + j][l];
    }
  });
}

// The filter gradient (the transpose of the forward pass, tile by tile): with
// dM = A dY A^T for each output tile's gradient (zero past OH x OW), dU_xi (K/G, C/G) =
// sum over tiles of dM_xi V_xi^T, and dw = G^T dU G.

// dm (alpha^2, K/G, ld): the transformed gradients of dy's tiles, images n0 .. n0+nb-1.
void transform_grad(const ConvParams& p, const Plan& pl, const float* dy, int n0, int nb, int group, int64_t ld, float* dm) {
  const int m = pl.t->m;
  const int64_t count = int64_t(nb) * pl.tiles, blocks = (count + kLanes - 1) / kLanes;
  parallel_for(int64_t(pl.kg) * blocks, [&](int64_t task) {
    const int k = int(task / blocks);
    const int64_t t0 = (task % blocks) * kLanes;
    Lanes d[36], out[kMaxPoints];
    for (int l = 0; l < kLanes; ++l) {
      const int64_t t = t0 + l;
      if (t >= count) {
        for (int e = 0; e < m * m; ++e) d[e][l] = 0.0f;
        continue;
      }
      const int n = n0 + int(t / pl.tiles), rem = int(t % pl.tiles);
      const int y0 = (rem / pl.tw) * m, x0 = (rem % pl.tw) * m;
      const float* dyc = dy + ((size_t(n) * p.k + size_t(group) * pl.kg + k) * p.oh) * p.ow;
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < m; ++j)
          d[i * m + j][l] = y0 + i < p.oh && x0 + j < p.ow ? dyc[size_t(y0 + i) * p.ow + x0 + j] : 0.0f;
    }
    sandwich(&pl.t->at[0][0], kMaxAlpha, true, pl.alpha, m, d, out);
    for (int e = 0; e < pl.points; ++e) std::memcpy(dm + (size_t(e) * pl.kg + k) * ld + t0, &out[e], sizeof(Lanes));
  });
}

// dw (K, C/G, r, r) from du (G, alpha^2, K/G, C/G).
void filter_grad(const ConvParams& p, const Plan& pl, const float* du, float* dw) {
  const int r = pl.t->r, cblocks = (pl.cg + kLanes - 1) / kLanes;
  parallel_for(int64_t(p.groups) * pl.kg * cblocks, [&](int64_t task) {
    const int group = int(task / (int64_t(pl.kg) * cblocks)), k = int(task / cblocks % pl.kg);
    const int c0 = int(task % cblocks) * kLanes, lanes = std::min(kLanes, pl.cg - c0);
    const float* dug = du + size_t(group) * pl.points * pl.kg * pl.cg;
    Lanes in[kMaxPoints], out[25];
    for (int e = 0; e < pl.points; ++e) {
      in[e] = Lanes{};
      std::memcpy(&in[e], dug + (size_t(e) * pl.kg + k) * pl.cg + c0, sizeof(float) * lanes);
    }
    sandwich(&pl.t->g[0][0], 5, true, r, pl.alpha, in, out);
    for (int l = 0; l < lanes; ++l)
      for (int e = 0; e < r * r; ++e) dw[((size_t(group) * pl.kg + k) * pl.cg + c0 + l) * r * r + e] = out[e][l];
  });
}

// y = conv(x, w) + b for stride 1, max(0, that) with relu (p describes this convolution,
// already turned around for the backward pass: `turned` says that w is the original
// (C, K/G, r, r) layout to turn).
void run(const ConvParams& p, const float* x, const float* w, bool turned, const float* b, bool relu, float* y) {
  const Plan pl = make_plan(p);
  const bool packed = gemm_uses_packed();
  Scratch u(size_t(p.groups) * pl.points * pl.kg * pl.cg);
  transform_filters(p, pl, w, turned, u.data);
  // rows of V and M: whole 16-tile blocks, plus one so that rows are not a power of two apart
  // (rows 2 KiB apart share cache sets)
  const int64_t ld = (int64_t(pl.chunk) * pl.tiles + kLanes - 1) / kLanes * kLanes + kLanes;
  Scratch v(size_t(pl.points) * pl.cg * ld), mt(size_t(pl.points) * pl.kg * ld);
  for (int n0 = 0; n0 < p.n; n0 += pl.chunk) {
    const int nb = std::min(pl.chunk, p.n - n0);
    const int width = nb * pl.tiles;
    for (int group = 0; group < p.groups; ++group) {
      transform_input(p, pl, x, n0, nb, group, ld, v.data);
      const float* ug = u.data + size_t(group) * pl.points * pl.kg * pl.cg;
      // M_xi = U_xi V_xi. With our packed kernel the alpha^2 products go to the threads whole (no
      // synchronisation inside a product); the BLAS threads each product itself.
      const auto product = [&](int64_t e) {
        const float* ue = ug + size_t(e) * pl.kg * pl.cg;
        const float* ve = v.data + size_t(e) * pl.cg * ld;
        float* me = mt.data + size_t(e) * pl.kg * ld;
        if (packed) gemm_packed_serial(false, false, pl.kg, width, pl.cg, 1.0f, ue, pl.cg, ve, int(ld), 0.0f, me, int(ld));
        else gemm(false, false, pl.kg, width, pl.cg, 1.0f, ue, pl.cg, ve, int(ld), 0.0f, me, int(ld));
      };
      if (packed) parallel_for(pl.points, product);
      else for (int e = 0; e < pl.points; ++e) product(e);
      transform_output(p, pl, mt.data, n0, nb, group, ld, b, relu, y);
    }
  }
}

// ALEXNET_CPU_CONV: "gemm" never takes Winograd, "winograd" takes it wherever it applies
// (tests use this to run it on small shapes), "auto" (the default) where the channels and
// the batch make its GEMMs worth it.
enum class Mode { kAuto, kGemm, kWinograd };

Mode mode() {
  const char* s = std::getenv("ALEXNET_CPU_CONV");
  if (!s || !*s || !std::strcmp(s, "auto")) return Mode::kAuto;
  if (!std::strcmp(s, "gemm")) return Mode::kGemm;
  if (!std::strcmp(s, "winograd")) return Mode::kWinograd;
  throw OpError(std::string("ALEXNET_CPU_CONV must be one of auto, gemm, winograd (got '") + s + "')");
}

bool applies(const ConvParams& p) {
  if (p.stride_h != 1 || p.stride_w != 1 || p.kh != p.kw || (p.kh != 3 && p.kh != 5)) return false;
  // the backward pass pads by r - 1 - pad, which must not be negative
  if (p.pad_h < 0 || p.pad_w < 0 || p.pad_h > p.kh - 1 || p.pad_w > p.kw - 1) return false;
  switch (mode()) {
    case Mode::kGemm: return false;
    case Mode::kWinograd: return true;
    default: {
      // Winograd's GEMMs are as wide as the tiles of a batch: below about 48 (conv3-5 at batch
      // 1 and 2) they ran slower than im2col + GEMM (conv3 at batch 1: 3.9 against 2.2 ms);
      // from conv2 at batch 1 (49 tiles: 3.0 against 3.2 ms) on, faster.
      const int64_t tiles = int64_t(p.n) * ((p.oh + 3) / 4) * ((p.ow + 3) / 4);
      return p.c / p.groups >= 16 && p.k / p.groups >= 16 && tiles >= 48;
    }
  }
}

}  // namespace

bool winograd_forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
  if (!applies(p)) return false;
  run(p, x, w, false, b, p.relu, y);
  return true;
}

bool winograd_backward_data(const ConvParams& p, const float* dy, const float* w, float* dx) {
  if (!applies(p)) return false;
  // dx (N, C, H, W) = dy (N, K, OH, OW) convolved with the turned filters, padded r-1-pad
  ConvParams q = p;
  q.c = p.k, q.h = p.oh, q.w = p.ow;
  q.k = p.c, q.oh = p.h, q.ow = p.w;
  q.pad_h = p.kh - 1 - p.pad_h, q.pad_w = p.kw - 1 - p.pad_w;
  run(q, dy, w, true, nullptr, false, dx);
  return true;
}

bool winograd_backward_filter(const ConvParams& p, const float* x, const float* dy, float* dw) {
  if (!applies(p)) return false;
  const Plan pl = make_plan(p);
  const bool packed = gemm_uses_packed();
  const int64_t ld = (int64_t(pl.chunk) * pl.tiles + kLanes - 1) / kLanes * kLanes + kLanes;
  Scratch du(size_t(p.groups) * pl.points * pl.kg * pl.cg);
  Scratch v(size_t(pl.points) * pl.cg * ld), dm(size_t(pl.points) * pl.kg * ld);
  for (int n0 = 0; n0 < p.n; n0 += pl.chunk) {
    const int nb = std::min(pl.chunk, p.n - n0);
    const int width = nb * pl.tiles;
    for (int group = 0; group < p.groups; ++group) {
      transform_input(p, pl, x, n0, nb, group, ld, v.data);
      transform_grad(p, pl, dy, n0, nb, group, ld, dm.data);
      float* dug = du.data + size_t(group) * pl.points * pl.kg * pl.cg;
      // dU_xi (K/G, C/G) (+)= dM_xi (K/G, width) V_xi^T (width, C/G), summed over the chunks
      const auto product = [&](int64_t e) {
        const float* me = dm.data + size_t(e) * pl.kg * ld;
        const float* ve = v.data + size_t(e) * pl.cg * ld;
        float* ue = dug + size_t(e) * pl.kg * pl.cg;
        const float beta = n0 == 0 ? 0.0f : 1.0f;
        if (packed) gemm_packed_serial(false, true, pl.kg, pl.cg, width, 1.0f, me, int(ld), ve, int(ld), beta, ue, pl.cg);
        else gemm(false, true, pl.kg, pl.cg, width, 1.0f, me, int(ld), ve, int(ld), beta, ue, pl.cg);
      };
      if (packed) parallel_for(pl.points, product);
      else for (int e = 0; e < pl.points; ++e) product(e);
    }
  }
  filter_grad(p, pl, du.data, dw);
  return true;
}

const char* conv_algorithm_setting() {
  switch (mode()) {
    case Mode::kGemm: return "gemm";
    case Mode::kWinograd: return "winograd";
    default: return "auto";
  }
}

}  // namespace cpu
}  // namespace alexnet
