// Max pooling, any window and stride (the paper's overlapping 3x3 stride 2 included), with
// optional padding whose cells never win. Backward routes each output's gradient to the
// first position in its window (row-major) that holds the maximum (recomputed from x and y).
//   x, dx: (N, C, H, W)   y, dy: (N, C, OH, OW)
// Square 3x3 and 2x2 windows of stride 2 without padding (AlexNet's pools, and the common
// 2x2) take a fast path: the window is a compile-time constant and the loops over outputs
// vectorise (forward: 3-5x, backward: 2-3x at AlexNet's shapes); the general per-window loops
// stay for everything else and are the reference the fast path must match.
#include <algorithm>
#include <limits>
#include <vector>
#include "cpu.h"
#include "parallel.h"
#include "simd.h"

namespace alexnet {
namespace cpu {
namespace {

constexpr float kLowest = -std::numeric_limits<float>::infinity();

// ---------------------------------------------------------------- general path

struct Window { int y0, y1, x0, x1; };  // [y0, y1) x [x0, x1), clipped to the image

Window window(const PoolParams& p, int oy, int ox) {
  const int y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
  return {std::max(0, y0), std::min(p.h, y0 + p.kh), std::max(0, x0), std::min(p.w, x0 + p.kw)};
}

void forward_plane(const PoolParams& p, const float* xp, float* yp) {
  for (int oy = 0; oy < p.oh; ++oy)
    for (int ox = 0; ox < p.ow; ++ox) {
      const Window win = window(p, oy, ox);
      float best = kLowest;
      for (int iy = win.y0; iy < win.y1; ++iy)
        for (int ix = win.x0; ix < win.x1; ++ix) best = std::max(best, xp[size_t(iy) * p.w + ix]);
      yp[size_t(oy) * p.ow + ox] = best;
    }
}

void backward_plane(const PoolParams& p, const float* xp, const float* yp, const float* dyp, float* dxp) {
  for (int oy = 0; oy < p.oh; ++oy)
    for (int ox = 0; ox < p.ow; ++ox) {
      const Window win = window(p, oy, ox);
      const float best = yp[size_t(oy) * p.ow + ox];
      bool found = false;
      for (int iy = win.y0; iy < win.y1 && !found; ++iy)
        for (int ix = win.x0; ix < win.x1; ++ix)
          if (xp[size_t(iy) * p.w + ix] == best) {
            dxp[size_t(iy) * p.w + ix] += dyp[size_t(oy) * p.ow + ox];
            found = true;
            break;
          }
    }
}

// ---------------------------------------------------------------- fast path: K x K, stride S, no padding
// Windows lie inside the image (OH = (H - K) / S + 1), so no clipping. The max is taken as
// best < v ? v : best in row-major order from -inf, as std::max in the general path: a NaN
// never wins, and of equal values (-0 and +0) the first is kept.
//
// The forward pass vectorises over a row of outputs. The backward pass's search for the first
// maximum does not fit rows as short as AlexNet's (13 and 6 outputs: below one AVX-512 vector,
// so they ran in the scalar remainder loop, 2x slower than the loop below at pool2 and pool5),
// so it runs over "virtual" outputs j = oy * W + ox for ox in [0, W), whose windows start at
// S * j: every W-th block of OW of them is a row of real outputs, the others (windows that
// wrap into the next rows) are computed and ignored. That is one loop of (OH - 1) * W + OW
// outputs per plane with a constant stride, about W / OW (2) times the work, all in vectors.
// Every window read lies in the plane: S (OH - 1) + K <= H and K <= W.

// One row of outputs. x: the first input row of the windows (row stride w); y: ow outputs.
template <int K, int S>
inline __attribute__((always_inline)) void forward_row(const float* __restrict x, int w, int ow, float* __restrict y) {
  for (int ox = 0; ox < ow; ++ox) {
    float best = kLowest;
    for (int ky = 0; ky < K; ++ky)
      for (int kx = 0; kx < K; ++kx) {
        const float v = x[ky * w + ox * S + kx];
        best = best < v ? v : best;
      }
    y[ox] = best;
  }
}

inline int virtual_outputs(const PoolParams& p) { return (p.oh - 1) * p.w + p.ow; }

// at[j]: the offset in the plane of the first position of the window at S j (row-major) that
// equals yv[j], or -1 where none does (a y not computed from this x). Scanned from the last
// position to the first so that the first match wins, with selects instead of an early exit,
// so that it vectorises.
template <int K, int S>
inline __attribute__((always_inline)) void argmax_virtual(const float* __restrict x, int w, int count,
                                                          const float* __restrict yv, int* __restrict at) {
  for (int j = 0; j < count; ++j) {
    const float best = yv[j];
    int where = -1;
    for (int ky = K - 1; ky >= 0; --ky)
      for (int kx = K - 1; kx >= 0; --kx) {
        const int offset = S * j + ky * w + kx;
        where = x[offset] == best ? offset : where;
      }
    at[j] = where;
  }
}

template <int K, int S>
inline __attribute__((always_inline)) void fast_forward_plane(const PoolParams& p, const float* xp, float* yp) {
  for (int oy = 0; oy < p.oh; ++oy) forward_row<K, S>(xp + size_t(oy) * S * p.w, p.w, p.ow, yp + size_t(oy) * p.ow);
}

// dx must be zero. The gradients are added in the general path's order (outputs row-major),
// so a position that is the maximum of several windows gets the same float sum. yv: scratch
// of virtual_outputs floats, at: as many ints.
template <int K, int S>
inline __attribute__((always_inline)) void fast_backward_plane(const PoolParams& p, const float* xp, const float* yp,
                                                               const float* dyp, float* dxp, float* yv, int* at) {
  for (int oy = 0; oy < p.oh; ++oy)
    std::copy(yp + size_t(oy) * p.ow, yp + size_t(oy) * p.ow + p.ow, yv + size_t(oy) * p.w);
  argmax_virtual<K, S>(xp, p.w, virtual_outputs(p), yv, at);
  for (int oy = 0; oy < p.oh; ++oy) {
    const int* a = at + size_t(oy) * p.w;
    const float* d = dyp + size_t(oy) * p.ow;
    for (int ox = 0; ox < p.ow; ++ox)
      if (a[ox] >= 0) dxp[a[ox]] += d[ox];
  }
}

ALEXNET_SIMD void forward_plane_3x3s2(const PoolParams& p, const float* xp, float* yp) { fast_forward_plane<3, 2>(p, xp, yp); }
ALEXNET_SIMD void forward_plane_2x2s2(const PoolParams& p, const float* xp, float* yp) { fast_forward_plane<2, 2>(p, xp, yp); }
ALEXNET_SIMD void backward_plane_3x3s2(const PoolParams& p, const float* xp, const float* yp, const float* dyp, float* dxp,
                                       float* yv, int* at) {
  fast_backward_plane<3, 2>(p, xp, yp, dyp, dxp, yv, at);
}
ALEXNET_SIMD void backward_plane_2x2s2(const PoolParams& p, const float* xp, const float* yp, const float* dyp, float* dxp,
                                       float* yv, int* at) {
  fast_backward_plane<2, 2>(p, xp, yp, dyp, dxp, yv, at);
}

// 3 for 3x3 stride 2, 2 for 2x2 stride 2 (both without padding, every window inside the
// image), 0 for the general path
int fast_window(const PoolParams& p) {
  if (p.pad_h != 0 || p.pad_w != 0 || p.stride_h != 2 || p.stride_w != 2 || p.kh != p.kw) return 0;
  if (p.kh != 3 && p.kh != 2) return 0;
  if (p.oh <= 0 || p.ow <= 0 || 2 * (p.oh - 1) + p.kh > p.h || 2 * (p.ow - 1) + p.kw > p.w) return 0;
  return p.kh;
}

}  // namespace

void maxpool_forward(const PoolParams& p, const float* x, float* y) {
  const int fast = fast_window(p);
  parallel_for(int64_t(p.n) * p.c, [&](int64_t plane) {
    const float* xp = x + size_t(plane) * p.h * p.w;
    float* yp = y + size_t(plane) * p.oh * p.ow;
    if (fast == 3) forward_plane_3x3s2(p, xp, yp);
    else if (fast == 2) forward_plane_2x2s2(p, xp, yp);
    else forward_plane(p, xp, yp);
  });
}

void maxpool_backward(const PoolParams& p, const float* x, const float* y, const float* dy, float* dx) {
  const int fast = fast_window(p);
  parallel_for(int64_t(p.n) * p.c, [&](int64_t plane) {
    const float* xp = x + size_t(plane) * p.h * p.w;
    const float* yp = y + size_t(plane) * p.oh * p.ow;
    const float* dyp = dy + size_t(plane) * p.oh * p.ow;
    float* dxp = dx + size_t(plane) * p.h * p.w;
    std::fill(dxp, dxp + size_t(p.h) * p.w, 0.0f);
    if (!fast) return backward_plane(p, xp, yp, dyp, dxp);
    thread_local std::vector<float> yv;  // y at the virtual outputs (the others: left over, ignored)
    thread_local std::vector<int> at;    // where each virtual output's gradient goes
    if (yv.size() < size_t(virtual_outputs(p))) yv.resize(virtual_outputs(p)), at.resize(virtual_outputs(p));
    if (fast == 3) backward_plane_3x3s2(p, xp, yp, dyp, dxp, yv.data(), at.data());
    else backward_plane_2x2s2(p, xp, yp, dyp, dxp, yv.data(), at.data());
  });
}

}  // namespace cpu
}  // namespace alexnet
