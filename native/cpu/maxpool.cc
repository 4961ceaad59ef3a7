// Max pooling, any window and stride (the paper's overlapping 3x3 stride 2 included), with
// optional padding whose cells never win. Backward routes each output's gradient to the
// first position in its window that holds the maximum (recomputed from x and y).
//   x, dx: (N, C, H, W)   y, dy: (N, C, OH, OW)
#include <algorithm>
#include <limits>
#include "cpu.h"
#include "parallel.h"

namespace alexnet {
namespace cpu {
namespace {

struct Window { int y0, y1, x0, x1; };  // [y0, y1) x [x0, x1), clipped to the image

Window window(const PoolParams& p, int oy, int ox) {
  const int y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
  return {std::max(0, y0), std::min(p.h, y0 + p.kh), std::max(0, x0), std::min(p.w, x0 + p.kw)};
}

}  // namespace

void maxpool_forward(const PoolParams& p, const float* x, float* y) {
  parallel_for(int64_t(p.n) * p.c, [&](int64_t plane) {
    const float* xp = x + size_t(plane) * p.h * p.w;
    float* yp = y + size_t(plane) * p.oh * p.ow;
    for (int oy = 0; oy < p.oh; ++oy)
      for (int ox = 0; ox < p.ow; ++ox) {
        const Window win = window(p, oy, ox);
        float best = -std::numeric_limits<float>::infinity();
        for (int iy = win.y0; iy < win.y1; ++iy)
          for (int ix = win.x0; ix < win.x1; ++ix) best = std::max(best, xp[size_t(iy) * p.w + ix]);
        yp[size_t(oy) * p.ow + ox] = best;
      }
  });
}

void maxpool_backward(const PoolParams& p, const float* x, const float* y, const float* dy, float* dx) {
  parallel_for(int64_t(p.n) * p.c, [&](int64_t plane) {
    const float* xp = x + size_t(plane) * p.h * p.w;
    const float* yp = y + size_t(plane) * p.oh * p.ow;
    const float* dyp = dy + size_t(plane) * p.oh * p.ow;
    float* dxp = dx + size_t(plane) * p.h * p.w;
    std::fill(dxp, dxp + size_t(p.h) * p.w, 0.0f);
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
  });
}

}  // namespace cpu
}  // namespace alexnet
