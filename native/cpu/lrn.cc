// Cross-map local response normalisation (paper section 3.3), alpha applied to the sum:
//   s_c = k + alpha * sum_{j in W(c)} x_j^2,   y_c = x_c * s_c^-beta
// W(c) = [c - size/2, c + (size-1)/2] clipped to c's group of C/G channels (for size 5:
// c-2..c+2, the paper's window). Backward:
//   dx_i = dy_i * s_i^-beta - 2 alpha beta x_i * sum_{j : i in W(j)} dy_j x_j s_j^(-beta-1)
// and i in W(j) exactly when j in [i - (size-1)/2, i + size/2].
// The paper's beta = 3/4 takes no pow: s^-3/4 = r * sqrt(r) with r = 1 / sqrt(s) (a correctly
// rounded sqrt and division each, so within a few ulp of pow), in loops the compiler
// vectorises (simd.h). Other betas take std::pow in the same loops.
//   x, y, dx, dy: (N, C, H, W)
#include <algorithm>
#include <cmath>
#include <vector>
#include "cpu.h"
#include "parallel.h"
#include "simd.h"

namespace alexnet {
namespace cpu {
namespace {

constexpr int kPixels = 256;  // pixels of one plane handled together by one task

struct LrnTasks {
  int cg, plane, blocks;
  int64_t count;
};

LrnTasks lrn_tasks(const LrnParams& p) {
  LrnTasks t;
  t.cg = p.c / p.groups;
  t.plane = p.h * p.w;
  t.blocks = (t.plane + kPixels - 1) / kPixels;
  t.count = int64_t(p.n) * p.groups * t.blocks;
  return t;
}

// sq[i] = x[i]^2
ALEXNET_SIMD void square_row(const float* x, float* sq, int len) {
  for (int i = 0; i < len; ++i) sq[i] = x[i] * x[i];
}

// s[i] = k + alpha * (sum of rows j0..j1 of sq, rows `stride` apart). The rows are added
// one whole row at a time (the same order of additions as summing each pixel's window in
// turn, so the same result), which keeps the inner loop contiguous and vectorised.
ALEXNET_SIMD void window_row(const float* sq, int stride, int j0, int j1, float k, float alpha, float* s, int len) {
  const float* first = sq + size_t(j0) * stride;
  for (int i = 0; i < len; ++i) s[i] = first[i];
  for (int j = j0 + 1; j <= j1; ++j) {
    const float* row = sq + size_t(j) * stride;
    for (int i = 0; i < len; ++i) s[i] += row[i];
  }
  for (int i = 0; i < len; ++i) s[i] = k + alpha * s[i];
}

// out[i] = s[i]^-3/4
ALEXNET_SIMD void pow_neg_075_row(const float* s, float* out, int len) {
  for (int i = 0; i < len; ++i) {
    const float r = 1.0f / std::sqrt(s[i]);
    out[i] = r * std::sqrt(r);
  }
}

// out[i] = s[i]^-beta (s^-beta, the plain form)
void pow_neg_row(const float* s, float beta, float* out, int len) {
  if (beta == 0.75f) return pow_neg_075_row(s, out, len);
  for (int i = 0; i < len; ++i) out[i] = std::pow(s[i], -beta);
}

ALEXNET_SIMD void mul_row(const float* a, const float* b, float* out, int len) {
  for (int i = 0; i < len; ++i) out[i] = a[i] * b[i];
}

// r[i] = dy[i] x[i] s[i]^(-beta-1) = dy x sb / s, with sb = s^-beta
ALEXNET_SIMD void ratio_row(const float* dy, const float* x, const float* s, const float* sb, float* r, int len) {
  for (int i = 0; i < len; ++i) r[i] = dy[i] * x[i] * sb[i] / s[i];
}

// dx[i] = dy[i] sb[i] - coeff x[i] (sum of rows j0..j1 of r, rows `stride` apart)
// (the window's rows added a whole row at a time into dx, as in window_row)
ALEXNET_SIMD void dx_row(const float* dy, const float* x, const float* sb, const float* r, int stride, int j0, int j1,
                         float coeff, float* dx, int len) {
  const float* first = r + size_t(j0) * stride;
  for (int i = 0; i < len; ++i) dx[i] = first[i];
  for (int j = j0 + 1; j <= j1; ++j) {
    const float* row = r + size_t(j) * stride;
    for (int i = 0; i < len; ++i) dx[i] += row[i];
  }
  for (int i = 0; i < len; ++i) dx[i] = dy[i] * sb[i] - coeff * x[i] * dx[i];
}

// For the channels of one group at pixels [p0, p0 + len) of one image (xg: the group's first
// channel): scale (cg, len) = k + alpha * window sum of x^2, and sb (cg, len) = scale^-beta.
// sq (cg, len) is scratch.
void lrn_scale(const LrnParams& p, const float* xg, int cg, int plane, int p0, int len, float* sq, float* scale, float* sb) {
  const int before = p.size / 2, after = (p.size - 1) / 2;
  for (int c = 0; c < cg; ++c) square_row(xg + size_t(c) * plane + p0, sq + size_t(c) * len, len);
  for (int c = 0; c < cg; ++c) {
    const int j0 = std::max(0, c - before), j1 = std::min(cg - 1, c + after);
    window_row(sq, len, j0, j1, p.k, p.alpha, scale + size_t(c) * len, len);
    pow_neg_row(scale + size_t(c) * len, p.beta, sb + size_t(c) * len, len);
  }
}

}  // namespace

void lrn_forward(const LrnParams& p, const float* x, float* y) {
  const LrnTasks t = lrn_tasks(p);
  const size_t per_thread = size_t(3) * t.cg * kPixels;
  std::vector<float> scratch(size_t(cpu_threads()) * per_thread);
  parallel_for(t.count, [&](int64_t task) {
    const int block = int(task % t.blocks);
    const int64_t ng = task / t.blocks;  // image n, group g
    const int p0 = block * kPixels, len = std::min(kPixels, t.plane - p0);
    const size_t base = size_t(ng) * t.cg * t.plane;
    float* sq = scratch.data() + size_t(thread_index()) * per_thread;
    float* scale = sq + size_t(t.cg) * kPixels;
    float* sb = scale + size_t(t.cg) * kPixels;
    lrn_scale(p, x + base, t.cg, t.plane, p0, len, sq, scale, sb);
    for (int c = 0; c < t.cg; ++c) {
      const size_t at = base + size_t(c) * t.plane + p0;
      mul_row(x + at, sb + size_t(c) * len, y + at, len);
    }
  });
}

void lrn_backward(const LrnParams& p, const float* x, const float* dy, float* dx) {
  const LrnTasks t = lrn_tasks(p);
  const int before = p.size / 2, after = (p.size - 1) / 2;
  const size_t per_thread = size_t(3) * t.cg * kPixels;
  std::vector<float> scratch(size_t(cpu_threads()) * per_thread);
  parallel_for(t.count, [&](int64_t task) {
    const int block = int(task % t.blocks);
    const int64_t ng = task / t.blocks;
    const int p0 = block * kPixels, len = std::min(kPixels, t.plane - p0);
    const size_t base = size_t(ng) * t.cg * t.plane;
    float* ratio = scratch.data() + size_t(thread_index()) * per_thread;  // first the squares, then dy_j x_j s_j^(-beta-1)
    float* scale = ratio + size_t(t.cg) * kPixels;
    float* sb = scale + size_t(t.cg) * kPixels;
    lrn_scale(p, x + base, t.cg, t.plane, p0, len, ratio, scale, sb);
    for (int c = 0; c < t.cg; ++c) {
      const size_t at = base + size_t(c) * t.plane + p0;
      ratio_row(dy + at, x + at, scale + size_t(c) * len, sb + size_t(c) * len, ratio + size_t(c) * len, len);
    }
    const float coeff = 2.0f * p.alpha * p.beta;
    for (int c = 0; c < t.cg; ++c) {
      const size_t at = base + size_t(c) * t.plane + p0;
      // j such that c is in W(j)
      const int j0 = std::max(0, c - after), j1 = std::min(t.cg - 1, c + before);
      dx_row(dy + at, x + at, sb + size_t(c) * len, ratio, len, j0, j1, coeff, dx + at, len);
    }
  });
}

}  // namespace cpu
}  // namespace alexnet
