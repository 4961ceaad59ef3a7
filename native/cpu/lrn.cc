// Cross-map local response normalisation (paper section 3.3), alpha applied to the sum:
//   s_c = k + alpha * sum_{j in W(c)} x_j^2,   y_c = x_c * s_c^-beta
// W(c) = [c - size/2, c + (size-1)/2] clipped to c's group of C/G channels (for size 5:
// c-2..c+2, the paper's window). Backward:
//   dx_i = dy_i * s_i^-beta - 2 alpha beta x_i * sum_{j : i in W(j)} dy_j x_j s_j^(-beta-1)
// and i in W(j) exactly when j in [i - (size-1)/2, i + size/2].
//   x, y, dx, dy: (N, C, H, W)
#include <algorithm>
#include <cmath>
#include <vector>
#include "cpu.h"
#include "parallel.h"

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

// scale (cg, len) for the channels of one group at pixels [p0, p0 + len) of image n.
void lrn_scale(const LrnParams& p, const float* xg, int cg, int plane, int p0, int len, float* scale) {
  const int before = p.size / 2, after = (p.size - 1) / 2;
  for (int c = 0; c < cg; ++c) {
    float* s = scale + size_t(c) * len;
    std::fill(s, s + len, 0.0f);
    const int j0 = std::max(0, c - before), j1 = std::min(cg - 1, c + after);
    for (int j = j0; j <= j1; ++j) {
      const float* xj = xg + size_t(j) * plane + p0;
      for (int i = 0; i < len; ++i) s[i] += xj[i] * xj[i];
    }
    for (int i = 0; i < len; ++i) s[i] = p.k + p.alpha * s[i];
  }
}

}  // namespace

void lrn_forward(const LrnParams& p, const float* x, float* y) {
  const LrnTasks t = lrn_tasks(p);
  std::vector<float> scratch(size_t(cpu_threads()) * t.cg * kPixels);
  parallel_for(t.count, [&](int64_t task) {
    const int block = int(task % t.blocks);
    const int64_t ng = task / t.blocks;  // image n, group g
    const int p0 = block * kPixels, len = std::min(kPixels, t.plane - p0);
    const size_t base = size_t(ng) * t.cg * t.plane;
    float* scale = scratch.data() + size_t(thread_index()) * t.cg * kPixels;
    lrn_scale(p, x + base, t.cg, t.plane, p0, len, scale);
    for (int c = 0; c < t.cg; ++c) {
      const float* xc = x + base + size_t(c) * t.plane + p0;
      float* yc = y + base + size_t(c) * t.plane + p0;
      const float* s = scale + size_t(c) * len;
      for (int i = 0; i < len; ++i) yc[i] = xc[i] * std::pow(s[i], -p.beta);
    }
  });
}

void lrn_backward(const LrnParams& p, const float* x, const float* dy, float* dx) {
  const LrnTasks t = lrn_tasks(p);
  const int before = p.size / 2, after = (p.size - 1) / 2;
  std::vector<float> scratch(size_t(cpu_threads()) * 2 * t.cg * kPixels);
  parallel_for(t.count, [&](int64_t task) {
    const int block = int(task % t.blocks);
    const int64_t ng = task / t.blocks;
    const int p0 = block * kPixels, len = std::min(kPixels, t.plane - p0);
    const size_t base = size_t(ng) * t.cg * t.plane;
    float* scale = scratch.data() + size_t(thread_index()) * 2 * t.cg * kPixels;
    float* ratio = scale + size_t(t.cg) * kPixels;  // dy_j x_j s_j^(-beta-1)
    lrn_scale(p, x + base, t.cg, t.plane, p0, len, scale);
    for (int c = 0; c < t.cg; ++c) {
      const float* xc = x + base + size_t(c) * t.plane + p0;
      const float* dyc = dy + base + size_t(c) * t.plane + p0;
      const float* s = scale + size_t(c) * len;
      float* r = ratio + size_t(c) * len;
      for (int i = 0; i < len; ++i) r[i] = dyc[i] * xc[i] * std::pow(s[i], -p.beta - 1.0f);
    }
    const float coeff = 2.0f * p.alpha * p.beta;
    for (int c = 0; c < t.cg; ++c) {
      const float* xc = x + base + size_t(c) * t.plane + p0;
      const float* dyc = dy + base + size_t(c) * t.plane + p0;
      float* dxc = dx + base + size_t(c) * t.plane + p0;
      const float* s = scale + size_t(c) * len;
      // j such that c is in W(j)
      const int j0 = std::max(0, c - after), j1 = std::min(t.cg - 1, c + before);
      for (int i = 0; i < len; ++i) {
        float acc = 0.0f;
        for (int j = j0; j <= j1; ++j) acc += ratio[size_t(j) * len + i];
        dxc[i] = dyc[i] * std::pow(s[i], -p.beta) - coeff * xc[i] * acc;
      }
    }
  });
}

}  // namespace cpu
}  // namespace alexnet
